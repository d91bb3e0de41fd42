/**
 * Monitoring of one stack: an encrypted SNS topic with the configured subscribers, every alarm of
 * `planAlarms` (ALARM and OK both notify the topic), and the dashboard of `dashboardBody`.
 *
 * The topic is encrypted with a customer-managed KMS key: CloudWatch alarms can publish to an
 * encrypted topic only if the key policy lets cloudwatch.amazonaws.com use the key (kms:Decrypt,
 * kms:GenerateDataKey*), and the AWS-managed alias/aws/sns key's policy cannot be changed
 * (SNS developer guide, "Enable compatibility between event sources from AWS services and
 * encrypted topics"). Both the key and the topic admit CloudWatch only for this stack's alarms.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { dashboardBody } from "./dashboard";
import { planAlarms, type AlarmKindId, type AlarmSpec, type MonitoredStack, type Thresholds } from "./alarms";

export interface MonitoringArgs {
  monitored: MonitoredStack;
  thresholds: Thresholds;
  region: string;
  /** Email subscribers (each confirms once). @default [] */
  emails?: string[];
  /** HTTPS subscribers (SNS confirms them with a request). @default [] */
  httpsEndpoints?: string[];
  tags?: Record<string, string>;
  /**
   * Resources an alarm kind is created/updated after: an alarm whose threshold follows a count (e.g.
   * `redis-known-nodes`) waits for the step that makes the cluster match that count, so a scale-out
   * does not raise it before the new nodes have joined.
   */
  alarmsAfter?: Partial<Record<AlarmKindId, pulumi.Resource[]>>;
  /**
   * Per host name, the step after which its publishers run (the host's health-check step, its last
   * step). An alarm that treats missing data as breaching is created after its hosts' steps
   * (`AlarmSpec.publishedBy`); a host missing here is an error, since the alarm would page on
   * every first deploy. @default {}
   */
  hostsReady?: Record<string, pulumi.Resource>;
}

/**
 * The ARNs of exactly this stack's alarms. A name prefix (`alarm:<stack>-*`) would also admit the
 * alarms of stack `<stack>-eu`, since stack names may contain "-"; the list is exact.
 */
export function alarmArns(account: string, region: string, alarmNames: readonly string[]): string[] {
  return [...alarmNames].sort().map((n) => `arn:aws:cloudwatch:${region}:${account}:alarm:${n}`);
}

/** CloudWatch may act only for these alarms of this account (confused-deputy conditions). */
const fromAlarms = (account: string, arns: string[]) => ({ StringEquals: { "aws:SourceAccount": account }, ArnEquals: { "aws:SourceArn": arns } });

/** Policy size limits: KMS key policies 32 KB, SNS topic policies 30 KB. */
const POLICY_LIMITS = { key: 32 * 1024, topic: 30 * 1024 } as const;
function sized(which: keyof typeof POLICY_LIMITS, policy: string, alarms: number): string {
  if (Buffer.byteLength(policy) > POLICY_LIMITS[which]) {
    throw new Error(`monitoring: the alarm ${which} policy lists ${alarms} alarms and is ${Buffer.byteLength(policy)} bytes; allowed: at most ${POLICY_LIMITS[which]} bytes (fewer hosts per stack)`);
  }
  return policy;
}

/** Key policy (pure): the account administers the key; CloudWatch may use it for this stack's alarms only. */
export function alertsKeyPolicy(account: string, region: string, alarmNames: readonly string[]): string {
  const arns = alarmArns(account, region, alarmNames);
  return sized("key", JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "kms:*", Resource: "*" },
      // no alarms (every feature off): no CloudWatch statement (an empty aws:SourceArn list admits nothing and is refused)
      ...(arns.length ? [{
        Sid: "CloudWatchAlarmsPublish", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"], Resource: "*",
        Condition: fromAlarms(account, arns),
      }] : []),
    ],
  }), arns.length);
}

/** Topic policy (pure): the account manages it, this stack's alarms publish, nothing over plain HTTP. */
export function alertsTopicPolicy(topicArn: string, account: string, region: string, alarmNames: readonly string[]): string {
  const arns = alarmArns(account, region, alarmNames);
  return sized("topic", JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AccountManages", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish", "sns:Receive"],
        Resource: topicArn,
      },
      ...(arns.length ? [{
        Sid: "CloudWatchAlarmsPublish", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "sns:Publish", Resource: topicArn,
        Condition: fromAlarms(account, arns),
      }] : []),
      { Sid: "TlsOnly", Effect: "Deny", Principal: "*", Action: "sns:Publish", Resource: topicArn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
    ],
  }), arns.length);
}

/** Stable resource-name suffix of a subscriber (order in the config list does not matter). */
export const subscriberId = (endpoint: string) => createHash("sha256").update(endpoint).digest("hex").slice(0, 10);

