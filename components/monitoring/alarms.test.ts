import { planAlarms, KEY_MAX_AGE_DAYS, type MonitoredStack, type Thresholds } from "./alarms";
import { dashboardBody } from "./dashboard";
import { backupJobs } from "../../provision/backup/metrics";
import { monitoredHosts, resolveThresholds } from "../../stacks/monitoring";
import { alertsConfigSchema } from "../../stacks/config/alerts";
import { databaseConfigSchema } from "../../stacks/config/database";

const defaults = (): Thresholds => resolveThresholds({ alerts: alertsConfigSchema.parse({}), database: databaseConfigSchema.parse({}) });
const stack: MonitoredStack = {
  stack: "dev",
  web: { onDemandAsgName: "dev-web-ondemand", functionName: "dev-web-reconciler", deadLetterQueueNames: { events: "dlq", reconcile: "rdlq" }, reconcileQueueName: "q", loadBalancerArnSuffix: "app/a/1", targetGroupArnSuffix: "targetgroup/t/1" },
  redis: { cluster: "dev-redis", hosts: ["dev-redis-0", "dev-redis-1", "dev-redis-2"], ports: [7000, 7001] },
  database: { host: "dev-db-host", engine: "mysql" },
  hosts: [{ name: "dev-db-host", instanceId: "i-1", mounts: ["/", "/var/lib/mysql"], recover: true }],
};
const byName = (t: Thresholds, name: string) => planAlarms(stack, t).find((a) => a.name === name)!;

test("thresholds come from the config; the key-age default follows the rotation schedule", () => {
  const t = defaults();
  expect(t.dbKeyMaxAgeDays).toBe(KEY_MAX_AGE_DAYS.monthly);
  expect(resolveThresholds({ alerts: alertsConfigSchema.parse({}), database: databaseConfigSchema.parse({ keyRotationSchedule: "weekly" }) }).dbKeyMaxAgeDays).toBe(9);
  expect(resolveThresholds({ alerts: alertsConfigSchema.parse({ thresholds: { dbKeyMaxAgeDays: 5 } }), database: databaseConfigSchema.parse({}) }).dbKeyMaxAgeDays).toBe(5);
  // rotation off: no key-age alarm by default (it would fire forever), unless a limit is set explicitly
  const off = resolveThresholds({ alerts: alertsConfigSchema.parse({}), database: databaseConfigSchema.parse({ keyRotationSchedule: "off" }) });
  expect(off.dbKeyMaxAgeDays).toBeUndefined();
  expect(planAlarms(stack, off).filter((a) => a.kind === "db-key-age")).toEqual([]);
  expect(planAlarms(stack, { ...off, dbKeyMaxAgeDays: 400 }).filter((a) => a.kind === "db-key-age")).toHaveLength(1);
  const custom = { ...t, diskUsedPercent: 70, onDemandMaxMinutes: 90, redisMemoryUsedPercent: 75 };
  expect(byName(custom, "dev-host-disk-full-db-host-var-lib-mysql")).toMatchObject({ threshold: 70, comparison: "GreaterThanThreshold" });
  expect(byName(custom, "dev-web-on-demand-in-use")).toMatchObject({ period: 300, evaluationPeriods: 18, datapointsToAlarm: 18, threshold: 0 });
  expect(byName(custom, "dev-redis-memory-high-redis-1-7001").metric!.dimensions).toEqual({ Stack: "dev", Host: "dev-redis-1", Port: "7001" });
  expect(byName(custom, "dev-redis-memory-high-redis-1-7001").threshold).toBe(75);
});

test("capacity deficit: the reconciler's metric with its Powertools dimensions, above 0 for 3 minutes", () => {
  expect(byName(defaults(), "dev-web-capacity-deficit")).toMatchObject({
    metric: { namespace: "Opsfleet/SpotFailover", metricName: "CapacityDeficit", dimensions: { service: "spot-reconciler", OnDemandAsg: "dev-web-ondemand" }, statistic: "Maximum" },
    period: 60, evaluationPeriods: 3, datapointsToAlarm: 3, threshold: 0, comparison: "GreaterThanThreshold",
  });
  expect(byName(defaults(), "dev-web-reconciler-not-invoked")).toMatchObject({ period: 300, threshold: 1, comparison: "LessThanThreshold", treatMissingData: "breaching" });
});

