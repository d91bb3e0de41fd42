/**
 * CPU architecture of every current EC2 instance family, as EC2 reports it in
 * `ProcessorInfo.SupportedArchitectures` (DescribeInstanceTypes). A table, not a naming rule: the
 * rule "a `g` after the generation means Graviton" misses `a1` (Graviton 1) and `p6e-gb200` (Grace).
 * Families are those of the EC2 API's InstanceType enum; the test fails when an SDK update brings a
 * family this table does not classify. Offline by design: the plan and the tests make no AWS calls.
 */
export type Architecture = "x86_64" | "arm64";
export const ARCHITECTURES: readonly Architecture[] = ["x86_64", "arm64"];

/** AWS Graviton (1 to 4) and NVIDIA Grace families. */
const ARM64_FAMILIES = [
  "a1", "c6g", "c6gd", "c6gn", "c7g", "c7gd", "c7gn", "c8g", "c8gb", "c8gd", "c8gn", "c9g", "c9gd", "g5g", "hpc7g",
  "i4g", "i8g", "i8ge", "im4gn", "is4gen", "m6g", "m6gd", "m7g", "m7gd", "m8g", "m8gb", "m8gd", "m8gn", "m9g", "m9gd",
  "p6e-gb200", "r6g", "r6gd", "r7g", "r7gd", "r8g", "r8gb", "r8gd", "r8gn", "r9g", "r9gd", "t4g", "x2gd", "x8g",
];

/** Intel and AMD families (the older ones also run i386, which opsfleet does not use). */
const X86_64_FAMILIES = [
  "c1", "c3", "c4", "c5", "c5a", "c5ad", "c5d", "c5n", "c6a", "c6i", "c6id", "c6in", "c7a", "c7i", "c7i-flex",
  "c8a", "c8i", "c8i-flex", "c8ib", "c8id", "c8in", "c8ine", "cc1", "cc2", "cg1", "cr1", "d2", "d3", "d3en",
  "dl1", "dl2q", "f1", "f2", "g2", "g3", "g3s", "g4ad", "g4dn", "g5", "g6", "g6e", "g6f", "g7", "g7e", "gr6",
  "gr6f", "h1", "hi1", "hpc6a", "hpc6id", "hpc7a", "hpc8a", "hs1", "i2", "i3", "i3en", "i4i", "i7i", "i7ie",
  "inf1", "inf2", "m1", "m2", "m3", "m4", "m5", "m5a", "m5ad", "m5d", "m5dn", "m5n", "m5zn", "m6a", "m6i",
  "m6id", "m6idn", "m6in", "m7a", "m7i", "m7i-flex", "m8a", "m8azn", "m8i", "m8i-flex", "m8ib", "m8id",
  "m8idb", "m8idn", "m8in", "m8ine", "p2", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200",
  "p6-b300", "r3", "r4", "r5", "r5a", "r5ad", "r5b", "r5d", "r5dn", "r5n", "r6a", "r6i", "r6id", "r6idn",
  "r6in", "r7a", "r7i", "r7iz", "r8a", "r8i", "r8i-flex", "r8ib", "r8id", "r8idb", "r8idn", "r8in", "t1", "t2",
  "t3", "t3a", "t8i", "trn1", "trn1n", "trn2", "trn2u", "u-12tb1", "u-18tb1", "u-24tb1", "u-3tb1", "u-6tb1",
  "u-9tb1", "u7i-12tb", "u7i-6tb", "u7i-8tb", "u7ib-12tb", "u7in-16tb", "u7in-24tb", "u7in-32tb", "u7inh-32tb",
  "vt1", "x1", "x1e", "x2idn", "x2iedn", "x2iezn", "x8aedz", "x8i", "z1d",
];

/** EC2 Mac dedicated hosts (x86_64_mac / arm64_mac): macOS only, no Debian image. */
const MAC_FAMILIES = ["mac1", "mac2", "mac2-m1ultra", "mac2-m2", "mac2-m2pro", "mac-m3ultra", "mac-m4", "mac-m4max", "mac-m4pro"];

export type FamilyClass = Architecture | "mac";

const entries = (families: string[], c: FamilyClass): [string, FamilyClass][] => families.map((f) => [f, c]);

export const INSTANCE_FAMILIES: Readonly<Record<string, FamilyClass>> = Object.freeze(Object.fromEntries([
  ...entries(X86_64_FAMILIES, "x86_64"), ...entries(ARM64_FAMILIES, "arm64"), ...entries(MAC_FAMILIES, "mac"),
]));

/** `m6g.large` → `m6g`; `u-12tb1.112xlarge` → `u-12tb1`. */
export const familyOf = (instanceType: string): string => instanceType.split(".")[0];

/** The type's architecture, "mac", or undefined for a family EC2 does not have (as of the table). */
export function classifyInstanceType(instanceType: string): FamilyClass | undefined {
  const f = familyOf(instanceType);
  return Object.prototype.hasOwnProperty.call(INSTANCE_FAMILIES, f) ? INSTANCE_FAMILIES[f] : undefined;
}

/** Why a type cannot run opsfleet's Debian hosts, or undefined: for config errors ("…; allowed: …"). */
export function architectureProblem(instanceType: string): string | undefined {
  const c = classifyInstanceType(instanceType);
  if (c === "mac") return `is an EC2 Mac type (macOS only, no Debian image); allowed: an x86_64 or arm64 Linux type such as t3.medium or m7g.large`;
  if (c === undefined) return `is not an EC2 instance family opsfleet knows (family ${JSON.stringify(familyOf(instanceType))}); allowed: a current EC2 type such as t3.medium, m6i.large or r6g.large`;
  return undefined;
}

/** Architecture of a Linux instance type; throws naming the type for an unknown family or a Mac. */
export function architectureOf(instanceType: string): Architecture {
  const problem = architectureProblem(instanceType);
  if (problem) throw new Error(`instance type ${JSON.stringify(instanceType)} ${problem}`);
  return classifyInstanceType(instanceType) as Architecture;
}

/** `a1.medium (arm64), t3.micro (x86_64)` for error messages. */
export function describeArchitectures(instanceTypes: string[]): string {
  return instanceTypes.map((t) => `${t} (${classifyInstanceType(t) ?? "unknown"})`).join(", ");
}
