/**
 * The offline plan is a contract (README "Offline plan"): run the real CLI for every stack file and
 * hold the JSON to it, and show that bad config fails the same way `pulumi up` would.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Plan } from "./plan-core";
import { architectureOf } from "../components/instance-architecture";
import { mockInvoke } from "../test/harness/mock-data";

const ROOT = path.join(__dirname, "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const STACKS = fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5));

function runPlan(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(TSX, [path.join(ROOT, "tools", "plan.ts"), ...args], { cwd, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const plans: Record<string, Plan> = {};

beforeAll(async () => {
  expect(STACKS.sort()).toEqual(["dev", "prod", "staging"]);
  const results = await Promise.all(STACKS.map((s) => runPlan(["--stack", s, "--json"])));
  results.forEach((r, i) => {
    if (r.code !== 0) throw new Error(`plan ${STACKS[i]} failed (${r.code}):\n${r.stderr}`);
    plans[STACKS[i]] = JSON.parse(r.stdout) as Plan;
  });
}, 120_000);

describe.each(["dev", "staging", "prod"])("plan of stack %s", (stack) => {
  const plan = () => plans[stack];

  test("matches the documented top-level contract", () => {
    const p = plan();
    expect(Object.keys(p).sort()).toEqual(["config", "counts", "hosts", "outputs", "placeholderSecrets", "project", "region", "resources", "stack", "version", "violations"]);
    expect(p).toMatchObject({ version: 1, project: "opsfleet", stack, region: "eu-west-1" });
    const total = Object.values(p.counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(p.resources.length);
  });

  test("every resource has type, name, urn, parent, inputs and the review options", () => {
    const urns = new Set(plan().resources.map((r) => r.urn));
    for (const r of plan().resources) {
      expect(r.type).toMatch(/^[a-z0-9-]+:[A-Za-z0-9/]+:[A-Za-z0-9]+$/);
      expect(r.urn).toContain(`::${r.name}`);
      if (r.parent !== null) expect(urns.has(r.parent)).toBe(true);
      expect(Object.keys(r.options).sort()).toEqual(["additionalSecretOutputs", "deleteBeforeReplace", "deletedWith", "dependsOn", "ignoreChanges", "protect", "replaceOnChanges", "retainOnDelete"]);
      for (const d of r.options.dependsOn) expect(urns.has(d)).toBe(true);
    }
    // type+name pairs are unique, as the engine requires
    const keys = plan().resources.map((r) => `${r.type}::${r.name}`);
    expect(keys.length).toBe(new Set(keys).size);
  });

  test("passes the security checks", () => expect(plan().violations).toEqual([]));

  test("every instance and launch template boots an AMI of its instance type's architecture (pinned per architecture, or Debian's for it)", () => {
    const pinned = (plan().config as { amiIds?: Record<string, string> }).amiIds;
    const debian = (arch: string) => mockInvoke("aws:ec2/getAmi:getAmi", { filters: [{ name: "architecture", values: [arch] }] }).id;
    const launched = plan().resources.filter((r) => r.type === "aws:ec2/instance:Instance" || r.type === "aws:ec2/launchTemplate:LaunchTemplate");
    expect(launched.length).toBeGreaterThan(0);
    for (const r of launched) {
      const i = r.inputs as { instanceType?: string; ami?: string; imageId?: string };
      const type = i.instanceType ?? plan().config.spot.instanceTypes[0];
      const arch = architectureOf(type);
      expect({ resource: r.name, type, ami: i.ami ?? i.imageId }).toEqual({ resource: r.name, type, ami: pinned?.[arch as "x86_64"] ?? debian(arch) });
    }
  });

  test("every host: waits for cloud-init first, renders files with mode and owner, steps chained in order", () => {
    expect(plan().hosts.length).toBeGreaterThanOrEqual(2);
    for (const h of plan().hosts) {
      expect(h.steps[0].name).toBe("cloud-init");
      for (let i = 1; i < h.steps.length; i++) expect(h.steps[i].dependsOn).toContain(h.steps[i - 1].resource);
      for (const f of h.files) {
        expect(f.path).toMatch(/^\//);
        expect(f.mode).toMatch(/^0[0-7]{3}$/);
        expect(typeof f.content).toBe("string");
      }
    }
  });

  test("secrets appear only as placeholders, and only inside secret values", () => {
    const p = plan();
    for (const r of p.resources) {
      const visible = JSON.stringify(r.inputs, (_k, v) => (v && typeof v === "object" && "$secret" in v ? "<hidden>" : v));
      expect(visible).not.toMatch(/<secret:/);
    }
    // secret-bearing files on hosts are never world-readable
    for (const h of p.hosts) for (const f of h.files) if (f.content.includes("<secret:")) expect(f.mode).toMatch(/^0[0-7][0-7]0$/);
  });
});

test("the prod plan holds the four systems", () => {
  const p = plans.prod;
  const types = Object.keys(p.counts);
  for (const t of ["opsfleet:index:Network", "opsfleet:index:Bastion", "opsfleet:index:SpotFailover", "opsfleet:index:RedisCluster", "opsfleet:index:ElasticsearchCluster", "opsfleet:index:LogstashHost", "opsfleet:index:EncryptedDatabase"]) {
    expect(types).toContain(t);
  }
  expect(p.config.protectData).toBe(true);
  expect(p.resources.filter((r) => r.type === "aws:ebs/volume:Volume").every((r) => r.options.protect)).toBe(true);
});

test("human-readable plan shows the tree, counts and host files", async () => {
  const r = await runPlan([]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("opsfleet offline plan: stack dev");
  expect(r.stdout).toMatch(/Counts by type:[\s\S]*aws:ec2\/instance:Instance/);
  expect(r.stdout).toMatch(/Hosts:[\s\S]*cloud-init ->/);
  expect(r.stdout).toContain("Security check: no violations");
}, 60_000);

describe("invalid configuration", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-plan-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), [
      "config:",
      "  aws:region: eu-west-1",
      "  opsfleet:adminCidrs: [0.0.0.0/0]",
      "  opsfleet:network: { natGateways: two }",
      "  opsfleet:redsi: { instanceType: t3.small }",
      "  opsfleet:redisPassword: { secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBB }",
      "",
    ].join("\n"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("exits non-zero with one message per problem naming the key, and creates nothing", async () => {
    const r = await runPlan(["--stack", "bad", "--json"], dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/^error: opsfleet:adminCidrs\[0\]: must not open SSH to the whole internet/),
      expect.stringMatching(/^error: opsfleet:network.natGateways: .*"onePerAz".*\(got "two"\)/),
      expect.stringMatching(/^error: opsfleet:redsi: unknown key/),
      expect.stringMatching(/^error: opsfleet:ssh.publicKey: is required/),
    ]));
  }, 60_000);

  test("--strict-secrets reports secrets missing from the stack file, as pulumi up would", async () => {
    fs.writeFileSync(path.join(dir, "Pulumi.nosecrets.yaml"), fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml")));
    const r = await runPlan(["--stack", "nosecrets", "--strict-secrets"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: opsfleet:sshPrivateKey: missing secret/);
    expect(r.stderr).toMatch(/error: opsfleet:dbAppPassword: missing secret/);
  }, 60_000);

  test("an unknown stack names the stacks that exist", async () => {
    const r = await runPlan(["--stack", "qa"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no stack file Pulumi.qa.yaml; stacks here: dev, prod, staging/);
  }, 60_000);
});
