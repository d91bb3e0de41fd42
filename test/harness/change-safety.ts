/**
 * Runs the change-safety rows (tools/change/safety-rows.ts) of one stack: one plan of the shipped stack
 * file (the deployed state), then one change preview per row against it, in process. Used by
 * tools/change/change-safety.<stack>.test.ts (one file per stack so jest runs them on both cores).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { buildPlan, type Plan, type PlanResource } from "../../tools/plan-core";
import { changePreview, changeSetOf, type ChangePlan } from "../../tools/change/preview";
import { renderChanges } from "../../tools/change/render";
import { SAFETY_ROWS, type SafetyRow } from "../../tools/change/safety-rows";
import type { ChangeOp, ResourceChange } from "../../tools/change/diff";

const ROOT = path.join(__dirname, "..", "..");

export interface RowContext {
  row: SafetyRow;
  before: Plan;
  after: ChangePlan;
  /** The change of the resource with this name (and type). */
  change(name: string, type?: string): ResourceChange;
  ofType(type: string): ResourceChange[];
  resource(plan: Plan, name: string, type?: string): PlanResource;
  /** Steps whose script runs again on hosts whose instance is kept (not a command's own `update`): `host/step`. */
  rerunsOnKeptHosts(): string[];
}

export type RowCheck = (c: RowContext) => void;

const INSTANCE = "aws:ec2/instance:Instance";

/** What every row must hold: data volumes are never deleted or replaced, nothing protected goes. */
function dataIsKept(c: RowContext): void {
  const volumes = c.ofType("aws:ebs/volume:Volume");
  expect(volumes.length).toBeGreaterThan(0);
  expect(volumes.filter((v) => v.op === "delete" || v.op === "replace").map((v) => `${v.name}: ${v.op}`)).toEqual([]);
  expect(c.after.changeNotes.filter((n) => n.startsWith("BLOCKED") || n.startsWith("VolumeInUse") || n.startsWith("DATA LOSS"))).toEqual([]);
}

export function stackFileWith(stack: string, row?: SafetyRow): string {
  const doc = parseDocument(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
  row?.edit?.(doc);
  return String(doc);
}

/**
 * A change that is not a config edit: the deployed state differs from what the program now makes of the
 * shipped stack file (e.g. a target group created with another port), so `pulumi up` would change it.
 */
export interface StateVariation {
  title: string;
  /** The deployed plan, edited (a copy of the shipped stack's plan is passed). */
  deployed: (before: Plan) => Plan;
  check: RowCheck;
}

/** Registers one jest test per row of `stack`; every row needs a check and every check a row. */
export function describeSafetyRows(stack: "dev" | "prod", checks: Record<string, RowCheck>, variations: StateVariation[] = []): void {
  const rows = SAFETY_ROWS.filter((r) => r.stack === stack);
  let before: Plan;

  beforeAll(async () => {
    before = await buildPlan({ stack, root: ROOT, stackFileText: stackFileWith(stack) });
  }, 120_000);

  test(`every ${stack} row has a check, every check a row`, () => {
    expect(Object.keys(checks).sort()).toEqual(rows.map((r) => r.id).sort());
  });

  const run = async (row: SafetyRow, deployed: Plan, check: RowCheck) => {
    const after = await changePreview(deployed, { stack, root: ROOT, stackFileText: stackFileWith(stack, row), invoke: row.invoke }, `shipped Pulumi.${stack}.yaml`);
    const find = (plan: { resources: PlanResource[] }, name: string, type?: string) => {
      const r = plan.resources.find((x) => x.name === name && (!type || x.type === type));
      if (!r) throw new Error(`no resource ${name}${type ? ` (${type})` : ""} in the plan`);
      return r;
    };
    const ctx: RowContext = {
      row, before: deployed, after,
      change(name, type) {
        const c = after.changes.find((x) => x.name === name && (!type || x.type === type));
        if (!c) throw new Error(`no change entry for ${name}`);
        return c;
      },
      ofType: (type) => after.changes.filter((c) => c.type === type),
      resource: find,
      rerunsOnKeptHosts: () => after.stepRuns.filter((h) => h.instance !== "create" && h.instance !== "replace").flatMap((h) => h.steps.filter((s) => s.runs === "create").map((s) => `${h.host}/${s.step}`)).sort(),
    };
    // The preview text is what the operator reads: on failure, show it.
    try {
      check(ctx);
      dataIsKept(ctx);
    } catch (e) {
      const text = renderChanges(changeSetOf(after), { stack, against: `shipped Pulumi.${stack}.yaml` });
      (e as Error).message += `\n\nchange preview of row "${row.id}":\n${text.split("\n").slice(0, 80).join("\n")}`;
      throw e;
    }
  };
  test.each(rows.map((r) => [r.change, r] as const))("%s", (_title, row) => run(row, before, checks[row.id]), 120_000);
  for (const v of variations) {
    test(`deployed state: ${v.title}`, () => run({ id: v.title, stack, change: v.title, effect: "", operator: "" }, v.deployed(structuredClone(before)), v.check), 120_000);
  }
}

/** Ops of all changes of a type, by name. */
export function opsOf(c: RowContext, type: string): Record<string, ChangeOp> {
  return Object.fromEntries(c.ofType(type).map((x) => [x.name, x.op]));
}

export const notReplaced = (c: RowContext, type: string) =>
  expect(c.ofType(type).filter((x) => x.op === "replace" || x.op === "delete").map((x) => `${x.name}: ${x.op} (${x.replaceReasons.join(", ")})`)).toEqual([]);

export const noInstanceReplaced = (c: RowContext) => notReplaced(c, INSTANCE);

/**
 * Steps that carry the secret `key` (in a file they write, or in their inputs): the ones a rotation must
 * re-run, and only those. As `host/step`.
 */
export function commandsCarrying(c: RowContext, key: string): string[] {
  const marker = `<secret:${key}@`;
  const hostOf = new Map(c.after.hosts.flatMap((h) => h.steps.map((s) => [s.resource, `${h.host}/${s.name}`] as const)));
  const viaFiles = c.after.hosts.flatMap((h) => h.files.filter((f) => f.content.includes(marker)).map((f) => `${h.host}/${f.step}`));
  const viaInputs = c.after.resources
    .filter((r) => r.type === "command:remote:Command" && JSON.stringify(r.inputs).includes(marker))
    .map((r) => hostOf.get(r.name) ?? r.name);
  return [...new Set([...viaFiles, ...viaInputs])].sort();
}

/** Replaced hosts of one cluster (the Host component's parent) never share a replacement wave. */
export function oneHostPerClusterAtATime(c: RowContext): void {
  const clusterOf = (host: string) => {
    const inst = c.resource(c.after, host, INSTANCE);
    const hostComponent = c.after.resources.find((r) => r.urn === inst.parent);
    return hostComponent?.parent ?? host;
  };
  const clash: string[] = [];
  c.after.replacementWaves.forEach((wave, i) => {
    const seen = new Map<string, string>();
    for (const h of wave) {
      const k = clusterOf(h);
      if (seen.has(k)) clash.push(`wave ${i + 1}: ${seen.get(k)} and ${h} of ${k.split("::").pop()} at once`);
      seen.set(k, h);
    }
  });
  expect(clash).toEqual([]);
}

/** The web launch template is updated in place to its next version (what makes the web tier roll). */
export function webTemplateVersioned(c: RowContext, lt: string): void {
  expect(c.change(lt).op).toBe("update");
  expect(c.resource(c.after, lt).outputs?.latestVersion).toBe(Number(c.resource(c.before, lt).outputs?.latestVersion) + 1);
}
