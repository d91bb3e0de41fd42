/**
 * The offline plan is a contract (README "Offline plan"): run the real CLI for every stack file and
 * hold the JSON to it, and show that bad config fails the same way `pulumi up` would.
 */
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type { Plan } from "./plan-core";
import { architectureOf } from "../components/instance-architecture";
import { mockInvoke } from "../test/harness/mock-data";
import { ruleFor } from "./change/rules";
import { readChanges, readSnapshot, SHIPPED_STACKS, unaccountedUrns } from "./urns";

const ROOT = path.join(__dirname, "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
// Every stack file present: the shipped ones and any a user adds (e.g. a Pulumi.qa.yaml copied from dev).
const STACKS = fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5)).sort();
const SHIPPED = [...SHIPPED_STACKS].sort();
const regionOf = (stack: string): string => (parseYaml(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"))?.config ?? {})["aws:region"];

function runPlan(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(TSX, [path.join(ROOT, "tools", "plan.ts"), ...args], { cwd, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The JSON command README documents, run as written (through npm, from a shell). */
const README_JSON_COMMAND = /`(npm run -s plan -- --stack prod --json)`/.exec(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"))?.[1];

function runShell(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("/bin/sh", ["-c", command], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const plans: Record<string, Plan> = {};
const failures: Record<string, string> = {};
let outDir: string;
const stdoutWithOut: Record<string, string> = {};

// One plan per stack: prod through README's documented command (stdout must be the JSON alone),
// the others with --out (the file holds the JSON, stdout stays empty).
beforeAll(async () => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-plan-out-"));
  const results = await Promise.all(STACKS.map(async (s) => {
    if (s === "prod" && README_JSON_COMMAND) return runShell(README_JSON_COMMAND);
    const file = path.join(outDir, `${s}.json`);
    const r = await runPlan(["--stack", s, "--json", "--out", file]);
    stdoutWithOut[s] = r.stdout;
    return { ...r, stdout: r.code === 0 && fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "" };
  }));
  results.forEach((r, i) => {
    const s = STACKS[i];
    if (r.code !== 0) failures[s] = `Pulumi.${s}.yaml is not a valid stack file: \`npm run -s plan -- --stack ${s}\` exits ${r.code}:\n${r.stderr}`;
    else {
      try {
        plans[s] = JSON.parse(r.stdout) as Plan;
      } catch (e) {
        failures[s] = `the plan of ${s} is not valid JSON (${(e as Error).message}); it starts with: ${r.stdout.slice(0, 200)}`;
      }
    }
  });
}, 180_000);
afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

test("README's JSON command prints the plan as JSON alone (no npm banner)", () => {
  expect(README_JSON_COMMAND).toBe("npm run -s plan -- --stack prod --json");
  if (failures.prod) throw new Error(failures.prod);
  expect(plans.prod.stack).toBe("prod");
});

test("--out writes the plan to the file and nothing to stdout", () => {
  const s = STACKS.find((x) => x !== "prod")!;
  expect(stdoutWithOut[s]).toBe("");
  expect(plans[s]).toMatchObject({ version: 1, stack: s });
});

test("the shipped stack files are present", () => expect(STACKS).toEqual(expect.arrayContaining(SHIPPED)));

describe.each(STACKS)("plan of stack %s", (stack) => {
  const plan = (): Plan => {
    if (failures[stack]) throw new Error(failures[stack]);
    return plans[stack];
  };

  test(`Pulumi.${stack}.yaml plans without errors`, () => {
    if (failures[stack]) throw new Error(failures[stack]);
  });

  test("matches the documented top-level contract", () => {
    const p = plan();
    expect(Object.keys(p).sort()).toEqual(["config", "counts", "hosts", "outputs", "placeholderSecrets", "project", "region", "resources", "stack", "version", "violations"]);
    expect(p).toMatchObject({ version: 1, project: "opsfleet", stack, region: regionOf(stack) });
    const total = Object.values(p.counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(p.resources.length);
  });

  test("every resource has type, name, urn, parent, inputs, id, outputs and the review options", () => {
    const urns = new Set(plan().resources.map((r) => r.urn));
    for (const r of plan().resources) {
      expect(r.type).toMatch(/^[a-z0-9-]+:[A-Za-z0-9/]+:[A-Za-z0-9]+$/);
      expect(r.urn).toContain(`::${r.name}`);
      if (r.parent !== null) expect(urns.has(r.parent)).toBe(true);
      expect(Object.keys(r.options).sort()).toEqual(["additionalSecretOutputs", "aliases", "deleteBeforeReplace", "deletedWith", "dependsOn", "ignoreChanges", "protect", "replaceOnChanges", "retainOnDelete"]);
      // the provider's id and computed outputs: the state a later change preview (--against) starts from
      if (r.custom) expect(typeof r.id).toBe("string");
      else expect(r.id).toBeNull();
      expect(typeof r.outputs).toBe("object");
      for (const d of r.options.dependsOn) expect(urns.has(d)).toBe(true);
    }
    // type+name pairs are unique, as the engine requires
    const keys = plan().resources.map((r) => `${r.type}::${r.name}`);
    expect(keys.length).toBe(new Set(keys).size);
  });

  test("passes the security checks", () => expect(plan().violations).toEqual([]));

  test("every resource type the plan creates has replace data (tools/change/replace-forcing.json): a change preview never guesses", () => {
    const types = [...new Set(plan().resources.filter((r) => r.custom).map((r) => r.type))].sort();
    expect(types.length).toBeGreaterThan(20);
    expect(types.filter((t) => ruleFor(t) === undefined)).toEqual([]);
  });

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

  test("mock addresses, AZs and ARNs match the stack's network and region", () => {
    const p = plan();
    const subnetCidrs = p.resources.filter((r) => r.type === "aws:ec2/subnet:Subnet").map((r) => String(r.inputs.cidrBlock));
    // created network: inside a subnet the plan creates; your own VPC: inside the (mock) VPC CIDR
    const ranges = subnetCidrs.length ? subnetCidrs : ["10.20.0.0/16"];
    for (const h of p.hosts) expect([h.host, ranges.some((c) => inCidr(h.privateIp, c))]).toEqual([h.host, true]);
    const text = JSON.stringify(p);
    const arnRegions = new Set([...text.matchAll(/arn:aws:[a-z0-9-]+:([a-z0-9-]*):/g)].map((m) => m[1]).filter(Boolean));
    expect([...arnRegions]).toEqual([p.region]);
    const zones = new Set([...text.matchAll(/"availabilityZone":"([a-z0-9-]+)"/g)].map((m) => m[1].slice(0, -1)));
    for (const z of zones) expect(z).toBe(p.region);
  });

  test("every host: waits for cloud-init first, renders files with mode and owner, steps chained in order", () => {
    const p = plan();
    // the bastion plus one host per enabled host system
    if (p.config.features.redis || p.config.features.elk || p.config.features.database) expect(p.hosts.length).toBeGreaterThanOrEqual(2);
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

// Upgrading opsfleet must not rename what a running stack has (see tools/urns.ts): added URNs are fine.
test.each(SHIPPED_STACKS)("URNs of the %s stack are stable: none vanished unless an alias or a deliberate removal is recorded", (stack) => {
  if (failures[stack]) throw new Error(failures[stack]);
  const snapshot = readSnapshot(stack);
  expect(snapshot.length).toBeGreaterThan(100);
  expect(unaccountedUrns(snapshot, plans[stack].resources.map((r) => r.urn), readChanges())).toEqual([]);
});

describe("README agrees with the plans", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const flat = (t: string) => t.replace(/\s+/g, " ");
  const shipped = () => SHIPPED.map((s) => {
    if (failures[s]) throw new Error(failures[s]);
    return plans[s];
  });

  test("the diagram names the hosts the prod plan creates", () => {
    const diagram = readme.split("```")[1];
    const named = new Set<string>();
    for (const m of diagram.matchAll(/\b([a-z]+(?:-[a-z]+)*)-(\d+)\.\.(\d+)\b/g)) {
      for (let i = Number(m[2]); i <= Number(m[3]); i++) named.add(`${m[1]}-${i}`);
    }
    for (const single of ["bastion", "logstash", "db-host"]) if (new RegExp(`\\b${single}\\b`).test(diagram)) named.add(single);
    const hosts = plans.prod.hosts.map((h) => h.host.replace(/^prod-/, ""));
    expect([...named].sort()).toEqual(hosts.sort());
  });

  test("deploy step 3 names the AWS service of every resource the shipped stacks create", () => {
    const step = flat(readme.split("\n3. ")[1].split("\n4. ")[0]);
    // type module (or module/resource) -> the words README must use
    const words: Record<string, string> = {
      ec2: "EC2", vpc: "EC2", ebs: "EBS", lb: "Elastic Load Balancing", autoscaling: "Auto Scaling", iam: "IAM", lambda: "Lambda",
      "cloudwatch/eventRule": "EventBridge", "cloudwatch/eventTarget": "EventBridge", "cloudwatch/logGroup": "CloudWatch Logs",
      "cloudwatch/metricAlarm": "CloudWatch alarms", "cloudwatch/dashboard": "CloudWatch dashboards",
      sqs: "SQS", sns: "SNS", route53: "Route53", acm: "ACM", s3: "S3", dlm: "DLM", kms: "KMS", ssm: "SSM",
    };
    const needed = new Set<string>();
    for (const p of shipped()) {
      for (const r of p.resources.filter((x) => x.custom && x.type.startsWith("aws:"))) {
        const [mod, res] = r.type.split(":")[1].split("/");
        needed.add(words[`${mod}/${res}`] ?? words[mod] ?? mod);
      }
      if (p.config.spot.certificateArn) needed.add("ACM");
    }
    needed.add("CreateServiceLinkedRole"); // Spot, Spot Fleet, Auto Scaling and ELB create theirs on first use
    for (const w of needed) expect([w, step.includes(w)]).toEqual([w, true]);
  });

  test("the teardown section names what protectData protects, and what is retained", () => {
    const teardown = flat(readme.split("## Tearing a stack down")[1].split("\n## ")[0]);
    const all = shipped().flatMap((p) => p.resources);
    const protectedTypes = [...new Set(plans.prod.resources.filter((r) => r.options.protect).map((r) => r.type))];
    expect(protectedTypes.length).toBeGreaterThan(0);
    for (const t of protectedTypes) expect(teardown).toContain(t);
    expect(teardown).toMatch(/pulumi state unprotect|protectData false/);
    const retained = [...new Set(all.filter((r) => r.options.retainOnDelete).map((r) => r.type))];
    if (teardown.includes("No resource sets `retainOnDelete`")) expect(retained).toEqual([]);
    else for (const t of retained) expect(teardown).toContain(t);
  });
});

test("human-readable plan shows the tree, counts and host files", async () => {
  const r = await runPlan([]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("opsfleet offline plan: stack dev");
  expect(r.stdout).toMatch(/Counts by type:[\s\S]*aws:ec2\/instance:Instance/);
  expect(r.stdout).toMatch(/Hosts:[\s\S]*cloud-init ->/);
  expect(r.stdout).toContain("Security check: no violations");
}, 180_000);

function inCidr(ip: string, cidr: string): boolean {
  const num = (a: string) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  const [base, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(num(ip) / size) === Math.floor(num(base) / size);
}

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
  }, 180_000);

  test("--strict-secrets reports secrets missing from the stack file, as pulumi up would", async () => {
    fs.writeFileSync(path.join(dir, "Pulumi.nosecrets.yaml"), fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml")));
    const r = await runPlan(["--stack", "nosecrets", "--strict-secrets"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: opsfleet:sshPrivateKey: missing secret/);
    expect(r.stderr).toMatch(/error: opsfleet:dbAppPassword: missing secret/);
  }, 180_000);

  test("a duplicated YAML key names the file, the line and the key, without a stack trace", async () => {
    fs.writeFileSync(path.join(dir, "Pulumi.dup.yaml"), "config:\n  aws:region: eu-west-1\n  opsfleet:redis: { hostCount: 3 }\n  opsfleet:redis: { hostCount: 6 }\n");
    const r = await runPlan(["--stack", "dup"], dir);
    expect(r).toMatchObject({ code: 1, stdout: "" });
    expect(r.stderr).toBe('error: Pulumi.dup.yaml:4:3: Map keys must be unique ("opsfleet:redis" is set twice; keep one)\n');
  }, 180_000);

  test("a reader that closes the pipe early (| head) ends the plan quietly", async () => {
    fs.writeFileSync(path.join(dir, "Pulumi.web.yaml"), "config:\n  aws:region: eu-west-1\n  opsfleet:features: { redis: false, elk: false, database: false }\n");
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(TSX, [path.join(ROOT, "tools", "plan.ts"), "--stack", "web", "--json"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      p.stdout.destroy(); // what `head` does once it has its lines
      let stderr = "";
      p.stderr.on("data", (d) => (stderr += d));
      p.on("close", (code) => resolve({ code, stderr }));
    });
    expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(r.code).toBe(0);
  }, 180_000);

  test("--out into a directory that does not exist is refused before planning, without a stack trace", async () => {
    const r = await runPlan(["--stack", "prod", "--json", "--out", "no-such-dir/plan.json"], dir);
    expect(r).toMatchObject({ code: 1, stdout: "" });
    expect(r.stderr).toBe(`error: --out no-such-dir/plan.json: the directory ${path.join(fs.realpathSync(dir), "no-such-dir")} does not exist (create it first)\n`);
  }, 180_000);

  test("an unknown stack names the stacks that exist", async () => {
    const r = await runPlan(["--stack", "no-such-stack"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no stack file Pulumi.no-such-stack.yaml; stacks here: ${STACKS.join(", ")}`);
  }, 180_000);
});
