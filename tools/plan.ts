/**
 * Offline plan: runs the Pulumi program under Pulumi's mock runtime with a stack's config
 * (`Pulumi.<stack>.yaml`, secure values replaced by visible placeholders) and prints what
 * `pulumi up` would create: a tree of resources, counts per type, and every file each host receives.
 *
 *   npm run plan                                # stack dev, human-readable
 *   npm run -s plan -- --stack prod --json      # machine-readable contract (see README "Offline plan");
 *                                               # -s keeps npm's banner off stdout
 *   npm run plan -- --stack prod --json --out plan.json    # the same, written to a file
 *   npm run plan -- --stack prod --against main            # change preview against a git revision
 *   npm run plan -- --stack prod --against before.json     # ... or against a plan saved with --json
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildPlan, PlanError, renderText } from "./plan-core";
import { AgainstError, resolveAgainst } from "./change/against";
import { changePreview, changeSetOf } from "./change/preview";
import { renderChanges } from "./change/render";

const USAGE = "usage: npm run -s plan -- [--stack <name>] [--json] [--out <file>] [--strict-secrets] [--against <plan.json|git-revision>]";

// A reader that stops early (`| head`, `| jq -e ... | head`) closes the pipe: that is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

/** The result to --out's file, or to stdout (waiting for the pipe to drain: the process exits right after). */
function emit(text: string, out: string | undefined): Promise<void> {
  if (out) {
    try {
      fs.writeFileSync(out, text);
    } catch (e) {
      throw new PlanError([`--out ${out}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
    }
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let stack = "dev";
  let json = false;
  let strictSecrets = false;
  let against: string | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--stack" || a === "-s") stack = argv[++i] ?? "";
    else if (a.startsWith("--stack=")) stack = a.slice("--stack=".length);
    else if (a === "--out" || a === "-o") out = argv[++i] ?? "";
    else if (a.startsWith("--out=")) out = a.slice("--out=".length);
    else if (a === "--json") json = true;
    else if (a === "--strict-secrets") strictSecrets = true;
    else if (a === "--against") against = argv[++i] ?? "";
    else if (a.startsWith("--against=")) against = a.slice("--against=".length);
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      return;
    } else throw new PlanError([`unknown argument ${JSON.stringify(a)}; ${USAGE}`]);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new PlanError([`bad stack name ${JSON.stringify(stack)}`]);
  if (out === "" || out?.startsWith("-")) throw new PlanError([`--out needs a file name; ${USAGE}`]);
  // checked before planning: a minute of planning must not end in a write error
  if (out !== undefined && !fs.statSync(path.dirname(path.resolve(out)), { throwIfNoEntry: false })?.isDirectory()) {
    throw new PlanError([`--out ${out}: the directory ${path.dirname(path.resolve(out))} does not exist (create it first)`]);
  }
  if (against !== undefined) {
    if (!against) throw new PlanError([`--against needs a plan file or a git revision; ${USAGE}`]);
    let before;
    try {
      before = resolveAgainst(process.cwd(), against, stack);
    } catch (e) {
      if (e instanceof AgainstError) throw new PlanError([e.message]);
      throw e;
    }
    const cp = await changePreview(before.plan, { stack, strictSecrets, root: process.cwd() }, before.label);
    const dbr = new Set(cp.resources.filter((r) => r.options.deleteBeforeReplace).map((r) => r.urn));
    const text = json ? JSON.stringify(cp, null, 2) + "\n" : renderChanges(changeSetOf(cp), { stack, against: before.label, deleteBeforeReplace: dbr });
    await emit(text, out);
    if (cp.violations.length) throw new PlanError(cp.violations.map((v) => `security check: ${v}`));
    return;
  }
  const plan = await buildPlan({ stack, strictSecrets, root: process.cwd() });
  // Wait for the pipe to drain: the process exits right after (the mock runtime keeps handles open).
  await emit(json ? JSON.stringify(plan, null, 2) + "\n" : renderText(plan), out);
  if (plan.violations.length) throw new PlanError(plan.violations.map((v) => `security check: ${v}`));
}

main().then(
  () => process.exit(0),
  (err) => {
    if (err instanceof PlanError) {
      for (const p of err.problems) console.error(`error: ${p}`);
    } else {
      console.error(err instanceof Error ? err.stack ?? err.message : String(err));
      if (process.env.OPSFLEET_PLAN_STACKS !== "1") console.error("(set OPSFLEET_PLAN_STACKS=1 for full stack traces)");
    }
    process.exit(1);
  },
);
