/**
 * Issue 9: the FIFO queue names changed (938dc45: the hash covers organization and role), which
 * replaces both queues and so the event source mapping. The change preview from a stack deployed
 * with the old names must never have two mappings at once (two concurrent reconciles).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildPlan, type Plan } from "../../tools/plan-core";
import { changePreview, changeSetOf } from "../../tools/change/preview";
import { renderChanges } from "../../tools/change/render";

const ROOT = path.join(__dirname, "..", "..");
const DEV = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
const ESM = "aws:lambda/eventSourceMapping:EventSourceMapping";
const QUEUE = "aws:sqs/queue:Queue";

/** The FIFO queue name before 938dc45: hash of project/stack/component only. */
const oldName = (component: string, role: string) =>
  `${component}-${role}-${createHash("sha256").update(`opsfleet/dev/${component}`).digest("hex").slice(0, 8)}.fifo`;

let before: Plan;
let after: Awaited<ReturnType<typeof changePreview>>;
beforeAll(async () => {
  const now = await buildPlan({ stack: "dev", root: ROOT, stackFileText: DEV });
  // A stack deployed before the rename: the same plan with the old queue names (and ARNs derived from them).
  before = JSON.parse(JSON.stringify(now)) as Plan;
  const renames = new Map<string, string>();
  for (const r of before.resources.filter((x) => x.type === QUEUE && typeof x.inputs.name === "string" && String(x.inputs.name).endsWith(".fifo"))) {
    const role = r.name.endsWith("-reconcile-dlq") ? "reconcile-dlq" : "reconcile";
    const component = r.name.slice(0, -(role.length + 1));
    renames.set(String(r.inputs.name), oldName(component, role));
  }
  expect(renames.size).toBe(2);
  let text = JSON.stringify(before);
  for (const [n, o] of renames) text = text.split(n).join(o);
  before = JSON.parse(text) as Plan;
  after = await changePreview(before, { stack: "dev", root: ROOT, stackFileText: DEV });
}, 300_000);

test("renamed queues replace the event source mapping delete-before-replace: never two mappings (two writers) at once", () => {
  const replacedQueues = after.changes.filter((c) => c.type === QUEUE && c.op === "replace").map((c) => c.name).sort();
  expect(replacedQueues).toEqual(["dev-web-reconcile", "dev-web-reconcile-dlq"]);
  const esm = after.changes.filter((c) => c.type === ESM);
  expect(esm.map((c) => [c.name, c.op, c.replaceReasons])).toEqual([["dev-web-reconciler-source", "replace", ["eventSourceArn"]]]);
  const mapping = after.resources.find((r) => r.type === ESM)!;
  expect(mapping.options.deleteBeforeReplace).toBe(true);
  // What the operator reads in the preview.
  const text = renderChanges(changeSetOf(after), { stack: "dev", against: "before", deleteBeforeReplace: new Set([mapping.urn]) });
  expect(text.split("\n").find((l) => l.includes("dev-web-reconciler-source"))).toMatch(/delete, then create/);
});
