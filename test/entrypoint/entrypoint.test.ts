/**
 * `pulumi up` runs Pulumi.yaml's `main` through ts-node with this tsconfig (type-checking).
 * Nothing here can run the CLI, so load the entry point exactly that way, under mocks.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

const root = path.join(__dirname, "..", "..");

test("Pulumi.yaml's main loads under ts-node (type-checked) and exports the stack outputs", async () => {
  const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
  expect(project).toMatchObject({ name: "opsfleet", runtime: { name: "nodejs", options: { typescript: true } }, main: "stacks/index.ts" });
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [path.join(__dirname, "load-program.js"), "dev"], { cwd: root, maxBuffer: 2 ** 24 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
  );
  const result = JSON.parse(out.trim().split("\n").pop()!);
  expect(result.outputs).toEqual(["backupBucket", "bastionCiSecurityGroupArn", "bastionCiSecurityGroupId", "bastionPublicIp", "database", "elk", "monitoring", "privateSubnetIds", "publicSubnetIds", "redis", "vpcId", "web"]);
  expect(result.resources).toBeGreaterThan(150);
}, 300_000);
