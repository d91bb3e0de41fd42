/**
 * `opsfleet:backup`: backups of the data systems (used when features.backup). One schedule shape
 * everywhere: an interval DLM accepts (1, 2, 3, 4, 6, 8, 12 or 24 h) from a UTC start time.
 */
import { z } from "zod";
import { intBetween } from "./common";
import { INTERVAL_HOURS, type IntervalHours } from "../../provision/backup/schedule";

const intervalHours = z.union(INTERVAL_HOURS.map((h) => z.literal(h)) as unknown as [z.ZodLiteral<IntervalHours>, z.ZodLiteral<IntervalHours>], {
  message: `must be one of ${INTERVAL_HOURS.join(", ")} (hours; the intervals AWS DLM accepts)`,
});
const startTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'must be "HH:MM", 24-hour UTC, e.g. "02:15"' });
const schedule = (every: number, at: string, what: string) => ({
  intervalHours: intervalHours.default(every as IntervalHours).describe(`Hours between ${what} (${INTERVAL_HOURS.join(", ")}). Default ${every}.`),
  startTime: startTime.default(at).describe(`A time of day (HH:MM UTC) one of the ${what} run at; they repeat every intervalHours around the clock (e.g. "02:15" every 6 h: 02:15, 08:15, 14:15, 20:15). Default ${at}.`),
});

export const backupConfigSchema = z
  .strictObject({
    retentionDays: intBetween(1, 3650).default(14)
      .describe("Days database and Redis backups (and overwritten object versions) stay in the bucket; also the default snapshot retention."),
    database: z.strictObject({
      ...schedule(24, "02:15", "full backups"),
      recoveryPointMinutes: intBetween(1, 60).default(5)
        .describe("Binary logs are shipped this often (1 to 60): the most recent minutes a restore can lose (recovery point objective); always well inside retentionDays."),
    }).prefault({}).describe("Database: full physical backups (mariadb-backup / XtraBackup) + binary log shipping for point-in-time recovery."),
    redis: z.strictObject(schedule(6, "00:45", "RDB snapshots")).prefault({}).describe("Redis: an RDB snapshot of every master to the bucket."),
    elasticsearch: z.strictObject({
      ...schedule(24, "01:30", "snapshots"),
      expireAfterDays: intBetween(1, 3650).optional().describe("SLM deletes snapshots older than this (default retentionDays)."),
      minCount: intBetween(1, 100).default(5).describe("SLM keeps at least this many snapshots, however old."),
      maxCount: intBetween(1, 1000).default(50).describe("SLM keeps at most this many snapshots."),
    }).prefault({}).describe("Elasticsearch: snapshot lifecycle (SLM) into the S3 repository."),
    snapshots: z.strictObject({
      ...schedule(24, "03:00", "EBS snapshots"),
      retentionDays: intBetween(1, 3650).optional().describe("Days an EBS snapshot is kept (default retentionDays)."),
    }).prefault({}).describe("EBS snapshots of every data and key volume (Data Lifecycle Manager, volumes selected by the opsfleet:stack tag)."),
  })
  .superRefine((c, ctx) => {
    // (an interval of at most 24 h and a recovery point of at most 60 min always fit in retentionDays >= 1)
    const es = c.elasticsearch;
    if (es && typeof es.minCount === "number" && typeof es.maxCount === "number" && es.minCount > es.maxCount) {
      ctx.addIssue({ code: "custom", path: ["elasticsearch", "minCount"], input: es.minCount, message: `must not exceed elasticsearch.maxCount (${es.maxCount}); SLM rejects it` });
    }
  })
  .describe("Backups: bucket retention, schedules per system, EBS snapshots.");

export type BackupConfig = z.infer<typeof backupConfigSchema>;
