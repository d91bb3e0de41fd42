/**
 * `--against <before>`: a plan JSON saved earlier with `--json`, or a git revision whose program and
 * stack file are planned in a temporary checkout (`git archive`, node_modules linked from this tree).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Plan } from "../plan-core";

export class AgainstError extends Error {}

/** The preview's model of AWS (mock answers), taken from this tree when an old revision is planned. */
export const HARNESS = ["test/harness/mock-data.ts"];

export interface Before {
  plan: Plan;
  /** What the preview compares with, for the output ("plan file x", "git main (abc1234)"). */
  label: string;
}

/** The plan of a stack that does not exist (before it is created, after its stack file is deleted). */
export function emptyPlan(stack: string, region: string): Plan {
  return { version: 1, project: "opsfleet", stack, region, config: {} as Plan["config"], placeholderSecrets: [], resources: [], counts: {}, hosts: [], outputs: {}, violations: [] };
}

export function readPlanFile(file: string, stack: string): Plan {
  let plan: Plan;
  try {
    plan = JSON.parse(fs.readFileSync(file, "utf8")) as Plan;
  } catch (e) {
    throw new AgainstError(`--against ${file}: not a plan JSON (${e instanceof Error ? e.message : String(e)}); save one with \`npm run plan -- --stack ${stack} --json > ${file}\``);
  }
  if (plan?.version !== 1 || !Array.isArray(plan.resources) || !Array.isArray(plan.hosts)) {
    throw new AgainstError(`--against ${file}: not a version-1 opsfleet plan (expected "version": 1, "resources" and "hosts")`);
  }
  if (plan.stack !== stack) throw new AgainstError(`--against ${file}: the plan is of stack ${JSON.stringify(plan.stack)}, not ${JSON.stringify(stack)}`);
  return plan;
}

/** Plans `stack` as it was at git revision `rev` of the repository at `root`. */
export function planAtRevision(root: string, rev: string, stack: string, region = "eu-west-1"): Before {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  let commit: string;
  try {
    commit = git("rev-parse", "--verify", "--quiet", `${rev}^{commit}`);
  } catch {
    throw new AgainstError(`--against ${rev}: neither a plan file nor a git revision of ${root}`);
  }
  const label = `git ${rev} (${commit.slice(0, 7)})`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-against-"));
  try {
    const archive = spawnSync("git", ["archive", "--format=tar", commit], { cwd: root, maxBuffer: 512 * 2 ** 20 });
    if (archive.status !== 0) throw new AgainstError(`git archive ${rev} failed: ${archive.stderr.toString()}`);
    execFileSync("tar", ["-x", "-C", tmp], { input: archive.stdout });
    if (!fs.existsSync(path.join(tmp, `Pulumi.${stack}.yaml`))) {
      // The stack is new in this change: everything is a create.
      return { plan: emptyPlan(stack, region), label: `${label}, where stack ${stack} did not exist` };
    }
    // The revision's own dependencies are this tree's (a lock-file change needs a real `pulumi preview`).
    fs.rmSync(path.join(tmp, "node_modules"), { recursive: true, force: true });
    fs.symlinkSync(fs.realpathSync(path.join(root, "node_modules")), path.join(tmp, "node_modules"), "dir");
    const tsx = path.join(tmp, "node_modules", ".bin", "tsx");
    const plan = () => spawnSync(tsx, ["tools/plan.ts", "--stack", stack, "--json"], { cwd: tmp, encoding: "utf8", maxBuffer: 256 * 2 ** 20 });
    // The mocks are the preview's model of AWS, not part of the program: the old program runs against
    // this tree's, so a difference between the two mocks cannot show up as a change.
    const saved = HARNESS.map((f) => [f, fs.existsSync(path.join(tmp, f)) ? fs.readFileSync(path.join(tmp, f)) : undefined] as const);
    for (const f of HARNESS) fs.copyFileSync(path.join(root, f), path.join(tmp, f));
    let r = plan();
    let note = "";
    if (r.status !== 0) {
      // Too old for this tree's mocks (another interface): its own mocks, said loudly.
      for (const [f, content] of saved) if (content) fs.writeFileSync(path.join(tmp, f), content);
      r = plan();
      note = ", with that revision's own mocks (it does not run with this tree's: mock differences show as changes)";
    }
    if (r.status !== 0) throw new AgainstError(`the plan of stack ${stack} at ${label} failed:\n${r.stderr.trim()}`);
    return { plan: JSON.parse(r.stdout) as Plan, label: label + note };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A file path that exists is a saved plan; anything else must be a git revision. */
export function resolveAgainst(root: string, against: string, stack: string): Before {
  if (fs.existsSync(against) && fs.statSync(against).isFile()) return { plan: readPlanFile(against, stack), label: `plan file ${against}` };
  return planAtRevision(root, against, stack);
}
