/**
 * Which alarms a stack gets (pure): from what the stack runs (`MonitoredStack`) and the thresholds,
 * the list of CloudWatch alarm definitions. `ALARM_KINDS` says for each kind what it means and
 * what to do; README's "Operating opsfleet" section is generated from it.
 */
import type * as pulumi from "@pulumi/pulumi";
import { hostMetricsNamespace } from "../../provision/monitoring/namespace";
import { REDIS_TOTAL_SLOTS, type HostMetricName } from "../../provision/monitoring/metrics";
import type { BackupJobRef, BackupMetricName } from "../../provision/backup/metrics";

type Dim = pulumi.Input<string>;

/** The reconciler's metrics (Powertools EMF): namespace and the dimensions on every datum. */
export const RECONCILER_METRICS = {
  namespace: "Opsfleet/SpotFailover",
  /** Powertools adds `service` (POWERTOOLS_SERVICE_NAME) to the handler's default dimensions. */
  service: "spot-reconciler",
  names: ["TargetCapacity", "SpotHealthyCapacity", "SpotReclaiming", "OnDemandDesiredCapacity", "OnDemandHealthyCapacity", "CapacityDeficit", "ScalingWrites", "SpotSourceGone"],
} as const;

export type System = "web" | "redis" | "elasticsearch" | "database" | "backup" | "hosts";

/** What the stack runs, as far as monitoring cares. Names are resource names (plain); AWS ids are Inputs. */
export interface MonitoredStack {
  stack: string;
  web?: {
    onDemandAsgName: Dim;
    functionName: Dim;
    /** Dead-letter queues by what lands there: `events` (EventBridge could not deliver), `reconcile` (reconciles that kept failing). */
    deadLetterQueueNames: Record<string, Dim>;
    /** The FIFO queue the reconciler consumes. */
    reconcileQueueName: Dim;
    loadBalancerArnSuffix: Dim;
    targetGroupArnSuffix: Dim;
  };
  redis?: { cluster: string; hosts: string[]; ports: readonly number[] };
  elasticsearch?: { cluster: string; hosts: string[] };
  database?: { host: string; engine: "mariadb" | "mysql" };
  /** Every backup job on every host that runs it (features.backup). */
  backups?: BackupJobRef[];
  /** Every provisioned host (data hosts get EC2 automatic recovery). */
  hosts: { name: string; instanceId: Dim; mounts: string[]; recover: boolean }[];
}

export interface Thresholds {
  diskUsedPercent: number;
  redisMemoryUsedPercent: number;
  esHeapUsedPercent: number;
  esDiskUsedPercent: number;
  esUnassignedShardsMinutes: number;
  /** Days; undefined: no key-age alarm (rotation off and no explicit limit: the key is meant to stay). */
  dbKeyMaxAgeDays: number | undefined;
  onDemandMaxMinutes: number;
  alb5xxPercent: number;
  /** A backup job is overdue when its last good run is older than its interval plus this. */
  backupLateMinutes: number;
}

export interface MetricRef {
  namespace: string;
  metricName: string;
  dimensions: Record<string, Dim>;
}

export type Comparison = "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold" | "LessThanThreshold" | "LessThanOrEqualToThreshold";

export interface AlarmSpec {
  kind: AlarmKindId;
  system: System;
  /** Alarm (and resource) name: `<stack>-<kind>[-<subject>]`. */
  name: string;
  description: string;
  /** A single metric ... */
  metric?: MetricRef & { statistic: "Average" | "Minimum" | "Maximum" | "Sum" };
  /** ... or metric math over several (`id` "m1".., expression id "e1"). */
  math?: { expression: string; label: string; metrics: (MetricRef & { id: string; statistic: "Sum" | "Average" })[] };
  period: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparison: Comparison;
  /** breaching where silence itself is the failure (a dead host or checker, a stopped schedule). */
  treatMissingData: "breaching" | "notBreaching" | "missing";
  /** How a threshold that depends on the stack's shape was derived (README, plan review). */
  thresholdNote?: string;
  /** Actions besides notifying the topic (EC2 recovery). */
  extraAlarmActions?: (region: string) => string[];
  /**
   * Hosts whose provisioning starts what publishes the metric. Every alarm that treats missing data
   * as breaching names them: it is created only after their steps ran, else it would page during
   * every first deploy or host replacement before the publisher exists.
   */
  publishedBy?: string[];
}

