/**
 * Offline plan: runs the Pulumi program under Pulumi's mock runtime with a stack's config
 * (`Pulumi.<stack>.yaml`, secure values replaced by visible placeholders) and prints what
 * `pulumi up` would create: a tree of resources, counts per type, and every file each host receives.
 *
 *   npm run plan                         # stack dev, human-readable
 *   npm run plan -- --stack prod --json  # machine-readable contract (see README "Offline plan")
 *   npm run plan -- --stack prod --against main            # change preview against a git revision
 *   npm run plan -- --stack prod --against before.json     # ... or against a plan saved with --json
 */
import { buildPlan, PlanError, renderText } from "./plan-core";
import { AgainstError, resolveAgainst } from "./change/against";
import { changePreview, changeSetOf } from "./change/preview";
import { renderChanges } from "./change/render";

const USAGE = "usage: npm run plan -- [--stack <name>] [--json] [--strict-secrets] [--against <plan.json|git-revision>]";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let stack = "dev";
  let json = false;
  let strictSecrets = false;
  let against: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--stack" || a === "-s") stack = argv[++i] ?? "";
    else if (a.startsWith("--stack=")) stack = a.slice("--stack=".length);
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
    await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
    if (cp.violations.length) throw new PlanError(cp.violations.map((v) => `security check: ${v}`));
    return;
  }
  const plan = await buildPlan({ stack, strictSecrets, root: process.cwd() });
  // Wait for the pipe to drain: the process exits right after (the mock runtime keeps handles open).
  await new Promise<void>((resolve) => process.stdout.write(json ? JSON.stringify(plan, null, 2) + "\n" : renderText(plan), () => resolve()));
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
