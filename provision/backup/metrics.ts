/**
 * What the backup scripts publish (`metric SYSTEM JOB ...` in AWS_HELPERS, namespace
 * HOST_METRICS_NAMESPACE): the metric names, their dimensions, and the jobs with how often each
 * runs. The alarms, the dashboard and the plan test read this table; a test checks that the
 * rendered scripts publish exactly these jobs.
 */

export const BACKUP_METRICS = {
  BackupSuccess: { unit: "Count", description: "1 after a run that stored its backup, 0 after a failed run" },
  LastGoodBackupAgeSeconds: { unit: "Seconds", description: "seconds since the last good run finished, at the end of each run (absent until one succeeded)" },
} as const;
export type BackupMetricName = keyof typeof BACKUP_METRICS;

/** Dimension names, in the order the scripts write them; `Host` is the Pulumi host name. */
export const BACKUP_METRIC_DIMENSIONS = ["System", "Job", "Host"] as const;

/** Jobs per system: the `System`/`Job` dimension values the scripts write. */
export const BACKUP_JOBS = {
  database: ["full", "binlog"],
  redis: ["rdb"],
  elasticsearch: ["slm"],
} as const;
export type BackupSystem = keyof typeof BACKUP_JOBS;

/** One job on one host, as monitoring sees it. */
export interface BackupJobRef {
  system: BackupSystem;
  job: (typeof BACKUP_JOBS)[BackupSystem][number];
  /** The `Host` dimension (the Pulumi host name the scripts' HOST_LABEL carries). */
  host: string;
  /** Minutes between runs of this job. */
  intervalMinutes: number;
}

/** The jobs of a stack's backups (pure): from the schedules and the hosts that run them. */
export function backupJobs(o: {
  database?: { host: string; intervalHours: number; recoveryPointMinutes: number };
  redis?: { hosts: string[]; intervalHours: number };
  /** The node that publishes the SLM status (the first master), and the snapshot interval. */
  elasticsearch?: { host: string; intervalHours: number };
}): BackupJobRef[] {
  const out: BackupJobRef[] = [];
  if (o.database) {
    out.push({ system: "database", job: "full", host: o.database.host, intervalMinutes: o.database.intervalHours * 60 });
    out.push({ system: "database", job: "binlog", host: o.database.host, intervalMinutes: o.database.recoveryPointMinutes });
  }
  for (const host of o.redis?.hosts ?? []) out.push({ system: "redis", job: "rdb", host, intervalMinutes: o.redis!.intervalHours * 60 });
  if (o.elasticsearch) out.push({ system: "elasticsearch", job: "slm", host: o.elasticsearch.host, intervalMinutes: o.elasticsearch.intervalHours * 60 });
  return out;
}
