/** The plan engine in-process: what it says about secrets follows the systems the stack enables. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildPlan, renderText } from "./plan-core";

const ROOT = path.join(__dirname, "..");

test("the placeholder note lists only the secrets the enabled systems need", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-plan-core-"));
  try {
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    fs.writeFileSync(path.join(dir, "Pulumi.web.yaml"), "config:\n  aws:region: eu-west-1\n  opsfleet:features: { redis: false, elk: false, database: false }\n");
    const plan = await buildPlan({ stack: "web", root: dir });
    expect(plan.placeholderSecrets).toEqual([]);
    expect(renderText(plan)).not.toMatch(/note: secrets|elasticPassword|redisPassword/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
