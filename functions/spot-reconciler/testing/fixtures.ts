/** The EventBridge fixtures (test/fixtures/aws-events) and what the reconciler must make of each (test helper). */
import * as fs from "node:fs";
import * as path from "node:path";
import { classifyEvent } from "../events";

export const FIXTURES = path.join(__dirname, "../../../test/fixtures/aws-events");
export const fixture = (name: string): unknown => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), "utf8"));

export type Expect = "malformed" | "foreign" | "none" | "scale-up-1";
/** Expected outcome of every fixture, per spot source. A new fixture must be added here. */
export const EXPECTED: Record<string, { fleet: Expect; asg: Expect }> = {
  "asg-launch-successful.json": { fleet: "none", asg: "none" },
  // i-abcd1111 (the AWS sample's id) is no instance of the tier: one DescribeInstances, then ignored.
  "instance-state-change-running.json": { fleet: "foreign", asg: "foreign" },
  "rebalance-recommendation.json": { fleet: "none", asg: "none" },
  "scheduled-reconcile.json": { fleet: "none", asg: "none" },
  "spot-fleet-error.json": { fleet: "foreign", asg: "foreign" },
  "spot-fleet-instance-change.json": { fleet: "none", asg: "foreign" },
  "spot-interruption-warning.json": { fleet: "scale-up-1", asg: "scale-up-1" },
  "variant-asg-launch-missing-group.json": { fleet: "malformed", asg: "malformed" },
  "variant-asg-launch-successful-other-group.json": { fleet: "foreign", asg: "foreign" },
  "variant-asg-launch-unsuccessful.json": { fleet: "none", asg: "none" },
  "variant-instance-state-change-missing-state.json": { fleet: "malformed", asg: "malformed" },
  "variant-instance-state-change-shutting-down.json": { fleet: "none", asg: "none" },
  "variant-interruption-warning-detail-not-object.json": { fleet: "malformed", asg: "malformed" },
  "variant-interruption-warning-foreign-instance.json": { fleet: "foreign", asg: "foreign" },
  "variant-interruption-warning-invalid-instance-id.json": { fleet: "malformed", asg: "malformed" },
  "variant-interruption-warning-malformed-resources.json": { fleet: "scale-up-1", asg: "scale-up-1" },
  "variant-interruption-warning-missing-instance-id.json": { fleet: "malformed", asg: "malformed" },
  "variant-interruption-warning-stale.json": { fleet: "none", asg: "none" },
  "variant-not-an-eventbridge-event.json": { fleet: "malformed", asg: "malformed" },
  "variant-spot-fleet-error-own-fleet.json": { fleet: "none", asg: "foreign" },
  "variant-spot-fleet-instance-change-other-fleet.json": { fleet: "foreign", asg: "foreign" },
  "variant-unknown-detail-type.json": { fleet: "foreign", asg: "foreign" },
};


/**
 * AWS calls the reconciler may make before it ignores a fixture: none, except for an instance event
 * (EventBridge matches every instance of the account): one DescribeInstances scoped by its id.
 */
export function callsBeforeIgnoring(name: string): { command: string; input: unknown }[] {
  const wake = classifyEvent(fixture(name), { onDemandAsgName: "web-ondemand" });
  return wake.kind === "instance" ? [{ command: "DescribeInstancesCommand", input: { Filters: [{ Name: "instance-id", Values: [wake.instanceId] }] } }] : [];
}
