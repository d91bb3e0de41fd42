/**
 * Monitoring as the offline plan shows it, for every stack file: host identities (instance
 * profiles that may only publish metrics), and (below) the topic, alarms and dashboard.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildPlan, type Plan, type PlanResource } from "../tools/plan-core";
import { hostMetricsNamespace } from "../provision/monitoring/namespace";

const ROOT = path.join(__dirname, "..");
const STACKS = fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5)).sort();
const plans: Record<string, Plan> = {};

beforeAll(async () => {
  for (const stack of STACKS) plans[stack] = await buildPlan({ stack, root: ROOT });
}, 300_000);

const ofType = (p: Plan, type: string) => p.resources.filter((r) => r.type === type);
const unwrap = (v: unknown): any => (v && typeof v === "object" && "$secret" in (v as object) ? unwrap((v as { $secret: unknown }).$secret) : v);

describe.each(STACKS)("plan of stack %s", (stack) => {
  const plan = () => plans[stack];

  test("every host runs with its group's instance profile, which may publish host metrics only to this stack's namespace", () => {
    const p = plan();
    const profiles = new Map(ofType(p, "aws:iam/instanceProfile:InstanceProfile").map((r) => [r.name, r]));
    const hostInstances = ofType(p, "aws:ec2/instance:Instance");
    expect(hostInstances.filter((r) => r.name.endsWith("-bastion"))).toHaveLength(1);
    expect(hostInstances.length).toBeGreaterThan(0);
    for (const i of hostInstances) {
      const profile = String(i.inputs.iamInstanceProfile);
      expect(profiles.has(profile)).toBe(true);
      const policies = ofType(p, "aws:iam/rolePolicy:RolePolicy").filter((r: PlanResource) => r.inputs.role === `${profiles.get(profile)!.inputs.role}-id`);
      const metrics = policies.find((r) => r.name === `${profile}-metrics`)!;
      expect(JSON.parse(unwrap(metrics.inputs.policy)).Statement).toEqual([{
        Sid: "PublishHostMetrics", Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*",
        Condition: { StringEquals: { "cloudwatch:namespace": hostMetricsNamespace(stack) } },
      }]);
    }
    expect(p.violations).toEqual([]);
  });

  test("each Redis host has its own role: its backup writes go to its own prefix only, no role may write another host's prefix", () => {
    const p = plan();
    const docs = (role: string) => ofType(p, "aws:iam/rolePolicy:RolePolicy").filter((r) => r.inputs.role === `${role}-id`)
      .flatMap((r) => JSON.parse(unwrap(r.inputs.policy)).Statement as { Action: string | string[]; Resource: string | string[] }[]);
    const redisHosts = p.hosts.map((h) => h.host).filter((h) => /-redis-\d+$/.test(h));
    const instances = new Map(ofType(p, "aws:ec2/instance:Instance").map((r) => [r.name, String(r.inputs.iamInstanceProfile)]));
    if (!p.config.features.redis) return expect(redisHosts).toEqual([]);
    expect(redisHosts.length).toBe(p.config.redis.hostCount);
    // host i runs with `<host>-role`, no other host does
    expect(redisHosts.map((h) => instances.get(h))).toEqual(redisHosts.map((h) => `${h}-role`));
    expect(ofType(p, "aws:iam/role:Role").some((r) => r.name === `${stack}-redis-role`)).toBe(false);
    const s3Writes = /^s3:(PutObject|DeleteObject|AbortMultipartUpload|ListMultipartUploadParts|PutObjectAcl|RestoreObject)$/;
    const writesOf = (role: string) => docs(role).filter((st) => [].concat(st.Action as never).some((a: string) => s3Writes.test(a)))
      .flatMap((st) => [].concat(st.Resource as never) as string[]);
    if (!p.config.features.backup) {
      for (const h of redisHosts) expect([h, writesOf(`${h}-role`)]).toEqual([h, []]);
      return;
    }
    const bucketArn = outputOf(p, "aws:s3/bucket:Bucket", (r) => r.name === `${stack}-backups`, "arn")[0];
    const step = (h: string) => p.hosts.find((x) => x.host === h)!.files.find((f) => f.path.endsWith("/backup.conf"))!.content;
    for (const h of redisHosts) {
      // the prefix its backup script uploads to is the one (and only one) its role may write
      const prefix = /^PREFIX=(.+)$/m.exec(step(h))![1];
      const cluster = /^CLUSTER_PREFIX=(.+)$/m.exec(step(h))![1];
      expect(prefix).toBe(`${cluster}/${h}`);
      expect([h, writesOf(`${h}-role`)]).toEqual([h, [`${bucketArn}/${prefix}/*`]]);
      // reads (a restore on any host) span the cluster's prefix, not the bucket
      const reads = docs(`${h}-role`).filter((st) => [].concat(st.Action as never).includes("s3:GetObject" as never)).flatMap((st) => [].concat(st.Resource as never));
      expect([h, reads]).toEqual([h, [`${bucketArn}/${cluster}/*`]]);
    }
    // no role of the stack (any group) may write under a Redis host's prefix other than its own
    const allRoles = ofType(p, "aws:iam/role:Role").map((r) => r.name);
    for (const role of allRoles) {
      for (const res of writesOf(role)) {
        for (const h of redisHosts) {
          if (role === `${h}-role`) continue;
          const glob = new RegExp(`^${res.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
          expect([role, h, glob.test(`${bucketArn}/${/^PREFIX=(.+)$/m.exec(step(h))![1]}/20261130T0045Z/x.rdb.zst`)]).toEqual([role, h, false]);
        }
      }
    }
  });

  test("README's \"Security model\" says exactly what each host role may do: its concerns and every action of the plan's policies", () => {
    const p = plan();
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const roles = ofType(p, "aws:iam/role:Role").filter((r) => /-(redis-\d+|database|elasticsearch|logstash|bastion)-role$/.test(r.name));
    expect(roles.length).toBeGreaterThan(1);
    for (const role of roles) {
      // one role per Redis host: its row is `<stack>-redis-<i>-role`
      const group = role.name.slice(stack.length + 1, -"-role".length).replace(/^redis-\d+$/, "redis-<i>");
      const row = readme.split("\n").find((l) => /^\s*\| /.test(l) && l.includes(`\`<stack>-${group}-role\``));
      expect([group, row !== undefined]).toEqual([group, true]);
      const documented = new Set([...row!.matchAll(/`([a-z0-9]+:[A-Za-z*]+)`/g)].map((m) => m[1]).filter((a) => a !== "cloudwatch:namespace"));
      const concerns = new Set([...row!.matchAll(/`(metrics|backup)`/g)].map((m) => m[1]));
      if (row!.includes("`metrics` as above")) { concerns.add("metrics"); documented.add("cloudwatch:PutMetricData"); }
      if (/`metrics` only/.test(row!)) { concerns.add("metrics"); documented.add("cloudwatch:PutMetricData"); }
      const policies = ofType(p, "aws:iam/rolePolicy:RolePolicy").filter((r) => r.inputs.role === `${role.name}-id`);
      const actions = new Set(policies.flatMap((r) => JSON.parse(unwrap(r.inputs.policy)).Statement.flatMap((st: any) => [].concat(st.Action))));
      for (const r of policies) expect([group, concerns.has(r.name.slice(role.name.length + 1))]).toEqual([group, true]);
      for (const a of actions) expect([group, a, documented.has(a as string)]).toEqual([group, a, true]);
      // with backups on, the row lists nothing the role cannot do
      if (policies.some((r) => r.name.endsWith("-backup"))) expect([group, [...documented].sort()]).toEqual([group, [...actions].sort()]);
    }
  });
});

// ---- topic, alarms, dashboard -------------------------------------------------------------

import { readdirSync, readFileSync } from "node:fs";
import { ACCOUNT, computedOutputs, mockId } from "../test/harness/mock-data";
import { HOST_METRICS, type HostMetricName } from "../provision/monitoring/metrics";
import { ALARM_KINDS, RECONCILER_METRICS } from "../components/monitoring/alarms";
import { BACKUP_METRICS, BACKUP_METRIC_DIMENSIONS } from "../provision/backup/metrics";

/** Metric names the reconciler's source publishes (Powertools addMetric with a literal name). */
const RECONCILER_DIR = path.join(ROOT, "functions", "spot-reconciler");
const reconcilerPublishes = new Set(readdirSync(RECONCILER_DIR).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
  .flatMap((f) => [...readFileSync(path.join(RECONCILER_DIR, f), "utf8").matchAll(/addMetric\(\s*"(\w+)"/g)].map((m) => m[1])));

/** What AWS services publish for the resources opsfleet creates (CloudWatch docs per service): name -> dimension set. */
const AWS_PUBLISHED: Record<string, Record<string, string[]>> = {
  "AWS/Lambda": { Invocations: ["FunctionName"], Errors: ["FunctionName"], Throttles: ["FunctionName"] },
  "AWS/SQS": { ApproximateNumberOfMessagesVisible: ["QueueName"], ApproximateAgeOfOldestMessage: ["QueueName"] },
  "AWS/ApplicationELB": {
    HealthyHostCount: ["TargetGroup", "LoadBalancer"], UnHealthyHostCount: ["TargetGroup", "LoadBalancer"],
    HTTPCode_ELB_5XX_Count: ["LoadBalancer"], HTTPCode_Target_5XX_Count: ["LoadBalancer"], RequestCount: ["LoadBalancer"],
  },
  "AWS/EC2": { StatusCheckFailed: ["InstanceId"], StatusCheckFailed_System: ["InstanceId"], StatusCheckFailed_Instance: ["InstanceId"] },
};

/** The value AWS would give a resource's output in this plan (same mock data the plan ran with). */
function outputOf(p: Plan, type: string, pick: (r: PlanResource) => boolean, key: string): string[] {
  return p.resources.filter((r) => r.type === type && pick(r)).map((r) => {
    const a = { type: r.type, name: r.name, inputs: r.inputs, provider: "", id: "", custom: true } as never;
    return key === "id" ? mockId(a) : String((computedOutputs(a) as Record<string, unknown>)[key] ?? (r.inputs as Record<string, unknown>)[key]);
  });
}

/** A host's rendered checker config as key -> value. */
function confOf(p: Plan, host: string): Record<string, string> {
  const text = p.hosts.find((h) => h.host === host)!.files.find((f) => f.path.endsWith("/health.conf"))!.content;
  return Object.fromEntries([...text.matchAll(/^([A-Z_]+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]));
}

/** Why a metric is not one this stack publishes (null when it is). */
function notPublished(p: Plan, namespace: string, name: string, dims: Record<string, string>): string | null {
  const keys = Object.keys(dims);
  if (namespace === hostMetricsNamespace(p.stack) && name in BACKUP_METRICS) {
    // the backup scripts: `metric SYSTEM JOB ...` with HOST_LABEL from the host's backup.conf
    if ([...keys].sort().join() !== [...BACKUP_METRIC_DIMENSIONS].sort().join()) return `${name}: dimensions ${keys} but the backup scripts write ${BACKUP_METRIC_DIMENSIONS}`;
    const h = p.hosts.find((x) => x.host === dims.Host);
    if (!h) return `${name}: no host ${dims.Host}`;
    const conf = h.files.find((f) => f.path.endsWith("/backup.conf"));
    if (!conf || !conf.content.split("\n").includes(`HOST_LABEL=${dims.Host}`)) return `${name}: ${dims.Host} runs no backup reporting that Host`;
    if (!conf.content.split("\n").includes(`METRIC_NAMESPACE=${namespace}`)) return `${name}: ${dims.Host}'s backups publish elsewhere`;
    const dir = conf.path.slice(0, conf.path.lastIndexOf("/") + 1);
    if (!h.files.some((f) => f.path.startsWith(dir) && f.content.includes(`metric ${dims.System} ${dims.Job} 1 `))) return `${name}: no script on ${dims.Host} publishes job ${dims.System}/${dims.Job}`;
    return null;
  }
  if (namespace === hostMetricsNamespace(p.stack)) {
    const m = HOST_METRICS[name as HostMetricName];
    if (!m) return `${name}: no checker publishes it`;
    if ([...keys].sort().join() !== [...m.dimensions].sort().join()) return `${name}: dimensions ${keys} but the checker writes ${m.dimensions}`;
    if (dims.Stack !== p.stack) return `${name}: Stack ${dims.Stack}`;
    const hosts = new Set(p.hosts.filter((h) => h.steps.some((s) => s.name === "health-checks")).map((h) => h.host));
    if (dims.Host !== undefined && !hosts.has(dims.Host)) return `${name}: host ${dims.Host} runs no checker`;
    if (dims.Host !== undefined) {
      const conf = confOf(p, dims.Host);
      if (conf.HOST !== dims.Host) return `${name}: ${dims.Host}'s checker reports another Host`;
      if (dims.MountPoint !== undefined && !conf.DISK_MOUNTS.split(" ").includes(dims.MountPoint)) return `${name}: ${dims.Host} does not check ${dims.MountPoint}`;
      if (dims.Port !== undefined && !(conf.REDIS_PORTS ?? "").split(" ").includes(dims.Port)) return `${name}: ${dims.Host} does not check port ${dims.Port}`;
    }
    if (dims.Cluster !== undefined && !p.hosts.some((h) => h.files.some((f) => f.path.endsWith("/health.conf") && f.content.includes(`_CLUSTER='${dims.Cluster}'`)))) {
      return `${name}: no checker reports cluster ${dims.Cluster}`;
    }
    return null;
  }
  if (namespace === RECONCILER_METRICS.namespace) {
    if (!reconcilerPublishes.has(name)) return `${name}: the reconciler does not publish it`;
    if (keys.sort().join() !== "OnDemandAsg,service" || dims.service !== RECONCILER_METRICS.service) return `${name}: dimensions ${JSON.stringify(dims)}`;
    const lambda = p.resources.find((r) => r.type === "aws:lambda/function:Function")!;
    const env = unwrap((lambda.inputs as any).environment).variables;
    if (env.POWERTOOLS_METRICS_NAMESPACE !== namespace || env.POWERTOOLS_SERVICE_NAME !== dims.service) return `${name}: the Lambda publishes elsewhere`;
    if (!outputOf(p, "aws:autoscaling/group:Group", (r) => r.name.endsWith("-ondemand"), "name").includes(dims.OnDemandAsg)) return `${name}: OnDemandAsg ${dims.OnDemandAsg}`;
    return null;
  }
  const published = AWS_PUBLISHED[namespace]?.[name];
  if (!published) return `${namespace} ${name}: not in the AWS table`;
  if (keys.sort().join() !== [...published].sort().join()) return `${namespace} ${name}: dimensions ${keys} (AWS publishes ${published})`;
  const known: Record<string, string[]> = {
    FunctionName: outputOf(p, "aws:lambda/function:Function", () => true, "name"),
    QueueName: outputOf(p, "aws:sqs/queue:Queue", () => true, "url").map((u) => u.split("/").pop()!),
    LoadBalancer: outputOf(p, "aws:lb/loadBalancer:LoadBalancer", () => true, "arnSuffix"),
    TargetGroup: outputOf(p, "aws:lb/targetGroup:TargetGroup", () => true, "arnSuffix"),
    InstanceId: outputOf(p, "aws:ec2/instance:Instance", () => true, "id"),
  };
  for (const [k, v] of Object.entries(dims)) if (!known[k]?.includes(v)) return `${namespace} ${name}: ${k}=${v} is no resource of this stack`;
  return null;
}

describe.each(STACKS)("monitoring in the plan of stack %s", (stack) => {
  const plan = () => plans[stack];
  const alarms = () => ofType(plan(), "aws:cloudwatch/metricAlarm:MetricAlarm");
  const topicArn = () => outputOf(plan(), "aws:sns/topic:Topic", () => true, "arn")[0];

  test("one SNS topic, encrypted with a customer-managed key; key and topic admit CloudWatch for exactly this stack's alarms and nothing broader", () => {
    const p = plan();
    const [topic] = ofType(p, "aws:sns/topic:Topic");
    const keys = ofType(p, "aws:kms/key:Key").filter((k) => k.name.endsWith("-monitoring-alerts"));
    expect(keys).toHaveLength(1);
    const [key] = keys;
    expect(ofType(p, "aws:sns/topic:Topic")).toHaveLength(1);
    expect(topic.inputs.kmsMasterKeyId).toBe(outputOf(p, "aws:kms/key:Key", (r) => r === key, "arn")[0]);
    expect(topic.inputs.kmsMasterKeyId).not.toMatch(/alias\/aws\/sns/);
    expect(key.inputs.enableKeyRotation).toBe(true);
    // the exact ARNs of the alarms this plan creates: no wildcard, so stack `${stack}-eu`'s alarms are not admitted
    const arns = alarms().map((a) => `arn:aws:cloudwatch:${p.region}:${ACCOUNT}:alarm:${a.inputs.name}`).sort();
    expect(arns.length).toBeGreaterThan(5);
    const fromThisStacksAlarms = { StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnEquals: { "aws:SourceArn": arns } };
    expect(JSON.parse(String(key.inputs.policy)).Statement).toEqual([
      { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      {
        Sid: "CloudWatchAlarmsPublish", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"], Resource: "*", Condition: fromThisStacksAlarms,
      },
    ]);
    const policies = ofType(p, "aws:sns/topicPolicy:TopicPolicy");
    expect(policies).toHaveLength(1);
    expect(policies[0].inputs.arn).toBe(topicArn());
    expect(JSON.parse(String(policies[0].inputs.policy)).Statement).toEqual([
      {
        Sid: "AccountManages", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish", "sns:Receive"],
        Resource: topicArn(),
      },
      { Sid: "CloudWatchAlarmsPublish", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "sns:Publish", Resource: topicArn(), Condition: fromThisStacksAlarms },
      { Sid: "TlsOnly", Effect: "Deny", Principal: "*", Action: "sns:Publish", Resource: topicArn(), Condition: { Bool: { "aws:SecureTransport": "false" } } },
    ]);
  });

  test("every alarm and dashboard line on host metrics uses this stack's own namespace", () => {
    const p = plan();
    const ns = hostMetricsNamespace(stack);
    const alarmNs = alarms().flatMap((a) => {
      const i = a.inputs as any;
      return i.metricQueries ? i.metricQueries.filter((q: any) => q.metric).map((q: any) => q.metric.namespace) : [i.namespace];
    });
    const body = JSON.parse(String(ofType(p, "aws:cloudwatch/dashboard:Dashboard")[0].inputs.dashboardBody));
    const widgetNs = body.widgets.filter((w: any) => w.type === "metric").flatMap((w: any) => w.properties.metrics.map((l: unknown[]) => l[0]));
    for (const used of [new Set(alarmNs), new Set(widgetNs)]) {
      expect(used.has(ns)).toBe(true);
      // AWS's, the reconciler's, and ours: no other Opsfleet namespace (the old shared one included)
      expect([...used].filter((n) => !n.startsWith("AWS/") && n !== RECONCILER_METRICS.namespace && n !== ns)).toEqual([]);
    }
  });

  test("README's alarm table describes the alarms this multi-host stack really creates (metric, statistic, comparison, periods, missing data)", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const OPS: Record<string, string> = { GreaterThanThreshold: ">", GreaterThanOrEqualToThreshold: ">=", LessThanThreshold: "<", LessThanOrEqualToThreshold: "<=" };
    const shape = (text: string) => text.replace(/\d+(\.\d+)?/g, "N");
    const kinds = Object.keys(ALARM_KINDS).sort((x, y) => y.length - x.length);
    let compared = 0;
    for (const a of alarms()) {
      const i = a.inputs as any;
      if (i.metricQueries) continue; // metric math (the 5xx rate): covered by the alarm tests
      const kind = kinds.find((k) => String(i.name).startsWith(`${stack}-${k}`))!;
      const row = readme.split("\n").find((l) => new RegExp("`<stack>-" + kind + "(-[^`]*)?`").test(l));
      expect([kind, row !== undefined]).toEqual([kind, true]);
      const documented = row!.split(" | ")[1].replace("; then EC2 recovers the instance", "").replace(/ \([^)]*\)/g, "").replace(/<stack>/g, stack);
      const real = `${i.statistic} of ${i.namespace} ${i.metricName} ${OPS[i.comparisonOperator]} ${i.threshold} in ${i.datapointsToAlarm} of ${i.evaluationPeriods} periods of ${i.period} s${i.treatMissingData === "breaching" ? "; no data counts as failing" : ""}`;
      expect([i.name, shape(documented)]).toEqual([i.name, shape(real)]);
      compared++;
    }
    expect(compared).toBeGreaterThan(10);
    // the known-nodes threshold is the stack's own Redis node count (the README sample: 3 hosts)
    const redisHosts = plan().hosts.filter((h) => h.files.some((f) => f.path.endsWith("/health.conf") && f.content.includes("REDIS_PORTS=")));
    const known = alarms().find((a) => a.inputs.name === `${stack}-redis-known-nodes`);
    if (redisHosts.length) expect(known!.inputs.threshold).toBe(redisHosts.length * 2);
    expect(readme).toContain("RedisKnownNodes < 6 (2 nodes on each of 3 hosts)");
  });

  test("the bastion is monitored like every host: heartbeat, root volume use, EC2 status checks", () => {
    const names = alarms().map((a) => a.inputs.name);
    expect(names).toEqual(expect.arrayContaining([`${stack}-host-checker-silent-bastion`, `${stack}-host-disk-full-bastion-root`, `${stack}-host-status-instance-bastion`]));
    const [bastion] = ofType(plan(), "aws:ec2/instance:Instance").filter((r) => r.name.endsWith("-bastion"));
    const id = outputOf(plan(), "aws:ec2/instance:Instance", (r) => r === bastion, "id")[0];
    const status = alarms().find((a) => a.inputs.name === `${stack}-host-status-instance-bastion`)!;
    expect(status.inputs).toMatchObject({ namespace: "AWS/EC2", metricName: "StatusCheckFailed_Instance", dimensions: { InstanceId: id } });
  });

  test("subscriptions are the configured emails and https endpoints", () => {
    const subs = ofType(plan(), "aws:sns/topicSubscription:TopicSubscription").map((s) => `${s.inputs.protocol}:${s.inputs.endpoint}`).sort();
    const a = plan().config.alerts;
    expect(subs).toEqual([...a.emails.map((e) => `email:${e}`), ...a.httpsEndpoints.map((u) => `https:${u}`)].sort());
  });

  test("alarms for each enabled system; every alarm notifies the topic on ALARM and OK", () => {
    const p = plan();
    const systems = new Set(alarms().map((a) => ALARM_KINDS[Object.keys(ALARM_KINDS).find((k) => a.name.startsWith(`${stack}-${k}`)) as keyof typeof ALARM_KINDS]?.system));
    const f = p.config.features;
    const expected = [f.spotWeb && "web", f.redis && "redis", f.elk && "elasticsearch", f.database && "database", f.backup && (f.redis || f.database) && "backup", (f.redis || f.elk || f.database) && "hosts"].filter(Boolean);
    expect([...systems].sort()).toEqual((expected as string[]).sort());
    for (const a of alarms()) {
      expect((a.inputs.alarmActions as string[])[0]).toBe(topicArn());
      expect(a.inputs.okActions).toEqual([topicArn()]);
    }
  });

  test("every alarm watches a metric that some resource or checker of this stack publishes", () => {
    const p = plan();
    const problems: string[] = [];
    for (const a of alarms()) {
      const i = a.inputs as any;
      const metrics = i.metricQueries ? i.metricQueries.filter((q: any) => q.metric).map((q: any) => q.metric) : [i];
      for (const m of metrics) {
        const why = notPublished(p, m.namespace, m.metricName, m.dimensions ?? {});
        if (why) problems.push(`${a.name}: ${why}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test("every backup job on every host has an overdue alarm (no report counts) and a failed-run alarm on exactly what it publishes", () => {
    const p = plan();
    const published = p.hosts.flatMap((h) => {
      const conf = h.files.find((f) => f.path.endsWith("/backup.conf"));
      if (!conf) return [];
      const label = /^HOST_LABEL=(.*)$/m.exec(conf.content)![1];
      const dir = conf.path.slice(0, conf.path.lastIndexOf("/") + 1);
      const jobs = new Set(h.files.filter((f) => f.path.startsWith(dir)).flatMap((f) => [...f.content.matchAll(/^\s*metric (\w+) (\w+) 1 /gm)].map((m) => `${m[1]}/${m[2]}`)));
      return [...jobs].map((j) => `${label}/${j}`);
    }).sort();
    expect(published.length > 0).toBe(Boolean(p.config.features.backup && (p.config.features.redis || p.config.features.database)));
    const watched = (metric: string) => alarms().filter((a) => a.inputs.metricName === metric).map((a) => {
      const d = a.inputs.dimensions as Record<string, string>;
      return `${d.Host}/${d.System}/${d.Job}`;
    }).sort();
    expect(watched("LastGoodBackupAgeSeconds")).toEqual(published);
    expect(watched("BackupSuccess")).toEqual(published);
    const cfg = p.config.backup;
    for (const a of alarms().filter((x) => x.inputs.metricName === "LastGoodBackupAgeSeconds")) {
      const job = (a.inputs.dimensions as Record<string, string>).Job;
      const interval = { full: cfg.database.intervalHours * 60, binlog: cfg.database.recoveryPointMinutes, rdb: cfg.redis.intervalHours * 60, slm: cfg.elasticsearch.intervalHours * 60 }[job]!;
      const window = (interval + p.config.alerts.thresholds.backupLateMinutes) * 60;
      expect(a.inputs).toMatchObject({ namespace: hostMetricsNamespace(stack), statistic: "Maximum", period: window, threshold: window, comparisonOperator: "GreaterThanThreshold", treatMissingData: "breaching" });
    }
    for (const a of alarms().filter((x) => x.inputs.metricName === "BackupSuccess")) {
      expect(a.inputs).toMatchObject({ statistic: "Minimum", threshold: 1, comparisonOperator: "LessThanThreshold" });
    }
  });

  test("every dashboard widget refers to metrics some resource or checker of this stack publishes", () => {
    const p = plan();
    const [dash] = ofType(p, "aws:cloudwatch/dashboard:Dashboard");
    expect(dash.inputs.dashboardName).toBe(`opsfleet-${stack}`);
    const body = JSON.parse(String(dash.inputs.dashboardBody));
    const lines = body.widgets.filter((w: any) => w.type === "metric").flatMap((w: any) => w.properties.metrics);
    expect(lines.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const line of lines) {
      const [namespace, name, ...rest] = line.filter((x: unknown) => typeof x === "string");
      const dims: Record<string, string> = {};
      for (let i = 0; i < rest.length; i += 2) dims[rest[i]] = rest[i + 1];
      const why = notPublished(p, namespace, name, dims);
      if (why) problems.push(why);
    }
    expect(problems).toEqual([]);
    for (const w of body.widgets) expect(w.x + w.width).toBeLessThanOrEqual(24);
  });

  test("every host, the bastion included, runs the health checker with its own name, region and namespace", () => {
    const p = plan();
    expect(p.hosts.filter((x) => x.host.endsWith("-bastion"))).toHaveLength(1);
    for (const h of p.hosts) {
      const step = h.steps.find((s) => s.name === "health-checks");
      expect(step).toBeDefined();
      const conf = h.files.find((f) => f.path.endsWith("/health.conf"))!;
      expect(conf.content).toContain(`HOST='${h.host}'`);
      expect(conf.content).toContain(`NAMESPACE='${hostMetricsNamespace(stack)}'`);
      expect(conf.content).toContain(`REGION='${p.region}'`);
      expect(h.files.find((f) => f.path.endsWith("/check"))!.mode).toBe("0700");
    }
  });
});

describe.each(STACKS)("alarm ordering in the plan of stack %s", (stack) => {
  const plan = () => plans[stack];
  const alarms = () => ofType(plan(), "aws:cloudwatch/metricAlarm:MetricAlarm");
  const urnOf = (p: Plan, type: string, name: string) => p.resources.find((r) => r.type === type && r.name === name)?.urn;

  test("an alarm that counts silence as failing is created only after the health-check step of every host that publishes its metric", () => {
    const p = plan();
    const stepUrn = (host: string) => urnOf(p, "command:remote:Command", p.hosts.find((h) => h.host === host)!.steps.find((s) => s.name === "health-checks")!.resource);
    const lastStepUrn = (host: string) => { const h = p.hosts.find((x) => x.host === host)!; return urnOf(p, "command:remote:Command", h.steps[h.steps.length - 1].resource); };
    const breaching = alarms().filter((a) => a.inputs.treatMissingData === "breaching" && String(a.inputs.namespace) === hostMetricsNamespace(stack));
    expect(breaching.length).toBeGreaterThan(0);
    for (const a of breaching) {
      const host = (a.inputs.dimensions as Record<string, string>).Host;
      const publishers = host ? [host] : p.hosts.filter((h) => h.files.some((f) => f.path.endsWith("/health.conf") && f.content.includes("REDIS_PORTS="))).map((h) => h.host);
      expect(publishers.length).toBeGreaterThan(0);
      for (const h of publishers) {
        expect([a.name, stepUrn(h)]).toEqual([a.name, expect.any(String)]);
        expect([a.name, h, a.options.dependsOn.includes(stepUrn(h)!)]).toEqual([a.name, h, true]);
        expect(stepUrn(h)).toBe(lastStepUrn(h)); // the checker starts with the host's last step
      }
    }
  });

  test("every alarm is created after the topic policy that admits its ARN (and the key, whose policy admits it too, comes before the topic)", () => {
    const p = plan();
    const policy = ofType(p, "aws:sns/topicPolicy:TopicPolicy")[0];
    for (const a of alarms()) expect([a.name, a.options.dependsOn.includes(policy.urn)]).toEqual([a.name, true]);
    const [topic] = ofType(p, "aws:sns/topic:Topic");
    const key = ofType(p, "aws:kms/key:Key").find((k) => k.name.endsWith("-monitoring-alerts"))!;
    expect(topic.propertyDependencies?.kmsMasterKeyId).toContain(key.urn);
  });
});

describe("stack variations", () => {
  const devText = readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");

  test("every feature off: the stack still gets its topic, key and dashboard, with valid policies (no CloudWatch statement, no empty SourceArn) and a clean plan", async () => {
    const text = devText.replace(/^config:\n/m, "config:\n  opsfleet:features: { spotWeb: false, redis: false, elk: false, database: false, backup: false }\n");
    const p = await buildPlan({ stack: "dev", root: ROOT, stackFileText: text });
    expect(p.config.features).toMatchObject({ spotWeb: false, redis: false, elk: false, database: false });
    expect(ofType(p, "aws:cloudwatch/metricAlarm:MetricAlarm")).toEqual([]);
    expect(ofType(p, "aws:sns/topic:Topic")).toHaveLength(1);
    expect(ofType(p, "aws:cloudwatch/dashboard:Dashboard")).toHaveLength(1);
    const key = ofType(p, "aws:kms/key:Key").find((k) => k.name.endsWith("-monitoring-alerts"))!;
    const [policy] = ofType(p, "aws:sns/topicPolicy:TopicPolicy");
    for (const doc of [String(key.inputs.policy), String(policy.inputs.policy)]) {
      expect(doc).not.toContain("aws:SourceArn");
      expect(JSON.parse(doc).Statement.map((st: any) => st.Sid)).not.toContain("CloudWatchAlarmsPublish");
    }
    expect(p.violations).toEqual([]);
  }, 120_000);

  test.each(["qa.eu", "QA", "qa_eu", "-qa", "qa-"])("stack name %s: a config error naming it and what is allowed, before anything is created", async (stack) => {
    await expect(buildPlan({ stack, root: ROOT, stackFileText: devText })).rejects.toThrow(
      `stack name "${stack}": allowed: 1-24 lowercase letters, digits and '-', starting with a letter and not ending with '-'`,
    );
  }, 60_000);
});
