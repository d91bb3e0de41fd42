/**
 * README "Using the components": pack opsfleet (`npm pack`, which runs `prepare` and so builds dist/),
 * install the tarball into a scratch Pulumi program, type-check README's example there against the
 * installed package, and run it under Pulumi's mocks. Offline: the tarball is unpacked as npm installs a
 * tarball without install scripts, and the program's other dependencies are the ones already installed
 * here (linked, as a workspace would).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");
const NODE_MODULES = path.join(ROOT, "node_modules");

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { cwd, maxBuffer: 2 ** 26, env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)));
}

/** README's example: the ```ts block of "Using the components from another Pulumi program". */
function readmeExample(): string {
  const section = fs.readFileSync(path.join(ROOT, "README.md"), "utf8").split("## Using the components from another Pulumi program")[1].split("\n## ")[0];
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error("README has no ts example in 'Using the components from another Pulumi program'");
  return m[1];
}

// The mock runtime around the example (the repository's canned AWS answers, test/harness/mock-data.ts):
// records registrations and prints a summary. The key pair's name is made distinct from its resource
// name, so the test sees that the hosts use the key pair the example creates.
const runner = (mockData: string) => `
const pulumi = require("@pulumi/pulumi");
const { computedOutputs, mockId, mockInvoke } = require(${JSON.stringify(mockData)});
const registered = [];
pulumi.runtime.setMocks({
  newResource(a) {
    registered.push({ type: a.type, name: a.name, inputs: a.inputs });
    const state = { ...a.inputs, ...computedOutputs(a) };
    if (a.type === "aws:ec2/keyPair:KeyPair") state.keyName = a.name + "-kp";
    return { id: mockId(a), state };
  },
  call: (a) => mockInvoke(a.token, a.inputs),
}, "scratch", "test", false);
pulumi.runtime.setAllConfig({
  "aws:region": "eu-west-1",
  "scratch:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk3f2xVbq9wYr4kD8qQ0n5Jm1sTz8fYk2gQp6vN3a1b scratch",
  "scratch:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\\nx\\n-----END OPENSSH PRIVATE KEY-----\\n",
  "scratch:redisPassword": "scratch-Pa55word-long-enough",
}, ["scratch:sshPrivateKey", "scratch:redisPassword"]);
const program = require("./bin/index.js");
pulumi.output(program.redisSeeds).apply(async (seeds) => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  process.stdout.write(JSON.stringify({ exports: Object.keys(program), seeds, registered }) + "\\n", () => process.exit(0));
});
`;

test("the packed library installs into another program, whose README example type-checks and runs under mocks", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-install-"));
  try {
    // 1. pack: `prepare` builds dist/ (skipped when current), `files` decides what ships
    const packed = JSON.parse(await run("npm", ["pack", "--json", "--pack-destination", dir], ROOT)) as { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "CHANGELOG.md", "dist/index.js", "dist/index.d.ts", "dist/components/redis-cluster.js", "dist/functions/spot-reconciler/handler.js"]));
    expect(files.filter((f) => !f.startsWith("dist/") && !["package.json", "README.md", "CHANGELOG.md", "LICENSE"].includes(f))).toEqual([]);
    expect(files.filter((f) => /\.test\.|\/testing\/|^dist\/\.built$/.test(f))).toEqual([]);

    // 2. install into a scratch program: the tarball unpacked as npm does (it has no install scripts),
    //    the other dependencies linked from the ones installed here
    const app = path.join(dir, "app");
    const nm = path.join(app, "node_modules");
    fs.mkdirSync(path.join(nm, "opsfleet"), { recursive: true });
    await run("tar", ["-xzf", path.join(dir, packed[0].filename), "-C", path.join(nm, "opsfleet"), "--strip-components=1"], dir);
    const manifest = JSON.parse(fs.readFileSync(path.join(nm, "opsfleet", "package.json"), "utf8"));
    expect(Object.keys(manifest.scripts ?? {}).filter((s) => ["preinstall", "install", "postinstall"].includes(s))).toEqual([]);
    for (const entry of fs.readdirSync(NODE_MODULES)) {
      if (entry !== "opsfleet" && !entry.startsWith(".")) fs.symlinkSync(path.join(NODE_MODULES, entry), path.join(nm, entry));
    }
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "scratch", private: true, main: "bin/index.js", dependencies: { opsfleet: `file:../${packed[0].filename}` } }));
    fs.writeFileSync(path.join(app, "Pulumi.yaml"), "name: scratch\nruntime: nodejs\n");
    fs.writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, target: "ES2022", module: "nodenext", moduleResolution: "nodenext", outDir: "bin", skipLibCheck: true, types: [] },
      files: ["index.ts"],
    }));
    fs.writeFileSync(path.join(app, "index.ts"), readmeExample());
    fs.writeFileSync(path.join(app, "run-mocks.js"), runner(path.join(ROOT, "test", "harness", "mock-data.ts")));

    // 3. type-check and compile README's example against the installed package (its dist/*.d.ts)
    await run(process.execPath, [path.join(NODE_MODULES, "typescript", "bin", "tsc"), "-p", "."], app);
    expect(fs.readFileSync(path.join(app, "bin", "index.js"), "utf8")).toContain('require("opsfleet")');

    // 4. run it under Pulumi's mocks
    const out = JSON.parse((await run(process.execPath, [path.join(NODE_MODULES, "tsx", "dist", "cli.mjs"), "run-mocks.js"], app)).trim().split("\n").pop()!) as {
      exports: string[]; seeds: string; registered: { type: string; name: string; inputs: Record<string, unknown> }[];
    };
    expect(out.exports).toEqual(["redisSeeds"]);
    expect(out.seeds.split(",")).toEqual([0, 1, 2].map(() => expect.stringMatching(/^10\.0\.\d+\.\d+:7000$/))); // Network's default 10.0.0.0/16
    const types = out.registered.map((r) => r.type);
    for (const t of ["opsfleet:index:Network", "opsfleet:index:Bastion", "opsfleet:index:RedisCluster", "aws:ec2/keyPair:KeyPair"]) expect(types).toContain(t);
    // every host uses the key pair the example creates
    const instances = out.registered.filter((r) => r.type === "aws:ec2/instance:Instance");
    expect(instances.length).toBe(4);
    const keyPairs = out.registered.filter((r) => r.type === "aws:ec2/keyPair:KeyPair");
    expect(keyPairs.map((k) => k.inputs.keyName)).toEqual(["ops"]);
    for (const i of instances) expect([i.name, i.inputs.keyName]).toEqual([i.name, keyPairs[0].inputs.keyName]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 240_000); // a source change since the last build makes `prepare` rebuild dist/ (~20 s of CPU)