export interface AlarmKind {
  system: System;
  title: string;
  /** What it means when it fires. */
  meaning: string;
  /** What the operator does. */
  action: string;
}

export const ALARM_KINDS = {
  "web-capacity-deficit": {
    system: "web", title: "Web capacity below target",
    meaning: "The reconciler's CapacityDeficit (target − healthy Spot − healthy on-demand) stayed above 0 for 3 minutes: on-demand did not cover lost Spot capacity.",
    action: "Check the reconciler's log group for its decisions and errors; check the on-demand ASG's activity history (launch failures, instance limits, subnet IPs). Raise on-demand desired capacity by hand if needed.",
  },
  "web-on-demand-in-use": {
    system: "web", title: "On-demand capacity in use too long",
    meaning: "On-demand desired capacity stayed above 0 longer than alerts.thresholds.onDemandMaxMinutes: a failover that never handed back (Spot not coming back, or stabilization never reached).",
    action: "Check Spot capacity (fleet/ASG events, instance types and AZs with capacity); widen spot.instanceTypes. It costs money, not availability: hand back only once Spot is healthy.",
  },
  "web-reconciler-errors": {
    system: "web", title: "Reconciler errors",
    meaning: "The reconciler Lambda failed at least once in 5 minutes.",
    action: "Read the reconciler's log group (error and stack trace); check its role's permissions and the AWS service health. Failed events land in the dead-letter queue.",
  },
  "web-reconciler-throttles": {
    system: "web", title: "Reconciler throttled",
    meaning: "Invocations of the reconciler were throttled in 5 minutes (account concurrency exhausted or the function's concurrency limit).",
    action: "Check the account's Lambda concurrency use; events are retried, but a lasting throttle delays failover.",
  },
  "web-reconciler-not-invoked": {
    system: "web", title: "Reconciler not invoked",
    meaning: "The reconciler ran no invocation for 5 minutes although its schedule fires every minute: the schedule, its target or its permission is broken.",
    action: "Check the EventBridge schedule rule (enabled, target, last invocations) and the Lambda permission; `pulumi up` restores them.",
  },
  "web-dlq-not-empty": {
    system: "web", title: "Reconciler dead-letter queue not empty",
    meaning: "Wake-ups are waiting in a dead-letter queue: events EventBridge could not deliver to the reconcile queue (`-events`), or reconciles that failed repeatedly (`-reconcile`).",
    action: "Read the messages (why they failed), fix the cause, then purge the queue; the every-minute reconcile already corrects the capacity.",
  },
  "web-reconcile-queue-stalled": {
    system: "web", title: "Reconcile queue not consumed",
    meaning: "A wake-up waited more than 5 minutes in the reconciler's FIFO queue: the Lambda is not consuming it (event source mapping disabled, function failing or throttled).",
    action: "Check the event source mapping (state, last processing result) and the reconciler's log group; the reconciler errors/throttles alarms say which.",
  },
  "web-unhealthy-hosts": {
    system: "web", title: "ALB unhealthy targets",
    meaning: "The target group had unhealthy targets for 5 minutes.",
    action: "Check the targets' health check reason in the target group; the instances' nginx and security groups; replace broken instances (the ASG/fleet does when they fail EC2 checks).",
  },
  "web-5xx-rate": {
    system: "web", title: "ALB 5xx rate",
    meaning: "5xx responses (the ALB's and the targets') exceeded alerts.thresholds.alb5xxPercent of requests for 5 minutes; requests the ALB answered itself for lack of a target (its 503s, which RequestCount leaves out) count as requests, so an ALB with no target at all fires it at 100%.",
    action: "Check the target group's healthy targets first: none means no capacity (see the capacity and reconciler alarms, the Spot fleet/ASG and on-demand ASG activity); otherwise the targets' nginx logs and health-check reasons.",
  },
  "redis-node-down": {
    system: "redis", title: "Redis instance down",
    meaning: "A Redis instance (master :7000 or replica :7001) did not answer PING for 2 minutes, or its host stopped reporting.",
    action: "Look at the host: `systemctl status redis-server@<port>` and /var/log/redis. Restart it; it rejoins as a replica. Then check placement (docs/redis.md).",
  },
  "redis-memory-high": {
    system: "redis", title: "Redis memory near maxmemory",
    meaning: "An instance's used_memory stayed above alerts.thresholds.redisMemoryUsedPercent of maxmemory for 5 minutes; at 100% writes fail (noeviction) or keys are evicted.",
    action: "Find big keys (`redis-cli --bigkeys`), expire data, or raise redis.maxmemoryMb / the instance type (a rolling change).",
  },
  "redis-masters-on-host": {
    system: "redis", title: "Redis placement lost (two masters on a host)",
    meaning: "After a failover a host serves two masters: losing that host now loses two masters at once, and the cluster with them.",
    action: "Once the failed node is back as a replica, re-run the cluster step (`pulumi up`), which restores one master per host with a coordinated failover (docs/redis.md).",
  },
  "redis-cluster-state": {
    system: "redis", title: "Redis cluster state not ok",
    meaning: "cluster_state was not ok for 2 minutes (in some host's view), or no host reported: clients get CLUSTERDOWN.",
    action: "Run `redis-cli --cluster check <ip>:7000` on a host; bring failed nodes back; if slots are uncovered after a lost master with no replica, restore from backup (docs/redis.md).",
  },
  "redis-slots-unassigned": {
    system: "redis", title: "Redis slots unassigned",
    meaning: "Not all 16384 slots have a master: part of the key space is not served.",
    action: "`redis-cli --cluster check` then `--cluster fix` once every node is up; re-run the cluster step.",
  },
  "redis-slots-degraded": {
    system: "redis", title: "Redis slots degraded",
    meaning: "Some slots' master is failing (cluster_slots_ok below 16384): a master is down and its replica has not taken over yet.",
    action: "Usually clears by itself within seconds (failover). If it stays, the failing master has no healthy replica: bring the node back.",
  },
  "redis-known-nodes": {
    system: "redis", title: "Redis node missing from the cluster",
    meaning: "A host's view of the cluster has fewer nodes than the stack runs (a node was forgotten or never joined).",
    action: "Re-run the cluster step (`pulumi up`); it adds missing nodes as replicas.",
  },
  "redis-replica-missing": {
    system: "redis", title: "Redis master without an in-sync replica",
    meaning: "A master with slots has had no online replica for 3 minutes (replica down or still syncing, or a failover left the new master alone): one more failure loses data.",
    action: "Bring the missing replica back (restart the stopped instance, or replace the lost host); it syncs from its master. Check the RedisReplicasInSync widget.",
  },
  "es-node-down": {
    system: "elasticsearch", title: "Elasticsearch node down",
    meaning: "A node did not answer its health API for 2 minutes, or its host stopped reporting.",
    action: "`systemctl status elasticsearch` and /var/log/elasticsearch on the host; restart it (heap, disk and the cluster's health first).",
  },
  "es-cluster-red": {
    system: "elasticsearch", title: "Elasticsearch cluster red",
    meaning: "A primary shard is unassigned, or no master is elected (cluster health answers 503 master_not_discovered_exception): some or all data cannot be searched or written.",
    action: "No master: bring master-eligible nodes back until a majority of them runs (`GET _cat/nodes`, /var/log/elasticsearch). Red: `GET _cluster/allocation/explain`; bring lost data nodes back; restore the index from a snapshot if its primary is gone.",
  },
  "es-check-rejected": {
    system: "elasticsearch", title: "Elasticsearch refuses the health checker",
    meaning: "A node answers but rejects the checker's credentials (HTTP 401/403) for 5 minutes: the node is up, but its heap, disk and the cluster's health are not checked from it.",
    action: "Check the elastic user's password in the host's curl config (/etc/elasticsearch/opsfleet/elastic.curlrc) against the cluster (a password changed outside Pulumi); `pulumi up` rewrites it.",
  },
  "es-unassigned-shards": {
    system: "elasticsearch", title: "Elasticsearch unassigned shards",
    meaning: "Shards stayed unassigned longer than alerts.thresholds.esUnassignedShardsMinutes (yellow or red): redundancy is reduced.",
    action: "`GET _cluster/allocation/explain`: usually a missing data node, a disk watermark, or more replicas than data nodes.",
  },
  "es-heap-high": {
    system: "elasticsearch", title: "Elasticsearch heap pressure",
    meaning: "A node's JVM heap stayed above alerts.thresholds.esHeapUsedPercent for 5 minutes: long GCs and circuit breakers follow.",
    action: "Check the node's GC log and the heaviest queries/aggregations; reduce shard count or scale the data nodes (docs/elk.md).",
  },
  "es-disk-high": {
    system: "elasticsearch", title: "Elasticsearch disk watermark near",
    meaning: "A node's data path is fuller than alerts.thresholds.esDiskUsedPercent; at 85% Elasticsearch stops allocating shards to it, at 95% indices become read-only.",
    action: "Delete or shrink old indices (ILM), or grow the data volume (elk.data.volumeSizeGb).",
  },
  "db-down": {
    system: "database", title: "Database down",
    meaning: "The database did not answer for 2 minutes, or its host stopped reporting.",
    action: "`systemctl status mariadb` (or mysql) and /var/log/mysql/error.log; a missing key file stops the server on purpose (restore it from the key backup, docs/database.md).",
  },
  "db-unencrypted-tables": {
    system: "database", title: "Unencrypted database tables",
    meaning: "A table is stored unencrypted (an InnoDB tablespace without encryption, or a table of another engine in an application schema).",
    action: "Find it with `/etc/mysql/opsfleet/verify-encryption`; `ALTER TABLE ... ENCRYPTED=YES` (or ENGINE=InnoDB); find out how it was created (innodb_encrypt_tables must stay FORCE).",
  },
  "db-old-key-tablespaces": {
    system: "database", title: "Tablespaces on an old key",
    meaning: "After a key rotation some tablespaces still use an older key id (MariaDB): the rotation did not finish.",
    action: "Re-run `/etc/mysql/opsfleet/rotate-keys` (idempotent) and check its log /var/log/mysql/key-rotation.log.",
  },
  "db-key-age": {
    system: "database", title: "Database key too old",
    meaning: "The encryption key material has not changed for longer than alerts.thresholds.dbKeyMaxAgeDays: scheduled rotation is not running.",
    action: "Check the rotation timer (`systemctl list-timers opsfleet-db-key-rotation*`) and its log; rotate on demand with /etc/mysql/opsfleet/rotate-keys.",
  },
  "backup-overdue": {
    system: "backup", title: "Backup overdue",
    meaning: "A backup job's last good run is older than its interval plus alerts.thresholds.backupLateMinutes, or the job reported nothing for that long (its timer stopped, the host is down, or it never ran): a restore now loses more than the schedule promises.",
    action: "On the host: `systemctl list-timers 'opsfleet-*'` (jobs: full opsfleet-db-backup, binlog opsfleet-db-binlog-ship, rdb opsfleet-redis-backup, slm opsfleet-es-slm-status on the first Elasticsearch master, which reports the SLM policy's last snapshot) and the log (/var/log/mysql/backup.log, /var/log/redis/backup.log, /var/log/elasticsearch/opsfleet-slm-status.log; for slm also GET _slm/policy/opsfleet-snapshots); fix the cause (host down, timer disabled, bucket access), then `systemctl start <job>` and see the age drop (docs/database.md, docs/redis.md, docs/elk.md).",
  },
  "backup-failed": {
    system: "backup", title: "Backup run failed",
    meaning: "The job's latest run within one interval published BackupSuccess 0: it stored no backup (the previous good one still counts for the overdue alarm).",
    action: "Read the run's log (/var/log/mysql/backup.log or /var/log/redis/backup.log, or `journalctl -u <job>`): the script names the failing step (service not running, upload, key store). Fix it, then `systemctl start <job>`.",
  },
  "host-checker-silent": {
    system: "hosts", title: "Host health checker silent",
    meaning: "A host published no heartbeat (HostCheckerUp) for 3 minutes although its checker runs every minute: the host is down or unreachable, or its checker timer, script or metric permission is broken. Covers every host, including those without a \"down\" alarm (Logstash, the bastion).",
    action: "`systemctl status opsfleet-health.timer opsfleet-health.service` and `journalctl -u opsfleet-health` on the host; if the host does not answer, see the EC2 status check alarms.",
  },
  "host-disk-full": {
    system: "hosts", title: "Volume filling up",
    meaning: "A host's root or data volume is fuller than alerts.thresholds.diskUsedPercent.",
    action: "Find what grows (`du -xh --max-depth=2`); grow the volume (its size setting, an in-place EBS change) before it is full.",
  },
  "host-status-system": {
    system: "hosts", title: "EC2 system status check failed (recovering)",
    meaning: "AWS's system status check failed for 2 minutes (host hardware/network): EC2 recovers the instance onto other hardware, same id, IP and volumes. Only hosts whose instance type EC2 can recover get this alarm (not types with instance store such as m5d, r6gd, i3, c5d, nor .metal types); on those, a failed system check shows as the host's down alarms and EC2's scheduled-event notice: stop and start the instance.",
    action: "Nothing unless it repeats; after recovery check the host's services (Redis rejoins as a replica, placement alarm may follow).",
  },
  "host-status-instance": {
    system: "hosts", title: "EC2 instance status check failed",
    meaning: "The instance's own status check failed for 3 minutes (kernel, file system, network configuration).",
    action: "Look at the console output / screenshot; reboot the instance; if it stays broken, replace the host (data volumes move, docs per system).",
  },
} as const satisfies Record<string, AlarmKind>;

