/**
 * Database backup and restore at size: a MariaDB test host filled by `sysbench oltp_read_write
 * prepare` (rows of random digits: c CHAR(120) and pad CHAR(60), so zstd finds little to squeeze),
 * then the same rendered backup step and restore script as provision/backup/database.hosts.test.ts
 * against the same stand-ins (s3rver, the SSM/CloudWatch stand-in) on lab "bkbench". Reports the
 * full backup's and the restore's wall time and the bytes stored per GB of data directory.
 */
import { renderDatabaseSteps, renderUsersStep, type DatabaseProvisionOptions } from "../provision/database";
import { DB_BACKUP_PATHS, renderDatabaseBackupStep } from "../provision/backup/database";
import { awsCliFiles, startKeyStoreStandIn, startS3StandIn } from "../test/hosts/aws-stand-ins";
import { checkHostTestEnvironment } from "../test/hosts/guard";
import { startLab, type Lab } from "../test/hosts/lab";

/** Rows: 8 tables x 600,000 rows is about 1.2 GB of data directory (InnoDB, encrypted). */
const TABLES = 8;
const TABLE_SIZE = 600_000;
const GB = 1e9;
const BUCKET = "opsfleet-bench-backups";
const database: DatabaseProvisionOptions = { engine: "mariadb", keyDir: "/etc/mysql/keyring" };

export async function run(): Promise<Record<string, unknown>> {
  const env = checkHostTestEnvironment(["mariadbd", "mariadb-backup", "mbstream", "aws", "zstd", "sysbench"]);
  if (!env.ok) throw new Error(`database-backup bench needs the host-test environment: ${env.reason}`);
  const lab: Lab = await startLab({ name: "bkbench", hosts: [{ name: "db1", ip: "10.78.11.11" }, { name: "db2", ip: "10.78.11.12" }] });
  const [s3, ks] = await Promise.all([startS3StandIn(lab.gatewayIp, [BUCKET]), startKeyStoreStandIn(lab.gatewayIp)]);
  const sh = async (h: string, cmd: string, timeoutMs = 1_800_000) => {
    const t0 = Date.now();
    const r = await lab.ssh(h, cmd, undefined, { timeoutMs });
    if (r.code !== 0) throw new Error(`${h}: ${cmd} failed (${r.code}): ${r.stderr.slice(-2000)}`);
    return { ...r, seconds: (Date.now() - t0) / 1000 };
  };
  try {
    const backup = renderDatabaseBackupStep({
      database,
      target: { bucket: BUCKET, prefix: "database/bench-db-host", region: "eu-west-1", hostLabel: "bench-db-host", metricNamespace: "Opsfleet/Hosts/bench", endpoints: { s3: s3.endpoint, ssm: ks.endpoint, cloudwatch: ks.endpoint } },
      keyParameter: "/opsfleet/bench/database/keys", keyStoreKmsKeyId: "alias/opsfleet-bench-keys",
      schedule: { intervalHours: 24, startTime: "02:15" }, recoveryPointMinutes: 5,
    });
    const aws = awsCliFiles("eu-west-1");
    const provision = async (h: string) => {
      await lab.ssh(h, "install -d -m 0700 /root/.aws && cat > /root/.aws/credentials && chmod 0600 /root/.aws/credentials", aws.credentials);
      const { before, after } = renderDatabaseSteps(database);
      for (const step of before) await lab.runStep(h, step);
      await lab.runStep(h, renderUsersStep(database, { rootPassword: "root-pw-0123456789ab", appPassword: "app-pw-0123456789abc" }));
      for (const step of after) await lab.runStep(h, step);
    };
    await Promise.all([provision("db1"), provision("db2")]);
    await lab.runStep("db1", backup);

    const prepare = await sh("db1", `sysbench oltp_read_write --db-driver=mysql --mysql-socket=/run/mysqld/mysqld.sock --mysql-user=root --mysql-db=app --tables=${TABLES} --table-size=${TABLE_SIZE} --threads=2 prepare`);
    const rows = Number((await sh("db1", `mariadb -N -B app -e "SELECT ${Array.from({ length: TABLES }, (_, i) => `(SELECT COUNT(*) FROM sbtest${i + 1})`).join(" + ")}"`)).stdout.trim());
    const full = await sh("db1", DB_BACKUP_PATHS.fullBackup);


    const dataBytes = Number((await sh("db1", "du -sb /var/lib/mysql | cut -f1")).stdout.trim());
    const stored = /(\d+) bytes stored/.exec(full.stdout);
    if (!stored) throw new Error(`full backup output lacks the stored size:\n${full.stdout}`);
    const storedBytes = Number(stored[1]);
    if (dataBytes < GB) throw new Error(`data directory ${dataBytes} bytes: below the 1 GB this bench promises`);

    // db2 is the new host: restore to the latest point, without the closing full backup (measured above)
    await lab.runStep("db2", backup);
    const restore = await sh("db2", `${DB_BACKUP_PATHS.restore} --no-backup --yes`);
    const restoredRows = Number((await sh("db2", `mariadb -N -B app -e "SELECT ${Array.from({ length: TABLES }, (_, i) => `(SELECT COUNT(*) FROM sbtest${i + 1})`).join(" + ")}"`)).stdout.trim());
    if (restoredRows !== rows) throw new Error(`restore brought back ${restoredRows} rows of ${rows}`);

    return {
      data: `sysbench oltp_read_write prepare: ${TABLES} tables x ${TABLE_SIZE} rows (random-digit CHAR(120)+CHAR(60) per row), InnoDB encrypted at rest`,
      rows,
      dataDirBytes: dataBytes,
      prepareSeconds: Math.round(prepare.seconds),
      fullBackupSeconds: Math.round(full.seconds * 10) / 10,
      backupMBPerSecond: Math.round(dataBytes / 1e6 / full.seconds),
      storedBytes,
      storedBytesPerGBOfData: Math.round(storedBytes / (dataBytes / GB)),
      restoreSeconds: Math.round(restore.seconds * 10) / 10,
      restoreMBPerSecond: Math.round(dataBytes / 1e6 / restore.seconds),
      restoredRowsMatch: true,
      loadAverageAtEnd: (await sh("db1", "cut -d' ' -f1-3 /proc/loadavg")).stdout.trim(),
    };
  } finally {
    await Promise.all([s3.close(), ks.close()]);
    await lab.stop();
  }
}
