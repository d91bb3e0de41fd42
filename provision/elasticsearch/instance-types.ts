/**
 * Memory and vCPUs per EC2 instance type, from the AWS instance-type pages (general purpose, memory
 * optimized, compute optimized). The heap rule and Logstash's worker default are derived from this
 * table, never guessed: a type that is not listed is a config error, not a silent default.
 */
export interface InstanceSpec {
  /** Memory in GiB as AWS lists it. */
  memoryGiB: number;
  vcpus: number;
}

// [size, vCPUs, GiB] per family; the families share their size ladders.
type Ladder = [size: string, vcpus: number, memoryGiB: number][];

const T3: Ladder = [
  ["nano", 2, 0.5], ["micro", 2, 1], ["small", 2, 2], ["medium", 2, 4], ["large", 2, 8], ["xlarge", 4, 16], ["2xlarge", 8, 32],
];
/** m5/m6i: 4 GiB per vCPU. */
const M: Ladder = [
  ["large", 2, 8], ["xlarge", 4, 16], ["2xlarge", 8, 32], ["4xlarge", 16, 64], ["8xlarge", 32, 128],
  ["12xlarge", 48, 192], ["16xlarge", 64, 256], ["24xlarge", 96, 384],
];
/** r5/r6i: 8 GiB per vCPU. */
const R: Ladder = M.map(([s, v, g]) => [s, v, g * 2]);
/** c6i: 2 GiB per vCPU. */
const C6I: Ladder = M.map(([s, v, g]) => [s, v, g / 2]);
/** c5 has its own ladder (9x/18x sizes, 36 vCPUs = 72 GiB ...). */
const C5: Ladder = [
  ["large", 2, 4], ["xlarge", 4, 8], ["2xlarge", 8, 16], ["4xlarge", 16, 32], ["9xlarge", 36, 72],
  ["12xlarge", 48, 96], ["18xlarge", 72, 144], ["24xlarge", 96, 192],
];
const WITH_32X = (l: Ladder, v: number, g: number): Ladder => [...l, ["32xlarge", v, g]];

const FAMILIES: Record<string, Ladder> = {
  t3: T3,
  m5: M,
  m6i: WITH_32X(M, 128, 512),
  r5: R,
  r6i: WITH_32X(R, 128, 1024),
  c5: C5,
  c6i: WITH_32X(C6I, 128, 256),
};

/** Every supported instance type, e.g. `m5.2xlarge` → `{ memoryGiB: 32, vcpus: 8 }`. */
export const INSTANCE_TYPES: Readonly<Record<string, InstanceSpec>> = Object.freeze(
  Object.fromEntries(
    Object.entries(FAMILIES).flatMap(([family, ladder]) =>
      ladder.map(([size, vcpus, memoryGiB]) => [`${family}.${size}`, { memoryGiB, vcpus }] as const),
    ),
  ),
);

export const SUPPORTED_FAMILIES = Object.keys(FAMILIES);

/** Human-readable list for error messages: `t3.{nano,...}, m5.{large,...}`. */
export function describeSupportedTypes(): string {
  return Object.entries(FAMILIES)
    .map(([family, ladder]) => `${family}.{${ladder.map(([s]) => s).join(",")}}`)
    .join(", ");
}

export function isKnownInstanceType(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(INSTANCE_TYPES, type);
}

/**
 * Looks the type up; throws a message naming the value and what is allowed. `what` names the
 * setting that carried the type (e.g. `opsfleet:elk.data.instanceType`).
 */
export function instanceSpec(type: string, what = "instanceType"): InstanceSpec {
  if (!isKnownInstanceType(type)) {
    throw new Error(
      `${what}: unknown instance type ${JSON.stringify(type)} (its memory decides the JVM heap, so it must be in ` +
        `the table in provision/elasticsearch/instance-types.ts; allowed: ${describeSupportedTypes()})`,
    );
  }
  return INSTANCE_TYPES[type];
}
