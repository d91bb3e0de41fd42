import { ENV, readConfig } from "./config";

const TG = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/web/0123456789abcdef";
const base = { [ENV.spotSource]: "fleet", [ENV.spotFleetRequestId]: "sfr-1", [ENV.onDemandAsgName]: "web-od", [ENV.targetGroupArn]: TG, [ENV.targetCapacity]: "2" };

test("defaults: 600 s window, rebalance not lost, 180 s hint age", () => {
  expect(readConfig(base)).toEqual({
    spotSource: "fleet", spotFleetRequestId: "sfr-1", spotAsgName: undefined, onDemandAsgName: "web-od", targetGroupArn: TG,
    targetCapacity: 2, stabilizationSeconds: 600, rebalanceCountsAsLost: false, maxHintAgeSeconds: 180,
  });
});

test("asg source needs SPOT_ASG_NAME, not the fleet id", () => {
  const { [ENV.spotFleetRequestId]: _drop, ...rest } = base;
  expect(() => readConfig({ ...rest, [ENV.spotSource]: "asg" })).toThrow("SPOT_ASG_NAME is required");
  expect(readConfig({ ...rest, [ENV.spotSource]: "asg", [ENV.spotAsgName]: "web-spot" }).spotAsgName).toBe("web-spot");
});

test.each([
  [{ [ENV.spotSource]: "ondemand" }, 'SPOT_SOURCE must be "fleet" or "asg" (got "ondemand")'],
  [{ [ENV.targetCapacity]: "0" }, 'TARGET_CAPACITY must be an integer >= 1 (got "0")'],
  [{ [ENV.targetCapacity]: "two" }, 'TARGET_CAPACITY must be an integer >= 1 (got "two")'],
  [{ [ENV.targetCapacity]: undefined }, "TARGET_CAPACITY is required"],
  [{ [ENV.stabilizationSeconds]: "-5" }, "STABILIZATION_SECONDS must be an integer >= 0"],
  [{ [ENV.rebalanceCountsAsLost]: "yes" }, 'REBALANCE_COUNTS_AS_LOST must be "true" or "false" (got "yes")'],
  [{ [ENV.targetGroupArn]: "web-tg" }, 'TARGET_GROUP_ARN must be a target group ARN (got "web-tg")'],
  [{ [ENV.onDemandAsgName]: " " }, "ON_DEMAND_ASG_NAME is required"],
  [{ [ENV.spotFleetRequestId]: "" }, "SPOT_FLEET_REQUEST_ID is required"],
  [{ [ENV.queueArn]: "arn:aws:sqs:us-east-2:123456789012:web-reconcile" }, "RECONCILE_QUEUE_ARN must be an SQS FIFO queue ARN"],
  [{ [ENV.launchTemplateId]: "web-lt" }, 'LAUNCH_TEMPLATE_ID must be a launch template id (got "web-lt")'],
])("bad environment %j is refused naming the variable", (over, message) => {
  expect(() => readConfig({ ...base, ...over })).toThrow(message);
});

test("LAUNCH_TEMPLATE_ID (the tier's template: its instances' events are ours) is read when set", () => {
  expect(readConfig({ ...base, [ENV.launchTemplateId]: "lt-0123456789abcdef0" }).launchTemplateId).toBe("lt-0123456789abcdef0");
});
