import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { validateConfig } from "../stacks/config/load";
import type { OpsfleetConfig } from "../stacks/config/schema";
import { INSTANCE_TYPES } from "../provision/elasticsearch/instance-types";
import { vcpuNeeds, vcpusOf } from "./quotas";
import { SHIPPED_STACKS } from "./urns";

const ROOT = path.join(__dirname, "..");
// The README's table documents the stacks opsfleet ships; a user's own stack file must not fail it.
const STACKS = SHIPPED_STACKS;

/** The validated config of a shipped stack file (secrets as acceptable placeholders). */
function stackConfig(stack: string): OpsfleetConfig {
  const doc = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  const values: Record<string, string> = {
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
    redisPassword: "placeholder-password-1", elasticPassword: "placeholder-password-2", dbRootPassword: "placeholder-password-3", dbAppPassword: "placeholder-password-4",
  };
  const secretKeys = new Set(Object.keys(values));
  const others: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.config)) {
    const [ns, key] = k.split(":");
    if (ns === "opsfleet") values[key] = typeof v === "string" ? v : JSON.stringify(v);
    else others[k] = String(v);
  }
  const r = validateConfig({ values, secretKeys, others });
  if (!r.ok) throw new Error(r.problems.join("\n"));
  return r.config;
}

describe("account prerequisites: vCPU quotas per shipped stack", () => {
  test("vCPUs by size agree with the memory table's figures, and t2's small sizes have 1", () => {
    for (const [t, spec] of Object.entries(INSTANCE_TYPES)) expect({ t, v: vcpusOf(t) }).toEqual({ t, v: spec.vcpus });
    expect([vcpusOf("t2.micro"), vcpusOf("t3.micro"), vcpusOf("r6g.large"), vcpusOf("m6g.medium")]).toEqual([1, 2, 2, 1]);
  });

  test("the README's quota table shows the figures computed from every shipped stack file", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    for (const stack of STACKS) {
      const { onDemand, spot } = vcpuNeeds(stackConfig(stack));
      expect(readme).toContain(`| \`${stack}\` | ${onDemand} | ${spot} |`);
    }
  });
});
