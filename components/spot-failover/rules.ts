/**
 * EventBridge rules that wake the reconciler. They are wake-ups only (the reconciler decides from
 * observed state), so they may be broad where AWS offers no scoping (instance events carry no tags)
 * and are scoped where it does: Spot Fleet events by the fleet ARN, Auto Scaling events by group name.
 */

export interface RuleSpec {
  /** Resource-name role, e.g. "interruption" (rule `${name}-rule-interruption`). */
  role: string;
  description: string;
  eventPattern?: Record<string, unknown>;
  scheduleExpression?: string;
}

export interface RuleScope {
  spotFleetArn?: string;
  /** Names of the on-demand ASG and (source `asg`) the spot ASG. */
  groupNames: string[];
}

export const SCHEDULE_EXPRESSION = "rate(1 minute)";

export function reconcilerRules(s: RuleScope): RuleSpec[] {
  const rules: RuleSpec[] = [
    {
      role: "interruption",
      description: "Spot interruption warnings (best effort; a warning alone is a hint)",
      eventPattern: { source: ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"] },
    },
    {
      role: "rebalance",
      description: "Instance rebalance recommendations",
      eventPattern: { source: ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"] },
    },
    {
      role: "state-change",
      description: "Instances becoming running or going away",
      eventPattern: {
        source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
        detail: { state: ["running", "shutting-down", "terminated", "stopping", "stopped"] },
      },
    },
    {
      role: "autoscaling",
      description: "Launches and terminations of the on-demand (and spot) Auto Scaling groups",
      eventPattern: {
        source: ["aws.autoscaling"],
        "detail-type": ["EC2 Instance Launch Successful", "EC2 Instance Launch Unsuccessful", "EC2 Instance Terminate Successful"],
        detail: { AutoScalingGroupName: s.groupNames },
      },
    },
    { role: "schedule", description: "Safety net: reconcile every minute whatever events were lost", scheduleExpression: SCHEDULE_EXPRESSION },
  ];
  if (s.spotFleetArn)
    rules.splice(3, 0, {
      role: "spot-fleet",
      description: "Events of this Spot Fleet request only",
      eventPattern: { source: ["aws.ec2spotfleet"], resources: [s.spotFleetArn] },
    });
  return rules;
}
