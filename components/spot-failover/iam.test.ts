/**
 * The reconciler's IAM policy is exactly what the reconciler calls: every AWS call it makes (driven
 * through every kind of write against the FakeAccount) is allowed on the resource it targets, and
 * the policy grants nothing it never calls.
 */
import { createReconciler } from "../../functions/spot-reconciler/reconcile";
import { COVERED_SINCE_TAG, fingerprint } from "../../functions/spot-reconciler/decide";
import { FakeAccount } from "../../functions/spot-reconciler/testing/fake-account";
import { directClients } from "../../functions/spot-reconciler/testing/mock-clients";
import { FLEET_ID, scenarioAccount, scenarioConfig, SPOT_IDS, TG_ARN } from "../../functions/spot-reconciler/testing/scenario";
import type { ReconcilerConfig } from "../../functions/spot-reconciler/config";
import { PolicyStatement, reconcilerPolicy } from "./iam";

const SERVICE: Record<string, string> = {
  DescribeInstances: "ec2", DescribeLaunchTemplates: "ec2", DescribeSpotInstanceRequests: "ec2", DescribeSpotFleetRequests: "ec2", DescribeSpotFleetInstances: "ec2", ModifySpotFleetRequest: "ec2",
  DescribeAutoScalingGroups: "autoscaling", DescribeScalingActivities: "autoscaling", SetDesiredCapacity: "autoscaling", CreateOrUpdateTags: "autoscaling", DeleteTags: "autoscaling",
  DescribeTargetHealth: "elasticloadbalancing", DescribeTargetGroups: "elasticloadbalancing", ModifyTargetGroup: "elasticloadbalancing", DeregisterTargets: "elasticloadbalancing",
  TerminateInstances: "ec2", CreateTags: "ec2",
};
const ARNS = {
  logGroupArn: "arn:aws:logs:us-east-2:123456789012:log-group:/opsfleet/web",
  onDemandAsgArn: "arn:aws:autoscaling:us-east-2:123456789012:autoScalingGroup:u1:autoScalingGroupName/web-ondemand",
  spotAsgArn: "arn:aws:autoscaling:us-east-2:123456789012:autoScalingGroup:u2:autoScalingGroupName/web-spot",
  spotFleetArn: "arn:aws:ec2:us-east-2:123456789012:spot-fleet-request/sfr-c8a764a4-bedc-4b62-af9c-0095e6e3ba61",
  queueArn: "arn:aws:sqs:us-east-2:123456789012:web-reconcile.fifo",
  targetGroupArn: TG_ARN,
};
const FLEET_INSTANCES = "arn:aws:ec2:us-east-2:123456789012:instance/*";
const schedule = { version: "0", id: "s", "detail-type": "Scheduled Event", source: "aws.events", account: "123456789012", time: "2026-03-01T10:00:00Z", region: "us-east-2", resources: [], detail: {} };

/** The ARN a call acts on, as IAM sees it (Describe calls: "*"). */
function resourceOf(command: string, input: any): string {
  if (command.startsWith("Describe")) return "*";
  if (command === "ModifySpotFleetRequest") return input.SpotFleetRequestId === "sfr-c8a764a4-bedc-4b62-af9c-0095e6e3ba61" ? ARNS.spotFleetArn : "unknown-fleet";
  if (command === "ModifyTargetGroup" || command === "DeregisterTargets") return input.TargetGroupArn === TG_ARN ? TG_ARN : "unknown-target-group";
  // The policy allows instances tagged with this fleet's id: the ones the fleet launched (its active members here).
  if (command === "TerminateInstances") return input.InstanceIds.every((id: string) => fleetMembers.has(id)) ? FLEET_INSTANCES : "instance-outside-the-fleet";
  if (command === "CreateTags") return input.Resources.every((id: string) => fleetMembers.has(id)) ? FLEET_INSTANCES : "instance-outside-the-fleet";
  const group = input.AutoScalingGroupName ?? input.Tags?.[0]?.ResourceId;
  return group === "web-ondemand" ? ARNS.onDemandAsgArn : group === "web-spot" ? ARNS.spotAsgArn : `unknown-group:${group}`;
}

/** Runs the reconciler through scale-up, drift repair, coverage mark/clear and scale-down; returns every call. */
const fleetMembers = new Set<string>();

