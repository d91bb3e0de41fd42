/**
 * The stack's CloudWatch dashboard body (pure): spot vs on-demand capacity and the deficit, the
 * reconciler's decisions, the ALB, Redis / Elasticsearch / database health and disk use. Every
 * widget names metrics that the reconciler, an AWS service of the stack or a host checker publishes
 * (tested against the checker's metric table and the reconciler's source).
 */
import type * as pulumi from "@pulumi/pulumi";
import { hostMetricsNamespace } from "../../provision/monitoring/namespace";
import type { HostMetricName } from "../../provision/monitoring/metrics";
import { RECONCILER_METRICS, backupMetric, type MonitoredStack } from "./alarms";

type Dim = pulumi.Input<string>;
/** CloudWatch's metric array: namespace, name, dimension name/value pairs, then render options. */
export type MetricLine = (Dim | { stat?: string; label?: string; yAxis?: "left" | "right" })[];

export interface Widget {
  type: "metric" | "text";
  x: number;
  y: number;
  width: number;
  height: number;
  properties: Record<string, unknown> & { metrics?: MetricLine[]; markdown?: string; title?: string };
}

const W = 12;
const H = 6;

export function dashboardBody(s: MonitoredStack, region: string): { widgets: Widget[] } {
  const widgets: Widget[] = [];
  let y = 0;
  let x = 0;
  const place = (width: number, height: number) => {
    if (x + width > 24) { x = 0; y += H; }
    const at = { x, y, width, height };
    x += width;
    return at;
  };
  const heading = (markdown: string) => {
    if (x > 0) { x = 0; y += H; }
    widgets.push({ type: "text", x: 0, y, width: 24, height: 1, properties: { markdown } });
    y += 1;
  };
  const graph = (title: string, metrics: MetricLine[], extra: Record<string, unknown> = {}) =>
    widgets.push({ type: "metric", ...place(W, H), properties: { title, region, view: "timeSeries", stacked: false, period: 60, metrics, ...extra } });
  const namespace = hostMetricsNamespace(s.stack);
  const host = (name: HostMetricName, dims: Record<string, Dim>, stat: string, label?: string): MetricLine =>
    [namespace, name, ...Object.entries(dims).flat(), { stat, ...(label ? { label } : {}) }];
  const percentAxis = { yAxis: { left: { min: 0, max: 100 } } };

  heading(`# opsfleet ${s.stack}\nAlarms notify the stack's SNS topic (ALARM and OK). What each alarm means and what to do: README "Operating opsfleet".`);

  if (s.web) {
    const w = s.web;
    const r = (name: string, stat: string, label?: string): MetricLine =>
      [RECONCILER_METRICS.namespace, name, "service", RECONCILER_METRICS.service, "OnDemandAsg", w.onDemandAsgName, { stat, ...(label ? { label } : {}) }];
    heading("## Web tier (Spot with on-demand failover)");
    graph("Capacity: target, Spot, on-demand, deficit", [
      r("TargetCapacity", "Maximum", "target"), r("SpotHealthyCapacity", "Minimum", "spot healthy"),
      r("OnDemandHealthyCapacity", "Maximum", "on-demand healthy"), r("CapacityDeficit", "Maximum", "deficit"),
    ]);
    graph("Reconciler decisions", [
      r("ScalingWrites", "Sum", "scaling writes"), r("SpotReclaiming", "Maximum", "spot reclaiming"), r("OnDemandDesiredCapacity", "Maximum", "on-demand desired"),
    ]);
    graph("Reconciler invocations", [
      ["AWS/Lambda", "Invocations", "FunctionName", w.functionName, { stat: "Sum" }],
      ["AWS/Lambda", "Errors", "FunctionName", w.functionName, { stat: "Sum" }],
      ["AWS/Lambda", "Throttles", "FunctionName", w.functionName, { stat: "Sum" }],
      ...Object.entries(w.deadLetterQueueNames).map(([which, q]): MetricLine => ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q, { stat: "Maximum", label: `dead letters (${which})` }]),
      ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", w.reconcileQueueName, { stat: "Maximum", label: "oldest wake-up (s)", yAxis: "right" }],
    ]);
    graph("ALB targets and 5xx", [
      ["AWS/ApplicationELB", "HealthyHostCount", "TargetGroup", w.targetGroupArnSuffix, "LoadBalancer", w.loadBalancerArnSuffix, { stat: "Minimum" }],
      ["AWS/ApplicationELB", "UnHealthyHostCount", "TargetGroup", w.targetGroupArnSuffix, "LoadBalancer", w.loadBalancerArnSuffix, { stat: "Maximum" }],
      ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", w.loadBalancerArnSuffix, { stat: "Sum" }],
      ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", w.loadBalancerArnSuffix, { stat: "Sum" }],
    ]);
  }

  if (s.redis) {
    const rd = s.redis;
    const cluster = { Stack: s.stack, Cluster: rd.cluster };
    heading(`## Redis Cluster ${rd.cluster}`);
    graph("Cluster state (1 = ok), known nodes, masters without replica; slots ok (right)", [
      host("RedisClusterStateOk", cluster, "Minimum", "state ok"), host("RedisUnreplicatedMasters", cluster, "Maximum", "masters without replica"),
      host("RedisKnownNodes", cluster, "Minimum", "known nodes"),
      [namespace, "RedisSlotsOk", ...Object.entries(cluster).flat(), { stat: "Minimum", label: "slots ok", yAxis: "right" }],
    ]);
    graph("Nodes up (1 = answering)", rd.hosts.flatMap((h) => rd.ports.map((p) => host("RedisNodeUp", { Stack: s.stack, Host: h, Port: String(p) }, "Minimum", `${h}:${p}`))));
    graph("Masters per host, replicas in sync per host", rd.hosts.flatMap((h) => [
      host("RedisMastersOnHost", { Stack: s.stack, Host: h }, "Maximum", `${h} masters`), host("RedisReplicasInSync", { Stack: s.stack, Host: h }, "Minimum", `${h} replicas in sync`),
    ]));
    graph("Memory used / maxmemory (%)", rd.hosts.flatMap((h) => rd.ports.map((p) => host("RedisMemoryUsedPercent", { Stack: s.stack, Host: h, Port: String(p) }, "Maximum", `${h}:${p}`))), percentAxis);
  }

  if (s.elasticsearch) {
    const e = s.elasticsearch;
    const cluster = { Stack: s.stack, Cluster: e.cluster };
    heading(`## Elasticsearch ${e.cluster}`);
    graph("Cluster status (0 green, 1 yellow, 2 red), unassigned shards", [
      host("EsClusterStatus", cluster, "Maximum", "status"), host("EsUnassignedShards", cluster, "Maximum", "unassigned shards"),
    ]);
    graph("Nodes up", e.hosts.map((h) => host("EsNodeUp", { Stack: s.stack, Host: h }, "Minimum", h)));
    graph("Heap used (%)", e.hosts.map((h) => host("EsHeapUsedPercent", { Stack: s.stack, Host: h }, "Maximum", h)), percentAxis);
    graph("Data path used (%)", e.hosts.map((h) => host("EsDiskUsedPercent", { Stack: s.stack, Host: h }, "Maximum", h)), percentAxis);
  }

  if (s.database) {
    const dims = { Stack: s.stack, Host: s.database.host };
    heading(`## Database ${s.database.host} (${s.database.engine})`);
    graph("Up, unencrypted tables, tablespaces on an old key", [
      host("DbUp", dims, "Minimum", "up"), host("DbUnencryptedTables", dims, "Maximum", "unencrypted tables"),
      ...(s.database.engine === "mariadb" ? [host("DbTablespacesOnOldKey", dims, "Maximum", "on an old key")] : []),
    ]);
    graph("Key age (days)", [host("DbKeyAgeDays", dims, "Maximum", "key age")], { period: 3600 });
  }

  if (s.backups?.length) {
    const b = s.backups;
    const line = (m: Parameters<typeof backupMetric>[1], j: (typeof b)[number], stat: string): MetricLine => {
      const r = backupMetric(s.stack, m, j);
      return [r.namespace, r.metricName, ...Object.entries(r.dimensions).flat(), { stat, label: `${j.host} ${j.job}` }];
    };
    heading("## Backups\nAge of the last good backup per job (alarm: above the job's interval plus alerts.thresholds.backupLateMinutes, or no report); success of each run (1 ok, 0 failed).");
    graph("Last good backup age (s)", b.map((j) => line("LastGoodBackupAgeSeconds", j, "Maximum")), { period: 3600 });
    graph("Backup runs succeeded (min per hour)", b.map((j) => line("BackupSuccess", j, "Minimum")), { period: 3600, yAxis: { left: { min: 0, max: 1 } } });
  }

  if (s.hosts.length > 0) {
    heading("## Hosts");
    graph("Volume use (%)", s.hosts.flatMap((h) => h.mounts.map((m) => host("DiskUsedPercent", { Stack: s.stack, Host: h.name, MountPoint: m }, "Maximum", `${h.name} ${m}`))), { ...percentAxis, period: 300 });
    graph("EC2 status checks failed", s.hosts.map((h) => ["AWS/EC2", "StatusCheckFailed", "InstanceId", h.instanceId, { stat: "Maximum", label: h.name }]));
  }
  return { widgets };
}
