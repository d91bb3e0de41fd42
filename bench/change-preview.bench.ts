/**
 * Change preview cost: `npm run plan -- --stack prod --against <plan>` runs one more plan (with the
 * before plan as state) and the diff. Figures: one plain plan of prod, one change preview of prod
 * (a pinned-AMI bump: the most resources changing), the diff alone, and the preview relative to a plan.
 * In one process, after a warm-up plan (module loading is not part of either).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { buildPlan } from "../tools/plan-core";
import { changePreview } from "../tools/change/preview";
import { diffPlans } from "../tools/change/diff";

const ROOT = path.join(__dirname, "..");
const RUNS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const r = await f();
  return [Number(process.hrtime.bigint() - t0) / 1e6, r];
}

export async function run(): Promise<Record<string, unknown>> {
  const shipped = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
  const doc = parseDocument(shipped);
  doc.setIn(["config", "opsfleet:amiIds", "x86_64"], "ami-0d2e6b0c3f8a45e71");
  doc.setIn(["config", "opsfleet:amiIds", "arm64"], "ami-0b8f4c0d2e6a35f92");
  const bumped = String(doc);
  const before = await buildPlan({ stack: "prod", root: ROOT, stackFileText: shipped }); // warm-up, and the deployed state
  const plan: number[] = [];
  const preview: number[] = [];
  const diff: number[] = [];
  let changed = 0;
  for (let i = 0; i < RUNS; i++) {
    plan.push((await timed(() => buildPlan({ stack: "prod", root: ROOT, stackFileText: shipped })))[0]);
    const [ms, cp] = await timed(() => changePreview(before, { stack: "prod", root: ROOT, stackFileText: bumped }));
    preview.push(ms);
    changed = cp.changes.filter((c) => c.op !== "same").length;
    const after = cp;
    diff.push((await timed(async () => diffPlans(before, after)))[0]);
  }
  return {
    runs: RUNS,
    resources: before.resources.length,
    changedResources: changed,
    planMs: round(median(plan), 0),
    previewMs: round(median(preview), 0),
    diffMs: round(median(diff), 1),
    previewPerPlan: round(median(preview) / median(plan)),
  };
}