async function exercise(source: "fleet" | "asg") {
  const calls: { action: string; resource: string; input: any }[] = [];
  const run = async (setup: (a: FakeAccount) => void, over: Partial<ReconcilerConfig> = {}, now = Date.parse(schedule.time)) => {
    const account = scenarioAccount(source);
    setup(account);
    fleetMembers.clear();
    for (const id of account.fleet?.active ?? []) fleetMembers.add(id);
    const reconcile = createReconciler({ clients: directClients(account), config: scenarioConfig(source, { stabilizationSeconds: 60, healthCheckPath: "/health", ...over }), logger: { info() {}, warn() {}, error() {} } as any, metrics: { addMetric() {}, publishStoredMetrics() {} }, now: () => now });
    const r = await reconcile(schedule);
    for (const c of account.calls) {
      const name = c.command.replace(/Command$/, "");
      calls.push({ action: `${SERVICE[name] ?? "?"}:${name}`, resource: resourceOf(name, c.input), input: c.input });
    }
    return r.reconciled ? r.decision.action.kind : "ignored";
  };
  const od = (a: FakeAccount) => a.groups.get("web-ondemand")!;
  expect(await run((a) => a.setSpotStatus(SPOT_IDS[0], "marked-for-termination"))).toBe("set-on-demand-desired");
  expect(await run((a) => (source === "fleet" ? (a.fleet!.target = 1) : (a.groups.get("web-spot")!.desired = 1)))).toBe("set-spot-requested");
  expect(await run((a) => { od(a).desired = 1; })).toBe("mark-covered");
  expect(await run((a) => { od(a).desired = 1; a.targetHealth.set(SPOT_IDS[0], "unhealthy"); od(a).tags.set(COVERED_SINCE_TAG, "x"); })).toBe("clear-covered");
  const covered = "2026-03-01T09:00:00.000Z|1|";
  expect(await run((a) => {
    od(a).desired = 1;
    // a valid tag for this exact instance set, as the reconciler would have written it an hour ago
    od(a).tags.set(COVERED_SINCE_TAG, covered + fingerprint(SPOT_IDS, []));
  })).toBe("set-on-demand-desired");
  expect(await run(() => {}, { healthCheckPath: "/healthz", launchTemplateId: "lt-0123456789abcdef0" })).toBe("set-health-check-path");
  // an `up` in progress updated the template past this configuration: the switch waits
  expect(await run((a) => { a.launchTemplateLatestVersion = 3; }, { healthCheckPath: "/healthz", launchTemplateId: "lt-0123456789abcdef0", launchTemplateVersion: "2" })).toBe("none");
  if (source === "fleet") {
    const rolling = (a: FakeAccount, drained: boolean) => {
      for (const id of SPOT_IDS) a.instances.get(id)!.templateVersion = "1";
      const surge = a.addInstance({ spot: true, templateVersion: "2" });
      a.targetHealth.set(surge.id, "healthy");
      a.fleet!.active.push(surge.id);
      a.fleet!.target = 3;
      if (drained) { a.targetHealth.delete(SPOT_IDS[0]); a.instances.get(SPOT_IDS[0])!.tags = new Map([["opsfleet:retiring", "x"]]); }
    };
    expect(await run((a) => rolling(a, false), { launchTemplateVersion: "2" })).toBe("retire-deregister");
    expect(await run((a) => rolling(a, true), { launchTemplateVersion: "2" })).toBe("retire-terminate");
  }
  return calls;
}

const allows = (statements: PolicyStatement[], action: string, resource: string, input: any) =>
  statements.some((s) => {
    if (!s.Action.includes(action)) return false;
    const resources = ([] as string[]).concat(s.Resource);
    if (!resources.includes("*") && !resources.includes(resource)) return false;
    const keys = s.Condition?.["ForAllValues:StringEquals"]?.["aws:TagKeys"];
    return keys === undefined || (input.Tags ?? []).every((t: any) => ([] as string[]).concat(keys).includes(t.Key));
  });

describe.each(["fleet", "asg"] as const)("reconciler policy for spot source %s", (source) => {
  const policy = reconcilerPolicy({ ...ARNS, ...(source === "fleet" ? { spotAsgArn: undefined } : { spotFleetArn: undefined }) });
  const awsStatements = policy.Statement.filter((s) => !["Logs", "ConsumeWakeUps"].includes(s.Sid));
  let calls: Awaited<ReturnType<typeof exercise>>;
  beforeAll(async () => { calls = await exercise(source); });

  test("allows every call the reconciler makes, on the resource it targets", () => {
    const denied = calls.filter((c) => !allows(awsStatements, c.action, c.resource, c.input)).map((c) => `${c.action} on ${c.resource}`);
    expect([...new Set(denied)]).toEqual([]);
  });

  test("the event source mapping may receive, delete and read attributes on the wake-up queue only; nothing may send to it or invoke anything", () => {
    const sqs = policy.Statement.filter((s) => s.Action.some((a) => a.startsWith("sqs:") || a.startsWith("lambda:")));
    expect(sqs).toEqual([{ Sid: "ConsumeWakeUps", Effect: "Allow", Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], Resource: ARNS.queueArn }]);
  });

  test("terminate (fleet only): instances tagged with this fleet's request id, nothing else", () => {
    const t = policy.Statement.filter((s) => s.Action.includes("ec2:TerminateInstances"));
    if (source === "asg") return expect(t).toEqual([]);
    expect(t).toEqual([{ Sid: "RollFleetTerminate", Effect: "Allow", Action: ["ec2:TerminateInstances"], Resource: FLEET_INSTANCES, Condition: { StringEquals: { "ec2:ResourceTag/aws:ec2spot:fleet-request-id": FLEET_ID } } }]);
  });

  test("grants no action the reconciler never calls", () => {
    const used = new Set(calls.map((c) => c.action));
    expect(awsStatements.flatMap((s) => s.Action).filter((a) => !used.has(a))).toEqual([]);
  });
});
