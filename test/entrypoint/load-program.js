// Loads Pulumi.yaml's `main` the way Pulumi's Node.js language host does for a TypeScript project
// (ts-node with the project's tsconfig, type-checking), under the mock runtime with a stack's
// config, and prints the stack outputs' names. Usage: node load-program.js <stack>
"use strict";
const path = require("node:path");
const root = path.join(__dirname, "..", "..");
require("ts-node").register({ project: path.join(root, "tsconfig.json"), transpileOnly: false });
const yaml = require("yaml");
const fs = require("node:fs");
const pulumi = require("@pulumi/pulumi");
const { computedOutputs, mockId, mockInvoke } = require(path.join(root, "test", "harness", "mock-data.ts"));
const { readStackFiles } = require(path.join(root, "tools", "plan-core.ts"));

async function main() {
  const stack = process.argv[2] || "dev";
  const project = yaml.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
  const files = readStackFiles(root, stack, false);
  let count = 0;
  await pulumi.runtime.setMocks({
    newResource: (a) => { count++; return { id: mockId(a), state: { ...a.inputs, ...computedOutputs(a) } }; },
    call: (a) => mockInvoke(a.token, a.inputs),
  }, project.name, stack, false);
  pulumi.runtime.setAllConfig(files.config, files.secretKeys);
  const outputs = require(path.join(root, project.main));
  const resolved = await new Promise((r) => pulumi.output(outputs).apply(r));
  await new Promise((r) => setTimeout(r, 200));
  process.stdout.write(JSON.stringify({ outputs: Object.keys(resolved).sort(), resources: count }) + "\n", () => process.exit(0));
}
main().catch((e) => { console.error(e && e.stack || String(e)); process.exit(1); });
