/**
 * The database backup labs (provision/backup/database*.hosts.test.ts): two MariaDB test hosts
 * provisioned as on EC2, the bucket (s3rver) and the key store (SSM/CloudWatch stand-in) on the lab
 * bridge, and db1's backup step. db1 is the production host that gets lost; db2 the new host.
 */
import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { startLab, type Lab } from "./lab";
import { awsCliFiles, startKeyStoreStandIn, startS3StandIn, type KeyStoreStandIn, type S3StandIn } from "./aws-stand-ins";
import { renderDatabaseSteps, renderUsersStep, type DatabaseProvisionOptions } from "../../provision/database";
import { renderDatabaseBackupStep, type DatabaseBackupOptions } from "../../provision/backup/database";

export const MARKER = "Backup Plaintext Marker";
export const BUCKET = "opsfleet-test-backups";
export const PARAMETER = "/opsfleet/test/database/keys";
export const KEY_DIR = "/etc/mysql/keyring"; // per host on a test host
export const DATABASE: DatabaseProvisionOptions = { engine: "mariadb", keyDir: KEY_DIR };
export const PASSWORDS = { rootPassword: "root-pw-0123456789ab", appPassword: "app-pw-0123456789abc" };

/** Every object file s3rver holds, recursively. */
export function objectFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? objectFiles(p) : p.endsWith("._S3rver_object") ? [p] : [];
  });
}

export interface DbBackupLab {
  lab: Lab;
  s3: S3StandIn;
  ks: KeyStoreStandIn;
  backupOpts: DatabaseBackupOptions;
  sql(host: string, query: string): Promise<string>;
  /** Three marked rows labelled `label` into app.orders. */
  insert(host: string, label: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startDbBackupLab(name: string, subnet: string): Promise<DbBackupLab> {
  const lab = await startLab({ name, hosts: [{ name: "db1", ip: `${subnet}.11` }, { name: "db2", ip: `${subnet}.12` }] });
  const [s3, ks] = await Promise.all([startS3StandIn(lab.gatewayIp, [BUCKET]), startKeyStoreStandIn(lab.gatewayIp)]);
  const backupOpts: DatabaseBackupOptions = {
    database: DATABASE,
    target: { bucket: BUCKET, prefix: "database/test-db", region: "eu-west-1", hostLabel: "test-db-host", metricNamespace: "Opsfleet/Hosts/test",
      endpoints: { s3: s3.endpoint, ssm: ks.endpoint, cloudwatch: ks.endpoint } },
    keyParameter: PARAMETER,
    keyStoreKmsKeyId: "alias/opsfleet-test-keys",
    schedule: { intervalHours: 24, startTime: "02:15" },
    recoveryPointMinutes: 5,
  };
  const aws = awsCliFiles("eu-west-1");
  const provision = async (h: string) => {
    await lab.ssh(h, "install -d -m 0700 /root/.aws && cat > /root/.aws/credentials && chmod 0600 /root/.aws/credentials", aws.credentials);
    const { before, after } = renderDatabaseSteps(DATABASE);
    for (const step of before) await lab.runStep(h, step);
    await lab.runStep(h, renderUsersStep(DATABASE, PASSWORDS));
    for (const step of after) await lab.runStep(h, step);
  };
  await Promise.all([provision("db1"), provision("db2")]);
  await lab.runStep("db1", renderDatabaseBackupStep(backupOpts));
  const sql = async (h: string, q: string) => {
    const r = await lab.ssh(h, "mariadb -N -B app", q);
    if (r.code !== 0) throw new Error(`sql on ${h} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  return {
    lab, s3, ks, backupOpts, sql,
    insert: (h, label) => sql(h, `INSERT INTO orders (note) VALUES ('${MARKER} ${label} 1'), ('${MARKER} ${label} 2'), ('${MARKER} ${label} 3')`),
    async stop() {
      await Promise.all([s3.close(), ks.close()]);
      await lab.stop();
    },
  };
}
