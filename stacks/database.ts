/** Composes the database area from `opsfleet:database`: one encrypted MariaDB/MySQL host. */
import { hostMetricsNamespace } from "../provision/monitoring/namespace";
import type * as pulumi from "@pulumi/pulumi";
import { EncryptedDatabase, type DatabaseBackupArgs } from "../components/encrypted-database";
import type { BackupContext } from "./backup";
import type { DatabaseConfig } from "./config/database";
import { hostAccessArgs, type StackContext } from "./context";

export interface DatabaseOutputs {
  /** `<private ip>:3306`, reachable from the client security groups only. */
  endpoint: pulumi.Output<string>;
  engine: string;
  databaseName: string;
  appUser: string;
  securityGroupId: pulumi.Output<string>;
  /** Key material on the host: back it up together with the data (without it the data is lost). */
  keyDir: string;
}

/** The key store entry, the role's "backup" concern and the host-side settings. */
function databaseBackup(b: BackupContext, ctx: StackContext): DatabaseBackupArgs {
  const prefix = b.prefix("database", `${ctx.prefix}-db`);
  const keyParameterName = `/opsfleet/${ctx.prefix}/database/keys`;
  const parameter = b.store.keyParameter(`${ctx.prefix}-db-keys`, keyParameterName);
  ctx.hostRoles?.for("database").allow("backup", b.store.hostStatements({ prefix, region: b.region, keyParameterArn: parameter.arn }));
  return {
    bucket: b.store.bucketName,
    prefix,
    region: b.region,
    metricNamespace: hostMetricsNamespace(ctx.prefix),
    keyParameterName,
    keyStoreKmsKeyId: b.store.keyStoreKmsKeyArn,
    schedule: { intervalHours: b.config.database.intervalHours, startTime: b.config.database.startTime },
    recoveryPointMinutes: b.config.database.recoveryPointMinutes,
  };
}

export function composeDatabase(cfg: DatabaseConfig, ctx: StackContext): DatabaseOutputs {
  const { dbRootPassword, dbAppPassword } = ctx.secrets;
  if (!dbRootPassword) throw new Error("opsfleet:dbRootPassword: missing secret (needed by database)");
  if (!dbAppPassword) throw new Error("opsfleet:dbAppPassword: missing secret (needed by database)");
  const subnetId = ctx.privateSubnetIds[cfg.subnetIndex];
  if (subnetId === undefined) {
    throw new Error(`opsfleet:database.subnetIndex: out of range (got ${cfg.subnetIndex}; allowed: 0 to ${ctx.privateSubnetIds.length - 1}, one per private subnet)`);
  }

  const backupArgs = ctx.backup ? databaseBackup(ctx.backup, ctx) : undefined;
  const db = new EncryptedDatabase(`${ctx.prefix}-db`, {
    ...hostAccessArgs(ctx, "database"),
    engine: cfg.engine,
    subnetId,
    instanceType: cfg.instanceType,
    clientSecurityGroupIds: ctx.clientSecurityGroupIds,
    rootPassword: dbRootPassword,
    appPassword: dbAppPassword,
    databaseName: cfg.databaseName,
    appUser: cfg.appUser,
    appUserHost: cfg.appUserHost,
    dataVolumeSizeGb: cfg.dataVolumeSizeGb,
    dataVolumeIops: cfg.dataVolumeIops,
    keyVolumeSizeGb: cfg.keyVolumeSizeGb,
    keyRotationSchedule: cfg.keyRotationSchedule,
    encryptionThreads: cfg.encryptionThreads,
    binlogExpireDays: cfg.binlogExpireDays,
    backup: backupArgs,
  }, ctx.opts);
  ctx.inventory?.add("database", [db.host], cfg.instanceType);

  return {
    endpoint: db.endpoint,
    engine: db.engine,
    databaseName: db.databaseName,
    appUser: db.appUser,
    securityGroupId: db.securityGroupId,
    keyDir: db.keyDir,
  };
}