export type AlarmKindId = keyof typeof ALARM_KINDS;

/** What the stack's host checkers publish (its own namespace). */
export const hostMetric = (stack: string, metricName: HostMetricName, dimensions: Record<string, Dim>): MetricRef =>
  ({ namespace: hostMetricsNamespace(stack), metricName, dimensions });
/** What the stack's backup scripts publish: dimensions System, Job, Host (the namespace is the stack's). */
export const backupMetric = (stack: string, metricName: BackupMetricName, j: Pick<BackupJobRef, "system" | "job" | "host">): MetricRef =>
  ({ namespace: hostMetricsNamespace(stack), metricName, dimensions: { System: j.system, Job: j.job, Host: j.host } });

/**
 * Seconds of the overdue window: the interval plus the allowed lateness, a whole number of minutes
 * (CloudWatch periods are multiples of 60 s; at most 7 days for one period).
 */
export const backupWindowSeconds = (intervalMinutes: number, lateMinutes: number) => Math.min(7 * 24 * 60, intervalMinutes + lateMinutes) * 60;

/**
 * Default key age limit per rotation schedule: one period plus a day of slack. With rotation off
 * there is no default: an alarm would fire forever on a key that is meant to stay.
 */
export const KEY_MAX_AGE_DAYS = { daily: 2, weekly: 9, monthly: 33, off: undefined } as const;

