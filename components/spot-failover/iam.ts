/**
 * IAM documents for the reconciler (pure, so the scoping is tested without Pulumi).
 * Describe* actions have no resource-level support in EC2 / Auto Scaling / ELBv2, so they take "*";
 * every write is scoped to an ARN this component created.
 */
import { COVERED_SINCE_TAG } from "../../functions/spot-reconciler/decide";

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
    "autoscaling:DescribeAutoScalingGroups",
    "elasticloadbalancing:DescribeTargetHealth",
  ],
  asg: [
    "ec2:DescribeSpotInstanceRequests",
    "ec2:DescribeInstances",
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeScalingActivities",
    "elasticloadbalancing:DescribeTargetHealth",
  ],
} as const;

export interface ReconcilerPolicyArns {
  logGroupArn: string;
  onDemandAsgArn: string;
  /** Spot ASG (source `asg`). */
  spotAsgArn?: string;
  /** Spot Fleet request (source `fleet`). */
  spotFleetArn?: string;
  /** The SQS FIFO queue whose messages invoke the reconciler (the event source mapping polls it with this role). */
  queueArn: string;
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
  if (a.spotFleetArn) statements.push({ Sid: "SpotFleetCapacity", Effect: "Allow", Action: ["ec2:ModifySpotFleetRequest"], Resource: a.spotFleetArn });
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
