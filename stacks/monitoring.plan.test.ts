/**
 * Monitoring as the offline plan shows it, for every stack file: host identities (instance
 * profiles that may only publish metrics), and (below) the topic, alarms and dashboard.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildPlan, type Plan, type PlanResource } from "../tools/plan-core";
import { HOST_METRICS_NAMESPACE } from "../provision/monitoring/namespace";

const ROOT = path.join(__dirname, "..");
const STACKS = fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5)).sort();
const plans: Record<string, Plan> = {};

beforeAll(async () => {
  for (const stack of STACKS) plans[stack] = await buildPlan({ stack, root: ROOT });
}, 120_000);

const ofType = (p: Plan, type: string) => p.resources.filter((r) => r.type === type);
const unwrap = (v: unknown): any => (v && typeof v === "object" && "$secret" in (v as object) ? unwrap((v as { $secret: unknown }).$secret) : v);

describe.each(STACKS)("plan of stack %s", (stack) => {
  const plan = () => plans[stack];

  test("every data host runs with its group's instance profile, which may publish host metrics to one namespace", () => {
    const p = plan();
    const profiles = new Map(ofType(p, "aws:iam/instanceProfile:InstanceProfile").map((r) => [r.name, r]));
    const hostInstances = ofType(p, "aws:ec2/instance:Instance").filter((r) => !r.name.endsWith("-bastion"));
    expect(hostInstances.length).toBeGreaterThan(0);
    for (const i of hostInstances) {
      const profile = String(i.inputs.iamInstanceProfile);
      expect(profiles.has(profile)).toBe(true);
      const policies = ofType(p, "aws:iam/rolePolicy:RolePolicy").filter((r: PlanResource) => r.inputs.role === `${profiles.get(profile)!.inputs.role}-id`);
      const metrics = policies.find((r) => r.name === `${profile}-metrics`)!;
      expect(JSON.parse(unwrap(metrics.inputs.policy)).Statement).toEqual([{
        Sid: "PublishHostMetrics", Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*",
        Condition: { StringEquals: { "cloudwatch:namespace": HOST_METRICS_NAMESPACE } },
      }]);
    }
    expect(p.violations).toEqual([]);
  });
});
