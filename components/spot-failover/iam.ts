/**
 * IAM documents for the reconciler (pure, so the scoping is tested without Pulumi).
 * Describe* actions have no resource-level support in EC2 / Auto Scaling / ELBv2, so they take "*";
 * every write is scoped to an ARN this component created.
 */
import { COVERED_SINCE_TAG, RETIRING_TAG } from "../../functions/spot-reconciler/decide";

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/** Read-only calls of observe.ts per spot source; none of them supports resource-level permissions. */
export const RECONCILER_READ_ACTIONS = {
  fleet: [
    "ec2:DescribeSpotFleetRequests",
    "ec2:DescribeSpotFleetInstances",
    "ec2:DescribeSpotInstanceRequests",
    "ec2:DescribeInstances",
    "ec2:DescribeLaunchTemplates",
    "autoscaling:DescribeAutoScalingGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTargetGroups",
  ],
  asg: [
    "ec2:DescribeSpotInstanceRequests",
    "ec2:DescribeInstances",
    "ec2:DescribeLaunchTemplates",
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeScalingActivities",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTargetGroups",
  ],
} as const;

/** Tag Spot Fleet puts on every instance it launches: the only instances the reconciler may terminate. */
export const FLEET_REQUEST_ID_TAG = "aws:ec2spot:fleet-request-id";

export interface ReconcilerPolicyArns {
  logGroupArn: string;
  onDemandAsgArn: string;
  /** Spot ASG (source `asg`). */
  spotAsgArn?: string;
  /** Spot Fleet request (source `fleet`). */
  spotFleetArn?: string;
  /** The SQS FIFO queue whose messages invoke the reconciler (the event source mapping polls it with this role). */
  queueArn: string;
  /** The tier's target group (health-check path switch; fleet: deregistering retired instances). */
  targetGroupArn: string;
}

/** What the Lambda event source mapping needs on its queue (the reconciler's code never calls SQS). */
export const QUEUE_CONSUMER_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"] as const;

export function reconcilerPolicy(a: ReconcilerPolicyArns): PolicyDocument {
  const statements: PolicyStatement[] = [
    { Sid: "Observe", Effect: "Allow", Action: [...RECONCILER_READ_ACTIONS[a.spotFleetArn ? "fleet" : "asg"]], Resource: "*" },
    { Sid: "ScaleGroups", Effect: "Allow", Action: ["autoscaling:SetDesiredCapacity"], Resource: [a.onDemandAsgArn, ...(a.spotAsgArn ? [a.spotAsgArn] : [])] },
    {
      Sid: "CoverageTag",
      Effect: "Allow",
      Action: ["autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags"],
      Resource: a.onDemandAsgArn,
      Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": [COVERED_SINCE_TAG] } },
    },
    { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [a.logGroupArn, `${a.logGroupArn}:*`] },
    { Sid: "ConsumeWakeUps", Effect: "Allow", Action: [...QUEUE_CONSUMER_ACTIONS], Resource: a.queueArn },
  ];
  statements.push({ Sid: "HealthCheckPath", Effect: "Allow", Action: ["elasticloadbalancing:ModifyTargetGroup"], Resource: a.targetGroupArn });
  if (a.spotFleetArn) {
    statements.push({ Sid: "SpotFleetCapacity", Effect: "Allow", Action: ["ec2:ModifySpotFleetRequest"], Resource: a.spotFleetArn });
    // Rolling replacement: drain one fleet instance, then terminate it — only instances of this fleet.
    statements.push({ Sid: "RollFleetDrain", Effect: "Allow", Action: ["elasticloadbalancing:DeregisterTargets"], Resource: a.targetGroupArn });
    const [, partition, , region, account, fleetResource] = /^arn:([^:]+):([^:]+):([^:]+):(\d{12}):spot-fleet-request\/(.+)$/.exec(a.spotFleetArn) ?? [];
    if (!fleetResource) throw new Error(`not a Spot Fleet request ARN: ${a.spotFleetArn}`);
    // Marks what it drains (only marked instances are ever terminated): this one tag key, this fleet's instances.
    statements.push({
      Sid: "RollFleetMark", Effect: "Allow", Action: ["ec2:CreateTags"], Resource: `arn:${partition}:ec2:${region}:${account}:instance/*`,
      Condition: {
        StringEquals: { [`ec2:ResourceTag/${FLEET_REQUEST_ID_TAG}`]: fleetResource },
        "ForAllValues:StringEquals": { "aws:TagKeys": [RETIRING_TAG] },
      },
    });
    statements.push({
      Sid: "RollFleetTerminate", Effect: "Allow", Action: ["ec2:TerminateInstances"], Resource: `arn:${partition}:ec2:${region}:${account}:instance/*`,
      Condition: { StringEquals: { [`ec2:ResourceTag/${FLEET_REQUEST_ID_TAG}`]: fleetResource } },
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** Trust policy: who may assume a role (principal form, no Resource). */
export const trustPolicy = (service: string) => JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
});

/** AWS managed policy for the Spot Fleet role (tags instances, registers them in target groups). */
export const SPOT_FLEET_TAGGING_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEC2SpotFleetTaggingRole";

/**
 * Queue policy: EventBridge may send to this queue, only on behalf of our rules (the wake-up queue:
 * events; the EventBridge dead-letter queue: events it could not deliver).
 */
export function eventBridgeSendPolicy(queueArn: string, ruleArns: string[], sid: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{
      Sid: sid, Effect: "Allow", Principal: { Service: "events.amazonaws.com" },
      Action: "sqs:SendMessage", Resource: queueArn, Condition: { ArnEquals: { "aws:SourceArn": ruleArns } },
    }],
  });
}