/** Every alarm of a stack (pure). */
export function planAlarms(s: MonitoredStack, t: Thresholds): AlarmSpec[] {
  const out: AlarmSpec[] = [];
  // host names start with the stack's prefix already: "dev-redis-node-down-redis-0-7000"
  const short = (host: string) => (host.startsWith(`${s.stack}-`) ? host.slice(s.stack.length + 1) : host);
  const add = (kind: AlarmKindId, subject: string | undefined, spec: Omit<AlarmSpec, "kind" | "system" | "name" | "description">) => {
    const name = [s.stack, kind, subject === undefined ? undefined : short(subject)].filter(Boolean).join("-");
    const k: AlarmKind = ALARM_KINDS[kind];
    out.push({ kind, system: k.system, name, description: `${k.title}${subject ? ` (${subject})` : ""}: ${k.meaning}`, ...spec });
  };
  const minutes = (n: number) => ({ period: 60, evaluationPeriods: n, datapointsToAlarm: n });

  if (s.web) {
    const w = s.web;
    const reconciler = (metricName: string) => ({
      namespace: RECONCILER_METRICS.namespace, metricName, dimensions: { service: RECONCILER_METRICS.service, OnDemandAsg: w.onDemandAsgName },
    });
    const lambda = (metricName: string) => ({ namespace: "AWS/Lambda", metricName, dimensions: { FunctionName: w.functionName } });
    add("web-capacity-deficit", undefined, { metric: { ...reconciler("CapacityDeficit"), statistic: "Maximum" }, ...minutes(3), threshold: 0, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching" });
    const periods = Math.ceil(t.onDemandMaxMinutes / 5);
    add("web-on-demand-in-use", undefined, {
      metric: { ...reconciler("OnDemandDesiredCapacity"), statistic: "Minimum" }, period: 300, evaluationPeriods: periods, datapointsToAlarm: periods,
      threshold: 0, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching",
    });
    add("web-reconciler-errors", undefined, { metric: { ...lambda("Errors"), statistic: "Sum" }, period: 300, evaluationPeriods: 1, datapointsToAlarm: 1, threshold: 0, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching" });
    add("web-reconciler-throttles", undefined, { metric: { ...lambda("Throttles"), statistic: "Sum" }, period: 300, evaluationPeriods: 1, datapointsToAlarm: 1, threshold: 0, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching" });
    add("web-reconciler-not-invoked", undefined, { metric: { ...lambda("Invocations"), statistic: "Sum" }, period: 300, evaluationPeriods: 1, datapointsToAlarm: 1, threshold: 1, comparison: "LessThanThreshold", treatMissingData: "breaching" });
    for (const [which, queue] of Object.entries(w.deadLetterQueueNames)) {
      add("web-dlq-not-empty", which, {
        metric: { namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: queue }, statistic: "Maximum" },
        period: 300, evaluationPeriods: 1, datapointsToAlarm: 1, threshold: 0, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching",
      });
    }
    add("web-reconcile-queue-stalled", undefined, {
      metric: { namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: w.reconcileQueueName }, statistic: "Maximum" },
      period: 300, evaluationPeriods: 1, datapointsToAlarm: 1, threshold: 300, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching",
    });
    const alb = { LoadBalancer: w.loadBalancerArnSuffix };
    add("web-unhealthy-hosts", undefined, {
      metric: { namespace: "AWS/ApplicationELB", metricName: "UnHealthyHostCount", dimensions: { TargetGroup: w.targetGroupArnSuffix, ...alb }, statistic: "Maximum" },
      ...minutes(5), threshold: 0, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching",
    });
    add("web-5xx-rate", undefined, {
      math: {
        // RequestCount counts only requests for which the ALB chose a target: with no target the ALB
        // answers 503 itself and RequestCount has no data, so its own 5xx join the denominator
        expression: "100 * (FILL(m1, 0) + FILL(m2, 0)) / (FILL(m3, 0) + FILL(m1, 0))", label: "5xx % of requests (ELB 5xx counted as requests)",
        metrics: [
          { id: "m1", namespace: "AWS/ApplicationELB", metricName: "HTTPCode_ELB_5XX_Count", dimensions: alb, statistic: "Sum" },
          { id: "m2", namespace: "AWS/ApplicationELB", metricName: "HTTPCode_Target_5XX_Count", dimensions: alb, statistic: "Sum" },
          { id: "m3", namespace: "AWS/ApplicationELB", metricName: "RequestCount", dimensions: alb, statistic: "Sum" },
        ],
      },
      ...minutes(5), threshold: t.alb5xxPercent, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching",
    });
  }

  if (s.redis) {
    const r = s.redis;
    const cluster = { Stack: s.stack, Cluster: r.cluster };
    for (const host of r.hosts) {
      for (const port of r.ports) {
        const dims = { Stack: s.stack, Host: host, Port: String(port) };
        add("redis-node-down", `${host}-${port}`, { metric: { ...hostMetric(s.stack, "RedisNodeUp", dims), statistic: "Minimum" }, ...minutes(2), threshold: 1, comparison: "LessThanThreshold", treatMissingData: "breaching", publishedBy: [host] });
        add("redis-memory-high", `${host}-${port}`, {
          metric: { ...hostMetric(s.stack, "RedisMemoryUsedPercent", dims), statistic: "Maximum" }, ...minutes(5), threshold: t.redisMemoryUsedPercent, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching",
        });
      }
      add("redis-masters-on-host", host, {
        metric: { ...hostMetric(s.stack, "RedisMastersOnHost", { Stack: s.stack, Host: host }), statistic: "Minimum" }, period: 300, evaluationPeriods: 2, datapointsToAlarm: 2,
        threshold: 1, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching",
      });
    }
    add("redis-cluster-state", undefined, { metric: { ...hostMetric(s.stack, "RedisClusterStateOk", cluster), statistic: "Minimum" }, ...minutes(2), threshold: 1, comparison: "LessThanThreshold", treatMissingData: "breaching", publishedBy: r.hosts });
    add("redis-slots-unassigned", undefined, { metric: { ...hostMetric(s.stack, "RedisSlotsAssigned", cluster), statistic: "Minimum" }, ...minutes(2), threshold: REDIS_TOTAL_SLOTS, comparison: "LessThanThreshold", treatMissingData: "notBreaching" });
    add("redis-slots-degraded", undefined, { metric: { ...hostMetric(s.stack, "RedisSlotsOk", cluster), statistic: "Minimum" }, ...minutes(1), threshold: REDIS_TOTAL_SLOTS, comparison: "LessThanThreshold", treatMissingData: "notBreaching" });
    add("redis-known-nodes", undefined, {
      // two periods: a scale-in lowers the threshold right after its cluster step removed the nodes (seconds, never 10 minutes)
      metric: { ...hostMetric(s.stack, "RedisKnownNodes", cluster), statistic: "Minimum" }, period: 300, evaluationPeriods: 2, datapointsToAlarm: 2,
      threshold: r.hosts.length * r.ports.length, thresholdNote: `${r.ports.length} nodes on each of ${r.hosts.length} hosts`, comparison: "LessThanThreshold", treatMissingData: "notBreaching",
    });
    add("redis-replica-missing", undefined, { metric: { ...hostMetric(s.stack, "RedisUnreplicatedMasters", cluster), statistic: "Maximum" }, ...minutes(3), threshold: 0, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching" });
  }

  if (s.elasticsearch) {
    const e = s.elasticsearch;
    const cluster = { Stack: s.stack, Cluster: e.cluster };
    for (const host of e.hosts) {
      const dims = { Stack: s.stack, Host: host };
      add("es-node-down", host, { metric: { ...hostMetric(s.stack, "EsNodeUp", dims), statistic: "Minimum" }, ...minutes(2), threshold: 1, comparison: "LessThanThreshold", treatMissingData: "breaching", publishedBy: [host] });
      add("es-check-rejected", host, { metric: { ...hostMetric(s.stack, "EsCheckRejected", dims), statistic: "Minimum" }, ...minutes(5), threshold: 0, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching" });
      add("es-heap-high", host, { metric: { ...hostMetric(s.stack, "EsHeapUsedPercent", dims), statistic: "Minimum" }, ...minutes(5), threshold: t.esHeapUsedPercent, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching" });
      add("es-disk-high", host, { metric: { ...hostMetric(s.stack, "EsDiskUsedPercent", dims), statistic: "Maximum" }, period: 300, evaluationPeriods: 1, datapointsToAlarm: 1, threshold: t.esDiskUsedPercent, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching" });
    }
    add("es-cluster-red", undefined, { metric: { ...hostMetric(s.stack, "EsClusterStatus", cluster), statistic: "Maximum" }, ...minutes(2), threshold: 2, comparison: "GreaterThanOrEqualToThreshold", treatMissingData: "notBreaching" });
    add("es-unassigned-shards", undefined, {
      metric: { ...hostMetric(s.stack, "EsUnassignedShards", cluster), statistic: "Minimum" }, ...minutes(t.esUnassignedShardsMinutes), threshold: 0, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching",
    });
  }

  if (s.database) {
    const dims = { Stack: s.stack, Host: s.database.host };
    add("db-down", s.database.host, { metric: { ...hostMetric(s.stack, "DbUp", dims), statistic: "Minimum" }, ...minutes(2), threshold: 1, comparison: "LessThanThreshold", treatMissingData: "breaching", publishedBy: [s.database.host] });
    add("db-unencrypted-tables", s.database.host, { metric: { ...hostMetric(s.stack, "DbUnencryptedTables", dims), statistic: "Minimum" }, ...minutes(3), threshold: 0, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching" });
    if (s.database.engine === "mariadb") {
      add("db-old-key-tablespaces", s.database.host, {
        metric: { ...hostMetric(s.stack, "DbTablespacesOnOldKey", dims), statistic: "Minimum" }, period: 300, evaluationPeriods: 2, datapointsToAlarm: 2, threshold: 0, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching",
      });
    }
    if (t.dbKeyMaxAgeDays !== undefined) add("db-key-age", s.database.host, { metric: { ...hostMetric(s.stack, "DbKeyAgeDays", dims), statistic: "Maximum" }, period: 3600, evaluationPeriods: 1, datapointsToAlarm: 1, threshold: t.dbKeyMaxAgeDays, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching" });
  }

  for (const j of s.backups ?? []) {
    const window = backupWindowSeconds(j.intervalMinutes, t.backupLateMinutes);
    // every run publishes the age (about 0 after a good one): a window without any value means the
    // job did not run at all, which is breaching
    add("backup-overdue", `${j.host}-${j.job}`, {
      metric: { ...backupMetric(s.stack, "LastGoodBackupAgeSeconds", j), statistic: "Maximum" }, period: window, evaluationPeriods: 1, datapointsToAlarm: 1,
      threshold: window, comparison: "GreaterThanThreshold", treatMissingData: "breaching", publishedBy: [j.host],
    });
    // one interval: the failure stays visible until the next run (missing data: the overdue alarm's job)
    add("backup-failed", `${j.host}-${j.job}`, {
      metric: { ...backupMetric(s.stack, "BackupSuccess", j), statistic: "Minimum" }, period: Math.min(7 * 24 * 60, j.intervalMinutes) * 60, evaluationPeriods: 1, datapointsToAlarm: 1,
      threshold: 1, comparison: "LessThanThreshold", treatMissingData: "notBreaching",
    });
  }

  for (const h of s.hosts) {
    add("host-checker-silent", h.name, {
      metric: { ...hostMetric(s.stack, "HostCheckerUp", { Stack: s.stack, Host: h.name }), statistic: "Minimum" }, ...minutes(3), threshold: 1, comparison: "LessThanThreshold", treatMissingData: "breaching", publishedBy: [h.name],
    });
    for (const m of h.mounts) {
      add("host-disk-full", `${h.name}${m === "/" ? "-root" : m.replace(/\//g, "-")}`, {
        metric: { ...hostMetric(s.stack, "DiskUsedPercent", { Stack: s.stack, Host: h.name, MountPoint: m }), statistic: "Maximum" }, period: 300, evaluationPeriods: 1, datapointsToAlarm: 1,
        threshold: t.diskUsedPercent, comparison: "GreaterThanThreshold", treatMissingData: "notBreaching",
      });
    }
    const ec2 = (metricName: string) => ({ namespace: "AWS/EC2", metricName, dimensions: { InstanceId: h.instanceId }, statistic: "Maximum" as const });
    if (h.recover) {
      add("host-status-system", h.name, {
        metric: ec2("StatusCheckFailed_System"), ...minutes(2), threshold: 1, comparison: "GreaterThanOrEqualToThreshold", treatMissingData: "notBreaching",
        extraAlarmActions: (region) => [`arn:aws:automate:${region}:ec2:recover`],
      });
    }
    add("host-status-instance", h.name, { metric: ec2("StatusCheckFailed_Instance"), ...minutes(3), threshold: 1, comparison: "GreaterThanOrEqualToThreshold", treatMissingData: "notBreaching" });
  }
  return out;
}

const OPS: Record<Comparison, string> = { GreaterThanThreshold: ">", GreaterThanOrEqualToThreshold: ">=", LessThanThreshold: "<", LessThanOrEqualToThreshold: "<=" };

/** "Maximum of Opsfleet/Hosts/dev RedisNodeUp < 1 for 2 of 2 periods of 60 s" (README, plan review). */
export function describeCondition(a: Pick<AlarmSpec, "metric" | "math" | "comparison" | "threshold" | "thresholdNote" | "period" | "evaluationPeriods" | "datapointsToAlarm" | "treatMissingData">): string {
  const what = a.metric ? `${a.metric.statistic} of ${a.metric.namespace} ${a.metric.metricName}` : `${a.math!.label} (${a.math!.metrics.map((m) => m.metricName).join(", ")})`;
  const threshold = a.thresholdNote ? `${a.threshold} (${a.thresholdNote})` : a.threshold;
  return `${what} ${OPS[a.comparison]} ${threshold} in ${a.datapointsToAlarm} of ${a.evaluationPeriods} periods of ${a.period} s${a.treatMissingData === "breaching" ? "; no data counts as failing" : ""}`;
}
