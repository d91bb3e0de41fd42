import { classifyEvent } from "./events";

const scope = { spotFleetRequestId: "sfr-abc", onDemandAsgName: "web-od", spotAsgName: "web-spot" };
const ev = (o: Record<string, unknown>) => ({ version: "0", id: "x", account: "123456789012", region: "us-east-2", time: "2026-03-01T10:00:00Z", resources: [], ...o });

test.each([
  [null, /null/],
  ["a string", /string/],
  [[1, 2], /expected an object|missing/],
  [{ source: "aws.ec2" }, /detail-type/],
])("non-events are malformed: %j", (raw, problem) => {
  expect(classifyEvent(raw, scope)).toEqual({ kind: "malformed", problem: expect.stringMatching(problem) });
});

test("instance events carry id, time and state", () => {
  expect(classifyEvent(ev({ source: "aws.ec2", "detail-type": "EC2 Instance State-change Notification", detail: { "instance-id": "i-0123456789abcdef0", state: "terminated" } }), scope))
    .toEqual({ kind: "instance", detailType: "EC2 Instance State-change Notification", instanceId: "i-0123456789abcdef0", eventMs: Date.parse("2026-03-01T10:00:00Z"), state: "terminated" });
});

test("an instance event with a bad time is malformed (its age cannot be judged)", () => {
  expect(classifyEvent(ev({ source: "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning", time: "soon", detail: { "instance-id": "i-0123456789abcdef0" } }), scope).kind).toBe("malformed");
});

test("spot fleet events are scoped by the fleet in resources", () => {
  const mine = ev({ source: "aws.ec2spotfleet", "detail-type": "EC2 Spot Fleet State Change", resources: ["arn:aws:ec2:us-east-2:123456789012:spot-fleet-request/sfr-abc"], detail: { "sub-type": "modify_succeeded" } });
  expect(classifyEvent(mine, scope)).toEqual({ kind: "spot-fleet", detailType: "EC2 Spot Fleet State Change", subType: "modify_succeeded" });
  expect(classifyEvent({ ...mine, resources: ["arn:aws:ec2:us-east-2:123456789012:spot-fleet-request/sfr-abcd"] }, scope).kind).toBe("foreign");
  expect(classifyEvent(mine, { onDemandAsgName: "web-od", spotAsgName: "web-spot" }).kind).toBe("foreign");
});

test("auto scaling events of either group are ours", () => {
  for (const g of ["web-od", "web-spot"])
    expect(classifyEvent(ev({ source: "aws.autoscaling", "detail-type": "EC2 Instance Terminate Successful", detail: { AutoScalingGroupName: g } }), scope)).toMatchObject({ kind: "autoscaling", groupName: g });
});
