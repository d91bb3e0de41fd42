/**
 * Whether EC2 can recover an instance type (the CloudWatch `ec2:recover` alarm action), offline.
 * EC2 recovers only EBS-only instances on shared tenancy: not types with instance store volumes
 * (a `d` among the family's attribute letters — m5d, r6gd, c5ad, m6idn — and the storage/accelerator
 * families below), not `.metal` types, not Mac, not the previous-generation families listed.
 * Families come from the table in instance-architecture.ts, so a new family is classified there first.
 */
import { classifyInstanceType, familyOf } from "./instance-architecture";

/** Families with instance store volumes whose name does not carry a `d` attribute letter. */
const INSTANCE_STORE_FAMILIES = new Set([
  "c1", "c3", "m1", "m2", "m3", "r3", "cc1", "cc2", "cg1", "cr1", "hi1", "hs1", "h1", "i2", "i3", "i3en", "i4g", "i4i",
  "i7i", "i7ie", "i8g", "i8ge", "im4gn", "is4gen", "d2", "d3", "d3en", "x1", "x1e", "f1", "f2", "g2", "g5", "g6", "g6e",
  "g6f", "gr6", "gr6f", "g7", "g7e", "dl1", "trn1", "trn1n", "trn2", "trn2u", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200",
]);

/** `m5d` → "d", `c6gn` → "gn", `u-12tb1` → "" (letters after the generation number). */
const attributeLetters = (family: string): string => /^[a-z]+\d+([a-z]*)/.exec(family)?.[1] ?? "";

/** Why EC2 cannot recover this type, or undefined when it can. */
export function recoveryProblem(instanceType: string): string | undefined {
  const family = familyOf(instanceType);
  const c = classifyInstanceType(instanceType);
  if (c === undefined) return `family ${JSON.stringify(family)} is unknown`;
  if (c === "mac") return "EC2 Mac types are not recoverable";
  if (/\.metal/.test(instanceType)) return "bare metal types are not recoverable";
  if (attributeLetters(family).includes("d") || INSTANCE_STORE_FAMILIES.has(family)) return `family ${family} has instance store volumes, which recovery does not support`;
  return undefined;
}

export const supportsRecovery = (instanceType: string): boolean => recoveryProblem(instanceType) === undefined;