test("data hosts recover on a failed system check; MySQL has no old-key alarm (master key rotation re-wraps every tablespace)", () => {
  const sys = byName(defaults(), "dev-host-status-system-db-host");
  expect(sys.extraAlarmActions!("eu-west-1")).toEqual(["arn:aws:automate:eu-west-1:ec2:recover"]);
  expect(sys.metric).toMatchObject({ namespace: "AWS/EC2", metricName: "StatusCheckFailed_System", dimensions: { InstanceId: "i-1" } });
  const kinds = planAlarms(stack, defaults()).map((a) => a.kind);
  expect(kinds).not.toContain("db-old-key-tablespaces");
  expect(planAlarms({ ...stack, database: { host: "dev-db-host", engine: "mariadb" } }, defaults()).map((a) => a.kind)).toContain("db-old-key-tablespaces");
  // names are unique and within CloudWatch's 255 characters
  const names = planAlarms(stack, defaults()).map((a) => a.name);
  expect(new Set(names).size).toBe(names.length);
  expect(names.every((n) => n.length <= 255)).toBe(true);
});

test("backups: per job and host, overdue after the interval plus backupLateMinutes (silence breaches), failed run while the interval lasts", () => {
  const withBackups: MonitoredStack = { ...stack, backups: backupJobs({ database: { host: "dev-db-host", intervalHours: 24, recoveryPointMinutes: 5 }, redis: { hosts: ["dev-redis-0"], intervalHours: 6 } }) };
  const t = { ...defaults(), backupLateMinutes: 30 };
  const full = planAlarms(withBackups, t).find((a) => a.name === "dev-backup-overdue-db-host-full")!;
  expect(full).toMatchObject({
    system: "backup",
    metric: { namespace: "Opsfleet/Hosts/dev", metricName: "LastGoodBackupAgeSeconds", dimensions: { System: "database", Job: "full", Host: "dev-db-host" }, statistic: "Maximum" },
    period: (24 * 60 + 30) * 60, evaluationPeriods: 1, datapointsToAlarm: 1, threshold: (24 * 60 + 30) * 60, comparison: "GreaterThanThreshold", treatMissingData: "breaching",
  });
  expect(planAlarms(withBackups, t).find((a) => a.name === "dev-backup-overdue-db-host-binlog")).toMatchObject({ period: 35 * 60, threshold: 35 * 60 });
  expect(planAlarms(withBackups, t).find((a) => a.name === "dev-backup-failed-redis-0-rdb")).toMatchObject({
    metric: { metricName: "BackupSuccess", dimensions: { System: "redis", Job: "rdb", Host: "dev-redis-0" }, statistic: "Minimum" },
    period: 6 * 3600, threshold: 1, comparison: "LessThanThreshold", treatMissingData: "notBreaching",
  });
  // CloudWatch: a period is a multiple of 60 s, period x evaluation periods at most 7 days
  for (const a of planAlarms(withBackups, t)) {
    expect(a.period % 60).toBe(0);
    expect(a.period * a.evaluationPeriods).toBeLessThanOrEqual(7 * 86400);
  }
  expect(planAlarms(stack, t).some((a) => a.system === "backup")).toBe(false);
  const text = dashboardBody(withBackups, "eu-west-1").widgets.map((w) => w.properties.markdown ?? "");
  expect(text.some((m) => m.startsWith("## Backups"))).toBe(true);
});

