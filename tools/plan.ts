/**
 * Offline plan: runs the Pulumi program under Pulumi's mock runtime with a stack's config
 * (`Pulumi.<stack>.yaml`, secure values replaced by visible placeholders) and prints what
 * `pulumi up` would create: a tree of resources, counts per type, and every file each host receives.
 *
 *   npm run plan                         # stack dev, human-readable
 *   npm run plan -- --stack prod --json  # machine-readable contract (see README "Offline plan")
 */
import { buildPlan, PlanError, renderText } from "./plan-core";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let stack = "dev";
  let json = false;
  let strictSecrets = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--stack" || a === "-s") stack = argv[++i] ?? "";
    else if (a.startsWith("--stack=")) stack = a.slice("--stack=".length);
    else if (a === "--json") json = true;
    else if (a === "--strict-secrets") strictSecrets = true;
    else if (a === "--help" || a === "-h") {
      console.log("usage: npm run plan -- [--stack <name>] [--json] [--strict-secrets]");
      return;
    } else throw new PlanError([`unknown argument ${JSON.stringify(a)}; usage: npm run plan -- [--stack <name>] [--json] [--strict-secrets]`]);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new PlanError([`bad stack name ${JSON.stringify(stack)}`]);
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
    }
    process.exit(1);
  },
);
