/**
 * `npm run plan -- --against <before>` end to end, through the real CLI: against a git revision (the
 * program and stack file of that revision, planned in a temporary checkout) and against a saved plan.
 * Runs in a throw-away copy of this tree committed to its own git repository.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ChangePlan } from "./preview";
import { resolveAgainst } from "./against";

const ROOT = path.join(__dirname, "..", "..");
let repo: string;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(path.join(repo, "node_modules", ".bin", "tsx"), [path.join(repo, "tools", "plan.ts"), ...args], { cwd: repo, maxBuffer: 256 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-against-test-"));
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter((f) => f && fs.existsSync(path.join(ROOT, f)) && !f.startsWith("node_modules"));
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(repo, f));
  }
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, "node_modules")), path.join(repo, "node_modules"), "dir");
  const git = (...a: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...a], { cwd: repo, stdio: "ignore" });
  git("init", "-q");
  fs.appendFileSync(path.join(repo, ".git", "info", "exclude"), "/node_modules\n");
  git("add", "-A");
  git("commit", "-q", "-m", "before");
  // The working tree moves on: one tag more on every resource of the dev stack.
  const dev = path.join(repo, "Pulumi.dev.yaml");
  fs.writeFileSync(dev, fs.readFileSync(dev, "utf8").replace(/(\n  opsfleet:tags:\n)/, "$1    team: web\n"));
});
afterAll(() => fs.rmSync(repo, { recursive: true, force: true }));

let viaGit: ChangePlan;

test("--against a git revision plans that revision's program and stack file, then shows what changes", async () => {
  const r = await run(["--stack", "dev", "--against", "HEAD", "--json"]);
  expect(r.stderr).not.toMatch(/error/);
  expect(r.code).toBe(0);
  viaGit = JSON.parse(r.stdout) as ChangePlan;
  expect(viaGit.against).toMatch(/^git HEAD \([0-9a-f]{7}\)$/);
  // one entry per resource, every op counted
  expect(viaGit.changes.length).toBe(viaGit.resources.length);
  expect(Object.values(viaGit.changeSummary).reduce((a, b) => a + b, 0)).toBe(viaGit.changes.length);
  for (const c of viaGit.changes) expect(Object.keys(c).sort()).toEqual(["changedInputs", "name", "op", "replaceReasons", "type", "urn"]);
  // a new tag: tagged resources update in place, nothing is deleted
  expect(viaGit.changeSummary.update).toBeGreaterThan(10);
  expect(viaGit.changeSummary.delete).toBe(0);
  const vpc = viaGit.changes.find((c) => c.type === "aws:ec2/vpc:Vpc")!;
  expect(vpc).toMatchObject({ op: "update", changedInputs: ["tags.team"], replaceReasons: [] });
}, 180_000);

test("--against a saved plan JSON: the same tree against its own plan changes nothing; text output leads with replacements", async () => {
  const file = path.join(repo, "after.json");
  fs.writeFileSync(file, JSON.stringify(viaGit));
  const r = await run(["--stack", "dev", "--against", file]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^opsfleet change preview: stack dev against plan file ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n  0 to replace, 0 to delete, 0 to create, 0 to update, ${viaGit.resources.length} unchanged\n`));
  expect(r.stdout).toMatch(/pulumi preview` with credentials remains the authority/);
}, 120_000);

test("the pull-request comment script previews the stacks against the base revision", async () => {
  const out = path.join(repo, "comment.md");
  const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(path.join(repo, "node_modules", ".bin", "tsx"), [path.join(repo, "tools", "change", "pr-comment.ts"), "--base", "HEAD", "--out", out, "--stacks", "dev"], { cwd: repo }, (err, _o, stderr) =>
      resolve({ code: err ? 1 : 0, stderr }));
  });
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  const md = fs.readFileSync(out, "utf8");
  expect(md).toMatch(/^<!-- opsfleet-change-preview -->\n### Offline change preview against `HEAD`/);
  const sm = viaGit.changeSummary;
  const bold = (n: number) => (n ? `**${n}**` : "0");
  expect(md).toContain(`| dev | ${bold(sm.replace)} | ${bold(sm.delete)} | ${sm.create} | ${sm.update} | ${sm.same} |`);
  expect(md).toContain("opsfleet change preview: stack dev against git HEAD");
}, 180_000);

test("--against a git revision plans the old program with this tree's mocks: a mock change is not a change of the stack", async () => {
  // This tree's mock hands out other volume ids than the committed one: planned with its own mocks, the
  // old revision would show every volume attachment replaced.
  const mock = path.join(repo, "test", "harness", "mock-data.ts");
  const original = fs.readFileSync(mock, "utf8");
  fs.writeFileSync(mock, original.replace("Math.imul(h, 31)", "Math.imul(h, 37)"));
  try {
    const r = await run(["--stack", "dev", "--against", "HEAD", "--json"]);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as ChangePlan;
    expect(p.against).toMatch(/^git HEAD \([0-9a-f]{7}\)$/);
    expect(p.changes.filter((c) => c.type === "aws:ec2/volumeAttachment:VolumeAttachment" && c.op !== "same")).toEqual([]);
    expect(p.changeSummary).toEqual(viaGit.changeSummary);
  } finally {
    fs.writeFileSync(mock, original);
  }
}, 180_000);

test("bad --against values fail before planning, naming what was given", () => {
  expect(() => resolveAgainst(repo, "no-such-rev", "dev")).toThrow(/^--against no-such-rev: neither a plan file nor a git revision of /);
  const f = path.join(repo, "prod-plan.json");
  fs.writeFileSync(f, JSON.stringify({ version: 1, stack: "prod", resources: [], hosts: [] }));
  expect(() => resolveAgainst(repo, f, "dev")).toThrow(/the plan is of stack "prod", not "dev"/);
  fs.writeFileSync(f, "{ not json");
  expect(() => resolveAgainst(repo, f, "dev")).toThrow(/not a plan JSON .*save one with `npm run plan -- --stack dev --json > /);
});
