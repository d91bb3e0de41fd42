/**
 * URN snapshot of the shipped stacks (test/urns/<stack>.json): what a running stack's resources are
 * called. A URN that vanishes makes Pulumi delete that resource and create a new one, so
 * `tools/plan.test.ts` fails when a snapshot URN is missing from the plan, unless
 * test/urns/changes.json records it: carried by an alias (`{"aliasedTo": "<new urn>"}`, with the alias in
 * the code) or removed on purpose (`{"removed": "<why; CHANGELOG entry>"}`).
 *
 *   npm run urns:update     # rewrite the snapshots from the current plans (deliberately, e.g. per release)
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const SHIPPED_STACKS = ["dev", "staging", "prod"];
export const URN_DIR = path.join(__dirname, "..", "test", "urns");

export type UrnChange = { aliasedTo: string } | { removed: string };

export function readSnapshot(stack: string): string[] {
  return JSON.parse(fs.readFileSync(path.join(URN_DIR, `${stack}.json`), "utf8")) as string[];
}

export function readChanges(): Record<string, UrnChange> {
  return JSON.parse(fs.readFileSync(path.join(URN_DIR, "changes.json"), "utf8")) as Record<string, UrnChange>;
}

/** Snapshot URNs the plan no longer has and changes.json does not account for; and recorded aliases whose target is missing. */
export function unaccountedUrns(snapshot: string[], planUrns: string[], changes: Record<string, UrnChange>): string[] {
  const now = new Set(planUrns);
  const problems: string[] = [];
  for (const urn of snapshot) {
    if (now.has(urn)) continue;
    const c = changes[urn];
    if (!c) problems.push(`${urn}: gone from the plan (Pulumi would delete and recreate it); add an alias in the code and record it in test/urns/changes.json`);
    else if ("aliasedTo" in c && !now.has(c.aliasedTo)) problems.push(`${urn}: recorded as aliased to ${c.aliasedTo}, which is not in the plan either`);
  }
  return problems;
}

if (require.main === module) {
  const root = path.join(__dirname, "..");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-urns-"));
  try {
    for (const stack of SHIPPED_STACKS) {
      const out = path.join(tmp, `${stack}.json`);
      execFileSync(process.execPath, [path.join(root, "node_modules", "tsx", "dist", "cli.mjs"), path.join(root, "tools", "plan.ts"), "--stack", stack, "--json", "--out", out], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
      const urns = (JSON.parse(fs.readFileSync(out, "utf8")) as { resources: { urn: string }[] }).resources.map((r) => r.urn).sort();
      fs.writeFileSync(path.join(URN_DIR, `${stack}.json`), JSON.stringify(urns, null, 1) + "\n");
      console.log(`test/urns/${stack}.json: ${urns.length} URNs`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
