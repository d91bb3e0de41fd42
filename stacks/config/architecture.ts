/** Which CPU architectures a stack runs, from the instance types its enabled systems use. */
import { classifyInstanceType, type Architecture } from "../../components/instance-architecture";

export interface UsedInstanceType {
  /** Config key without the namespace, e.g. `redis.instanceType` or `spot.instanceTypes[1]`. */
  key: string;
  type: string;
}

const str = (v: unknown): v is string => typeof v === "string";
const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((cur, p) => (cur !== null && typeof cur === "object" ? (cur as Record<string, unknown>)[p] : undefined), o);

/**
 * Every instance type the stack launches (defaults applied), with its key. Defensive reads: it runs
 * on a config that may have failed validation elsewhere.
 */
export function usedInstanceTypes(c: unknown): UsedInstanceType[] {
  const features = (get(c, "features") ?? {}) as Record<string, unknown>;
  const out: UsedInstanceType[] = [];
  const add = (key: string, v: unknown) => { if (str(v)) out.push({ key, type: v }); };
  if (features.redis === true || features.elk === true || features.database === true) add("bastion.instanceType", get(c, "bastion", "instanceType"));
  if (features.spotWeb === true) {
    const types = get(c, "spot", "instanceTypes");
    if (Array.isArray(types)) types.forEach((t, i) => add(`spot.instanceTypes[${i}]`, t));
  }
  if (features.redis === true) add("redis.instanceType", get(c, "redis", "instanceType"));
  if (features.elk === true) {
    for (const g of ["masters", "data", "logstash"]) add(`elk.${g}.instanceType`, get(c, "elk", g, "instanceType"));
  }
  if (features.database === true) add("database.instanceType", get(c, "database", "instanceType"));
  return out;
}

/** The used types grouped by architecture (types of unknown families are left out: their key has its own error). */
export function architecturesInUse(c: unknown): Map<Architecture, UsedInstanceType[]> {
  const m = new Map<Architecture, UsedInstanceType[]>();
  for (const u of usedInstanceTypes(c)) {
    const a = classifyInstanceType(u.type);
    if (a === "x86_64" || a === "arm64") m.set(a, [...(m.get(a) ?? []), u]);
  }
  return m;
}