function missingHost(alarm: string, host: string): never {
  throw new Error(`monitoring: alarm ${alarm} waits for host ${host}, which is not in hostsReady; allowed: hosts whose health-check step is known`);
}

export class Monitoring extends pulumi.ComponentResource {
  public readonly topicArn: pulumi.Output<string>;
  public readonly dashboardName: pulumi.Output<string>;
  /** Alarm definitions, in creation order (the plan and the README read them). */
  public readonly alarmSpecs: AlarmSpec[];
  public readonly alarms: aws.cloudwatch.MetricAlarm[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    const specs = planAlarms(args.monitored, args.thresholds); // pure, before anything is registered
    // the policies' size limits, checked before anything is registered (account ids have a fixed length)
    const names = specs.map((s) => s.name);
    alertsKeyPolicy("000000000000", args.region, names);
    alertsTopicPolicy(`arn:aws:sns:${args.region}:000000000000:${name}-alerts-0000000`, "000000000000", args.region, names);
    super("opsfleet:index:Monitoring", name, {}, opts);
    const parent = this;
    const tags = { ...(args.tags ?? {}) };
    const stack = args.monitored.stack;
    const alarmNames = names;
    const account = aws.getCallerIdentityOutput({}, { parent }).accountId;

    const key = new aws.kms.Key(`${name}-alerts`, {
      description: `opsfleet ${stack}: encrypts the alarm topic (CloudWatch may use it for this stack's alarms)`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: account.apply((a) => alertsKeyPolicy(a, args.region, alarmNames)),
      tags,
    }, { parent });
    new aws.kms.Alias(`${name}-alerts`, { name: `alias/opsfleet-${stack}-alerts`, targetKeyId: key.keyId }, { parent });
    const topic = new aws.sns.Topic(`${name}-alerts`, {
      displayName: `opsfleet ${stack} alarms`,
      kmsMasterKeyId: key.arn,
      tags,
    }, { parent });
    // alarms are created/updated after the policies that admit their exact ARNs (the key's policy
    // is ordered before the topic, which every alarm references): a new alarm never fires unadmitted
    const topicPolicy = new aws.sns.TopicPolicy(`${name}-alerts`, {
      arn: topic.arn,
      policy: pulumi.all([topic.arn, account]).apply(([t, a]) => alertsTopicPolicy(t, a, args.region, alarmNames)),
    }, { parent });
    for (const email of args.emails ?? []) {
      new aws.sns.TopicSubscription(`${name}-email-${subscriberId(email)}`, { topic: topic.arn, protocol: "email", endpoint: email }, { parent });
    }
    for (const url of args.httpsEndpoints ?? []) {
      new aws.sns.TopicSubscription(`${name}-https-${subscriberId(url)}`, { topic: topic.arn, protocol: "https", endpoint: url, endpointAutoConfirms: false }, { parent });
    }
    this.topicArn = topic.arn;

    this.alarmSpecs = specs;
    const readyOf = (s: AlarmSpec) => (s.publishedBy ?? []).map((h) => args.hostsReady?.[h] ?? missingHost(s.name, h));
    this.alarms = specs.map((s) => new aws.cloudwatch.MetricAlarm(s.name, {
      name: s.name,
      alarmDescription: s.description.slice(0, 1024),
      comparisonOperator: s.comparison,
      threshold: s.threshold,
      period: s.metric ? s.period : undefined,
      evaluationPeriods: s.evaluationPeriods,
      datapointsToAlarm: s.datapointsToAlarm,
      treatMissingData: s.treatMissingData,
      ...(s.metric
        ? { namespace: s.metric.namespace, metricName: s.metric.metricName, dimensions: s.metric.dimensions, statistic: s.metric.statistic }
        : {
            metricQueries: [
              { id: "e1", expression: s.math!.expression, label: s.math!.label, returnData: true },
              ...s.math!.metrics.map((m) => ({
                id: m.id, returnData: false,
                metric: { namespace: m.namespace, metricName: m.metricName, dimensions: m.dimensions, stat: m.statistic, period: s.period },
              })),
            ],
          }),
      alarmActions: [topic.arn, ...(s.extraAlarmActions?.(args.region) ?? [])],
      okActions: [topic.arn],
      tags,
    }, { parent, dependsOn: [topicPolicy, ...(args.alarmsAfter?.[s.kind] ?? []), ...readyOf(s)] }));

    const dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, {
      dashboardName: `opsfleet-${stack}`,
      dashboardBody: pulumi.output(dashboardBody(args.monitored, args.region) as unknown as pulumi.Input<Record<string, unknown>>).apply((b) => JSON.stringify(b)),
    }, { parent });
    this.dashboardName = dashboard.dashboardName;
    this.registerOutputs({ topicArn: this.topicArn, dashboardName: this.dashboardName });
  }
}