test("dashboard: one section per system the stack runs, widgets inside the 24-column grid, no overlap", () => {
  const body = dashboardBody(stack, "eu-west-1");
  const text = body.widgets.filter((w) => w.type === "text").map((w) => w.properties.markdown);
  expect(text.map((t) => t!.split("\n")[0])).toEqual(["# opsfleet dev", "## Web tier (Spot with on-demand failover)", "## Redis Cluster dev-redis", "## Database dev-db-host (mysql)", "## Hosts"]);
  const cells = new Set<string>();
  for (const w of body.widgets) {
    expect(w.x + w.width).toBeLessThanOrEqual(24);
    for (let x = w.x; x < w.x + w.width; x++) for (let y = w.y; y < w.y + w.height; y++) {
      expect(cells.has(`${x},${y}`)).toBe(false);
      cells.add(`${x},${y}`);
    }
  }
  expect(JSON.stringify(dashboardBody({ stack: "s", hosts: [] }, "eu-west-1").widgets.map((w) => w.type))).toBe('["text"]');
});

test("EC2 recovery alarm only on hosts whose instance type EC2 can recover (not instance store, not metal)", () => {
  const hosts = monitoredHosts([
    { name: "dev-redis-0", instanceId: "i-1", mounts: ["/"], instanceType: "r6g.large" },
    { name: "dev-redis-1", instanceId: "i-2", mounts: ["/"], instanceType: "r6gd.large" },
    { name: "dev-es-data-0", instanceId: "i-3", mounts: ["/"], instanceType: "m5.metal" },
  ]);
  const names = planAlarms({ stack: "dev", hosts }, defaults()).filter((a) => a.kind === "host-status-system").map((a) => a.name);
  expect(names).toEqual(["dev-host-status-system-redis-0"]);
  // the instance status check stays on every host
  expect(planAlarms({ stack: "dev", hosts }, defaults()).filter((a) => a.kind === "host-status-instance")).toHaveLength(3);
});

test("every host that runs the checker (Logstash too) has a heartbeat alarm on which silence is failing", () => {
  const hosts = monitoredHosts([{ name: "dev-logstash", instanceId: "i-9", mounts: ["/"], instanceType: "t3.medium" }]);
  expect(planAlarms({ stack: "dev", hosts }, defaults()).find((a) => a.kind === "host-checker-silent")).toMatchObject({
    name: "dev-host-checker-silent-logstash",
    metric: { metricName: "HostCheckerUp", dimensions: { Stack: "dev", Host: "dev-logstash" }, statistic: "Minimum" },
    threshold: 1, comparison: "LessThanThreshold", treatMissingData: "breaching",
  });
});

/** The 5xx rate as CloudWatch computes it for one period: FILL(m, 0) gives 0 where m has no data; a bare m without data gives no value. */
function rate(expression: string, data: Record<string, number | undefined>): number | undefined {
  let missing = false;
  const js = expression.replace(/FILL\((m\d), 0\)/g, (_, m) => String(data[m] ?? 0)).replace(/\bm\d\b/g, (m) => {
    if (data[m] === undefined) missing = true;
    return String(data[m] ?? 0);
  });
  if (missing) return undefined;
  const v = Function(`return (${js});`)() as number;
  return Number.isFinite(v) ? v : undefined;
}

test("5xx rate: an ALB without any target (it answers 503 itself; RequestCount has no data) counts as 100 % and breaches", () => {
  const a = byName(defaults(), "dev-web-5xx-rate");
  const ids = Object.fromEntries(a.math!.metrics.map((m) => [m.metricName, m.id]));
  const at = (elb?: number, target?: number, requests?: number) =>
    rate(a.math!.expression, { [ids.HTTPCode_ELB_5XX_Count]: elb, [ids.HTTPCode_Target_5XX_Count]: target, [ids.RequestCount]: requests });
  expect(at(120, undefined, undefined)).toBe(100);
  expect(at(120, undefined, undefined)! > a.threshold).toBe(true);
  expect(at(undefined, 3, 100)).toBe(3);
  expect(at(undefined, undefined, 100)).toBe(0);
  // no traffic at all: no value (treated as not breaching)
  expect(at(undefined, undefined, undefined)).toBeUndefined();
  expect(a.treatMissingData).toBe("notBreaching");
});
