/**
 * Composes the backup storage from `opsfleet:backup` (when features.backup): the stack's bucket,
 * key store KMS key and EBS snapshot policy. The areas add their host-side backups through
 * `ctx.backup` (their prefix, schedules, and a "backup" concern on their host role).
 */
import { BackupStore } from "../components/backup/store";
import { BACKUP_PREFIXES } from "../components/backup/policy";
import type { BackupConfig } from "./config/backup";
import type { StackContext } from "./context";

export interface BackupContext {
  store: BackupStore;
  config: BackupConfig;
  region: string;
  /** Prefix of one system's backups in the bucket, e.g. "database/dev-db". */
  prefix(system: keyof typeof BACKUP_PREFIXES, name: string): string;
}

export function composeBackupStore(cfg: BackupConfig, ctx: StackContext, region: string): BackupContext {
  const store = new BackupStore(`${ctx.prefix}-backups`, {
    retentionDays: cfg.retentionDays,
    snapshots: {
      intervalHours: cfg.snapshots.intervalHours,
      startTime: cfg.snapshots.startTime,
      retentionDays: cfg.snapshots.retentionDays ?? cfg.retentionDays,
    },
    // every data and key volume of this stack carries it (the stack's tags); root volumes do not
    snapshotTargetTags: { "opsfleet:stack": ctx.tags["opsfleet:stack"] ?? ctx.prefix },
    protect: ctx.protectData,
    tags: ctx.tags,
  }, ctx.opts);
  return { store, config: cfg, region, prefix: (system, name) => `${BACKUP_PREFIXES[system]}/${name}` };
}
