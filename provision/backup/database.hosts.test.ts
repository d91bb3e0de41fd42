/**
 * Database backup and point-in-time restore for real, as docs/database.md tells it: the rendered
 * steps on two local test hosts (Debian's mariadb-server + mariadb-backup + awscli), S3 and the
 * key store stood in for on the lab bridge (s3rver; an SSM/CloudWatch stand-in).
 * db1 is the production host that gets lost; db2 is the new host the data comes back on.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { describeOnHosts } from "../../test/hosts/guard";
import { startLab, type Lab } from "../../test/hosts/lab";
import { awsCliFiles, startKeyStoreStandIn, startS3StandIn, type KeyStoreStandIn, type S3StandIn } from "../../test/hosts/aws-stand-ins";
import { renderDatabaseSteps, renderUsersStep, type DatabaseProvisionOptions } from "../database";
import { DB_BACKUP_PATHS, RESTORE_DIRS, renderDatabaseBackupStep, type DatabaseBackupOptions } from "./database";

const MARKER = "Backup Plaintext Marker";
const BUCKET = "opsfleet-test-backups";
const PARAMETER = "/opsfleet/test/database/keys";
const KEY_DIR = "/etc/mysql/keyring"; // per host on a test host
const database: DatabaseProvisionOptions = { engine: "mariadb", keyDir: KEY_DIR };
const passwords = { rootPassword: "root-pw-0123456789ab", appPassword: "app-pw-0123456789abc" };

/** Every object file s3rver holds, recursively. */
function objectFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? objectFiles(p) : p.endsWith("._S3rver_object") ? [p] : [];
  });
}

describeOnHosts(
  "database backup + point-in-time restore on test hosts (bucket + key store stand-ins)",
  () => {
    let lab: Lab;
    let s3: S3StandIn;
    let ks: KeyStoreStandIn;
    let backupOpts: DatabaseBackupOptions;
    const sql = async (h: string, q: string) => {
      const r = await lab.ssh(h, "mariadb -N -B app", q);
      if (r.code !== 0) throw new Error(`sql on ${h} failed: ${r.stderr}`);
      return r.stdout.trim();
    };
    const insert = (h: string, label: string) =>
      sql(h, `INSERT INTO orders (note) VALUES ('${MARKER} ${label} 1'), ('${MARKER} ${label} 2'), ('${MARKER} ${label} 3')`);

    beforeAll(async () => {
      lab = await startLab({ name: "bkdb", hosts: [{ name: "db1", ip: "10.78.8.11" }, { name: "db2", ip: "10.78.8.12" }] });
      [s3, ks] = await Promise.all([startS3StandIn(lab.gatewayIp, [BUCKET]), startKeyStoreStandIn(lab.gatewayIp)]);
      backupOpts = {
        database,
        target: { bucket: BUCKET, prefix: "database/test-db-host", region: "eu-west-1", hostLabel: "test-db-host", metricNamespace: "Opsfleet/Hosts/test",
          endpoints: { s3: s3.endpoint, ssm: ks.endpoint, cloudwatch: ks.endpoint } },
        keyParameter: PARAMETER,
        keyStoreKmsKeyId: "alias/opsfleet-test-keys",
        schedule: { intervalHours: 24, startTime: "02:15" },
        recoveryPointMinutes: 5,
      };
      const aws = awsCliFiles("eu-west-1");
      const provision = async (h: string) => {
        await lab.ssh(h, "install -d -m 0700 /root/.aws && cat > /root/.aws/credentials && chmod 0600 /root/.aws/credentials", aws.credentials);
        const { before, after } = renderDatabaseSteps(database);
        for (const step of before) await lab.runStep(h, step);
        await lab.runStep(h, renderUsersStep(database, passwords));
        for (const step of after) await lab.runStep(h, step);
      };
      await Promise.all([provision("db1"), provision("db2")]);
      await lab.runStep("db1", renderDatabaseBackupStep(backupOpts));
    }, 90_000);
    afterAll(async () => {
      await Promise.all([s3?.close(), ks?.close()]);
      await lab?.stop();
    }, 60_000);

    test("provisioning backs the key up to the key store at once; a new host's keys never overwrite it", async () => {
      const stored = ks.parameters.get(PARAMETER);
      expect(stored).toMatchObject({ type: "SecureString", keyId: "alias/opsfleet-test-keys", version: 1 });
      const keyPassword = (await lab.ssh("db1", `cat ${KEY_DIR}/keyfile.key`)).stdout;
      const lines = stored!.value.trim().split("\n");
      expect(lines[0]).toBe("opsfleet-key-bundle v1");
      expect(Buffer.from(lines.find((l) => l.startsWith("keyfile.key "))!.split(" ")[1], "base64").toString()).toBe(keyPassword);

      // db2 stands for the replacement host: provisioning warns and stores nothing of its own
      const r = await lab.runStep("db2", renderDatabaseBackupStep(backupOpts));
      expect(r.stderr).toMatch(/key store \/opsfleet\/test\/database\/keys holds the key of backed-up data/);
      expect(r.stdout).toContain("this host waits for its restore");
      expect(ks.parameters.get(PARAMETER)!.version).toBe(1);
    });

    let target = "";
    /** The shipped history of db1's lineage, object by object (name -> content hash). */
    const history = () => new Map(objectFiles(s3.dir).filter((f) => f.includes(`${path.sep}binlog${path.sep}`))
      .map((f) => [path.relative(s3.dir, f), execFileSync("sha256sum", [f], { encoding: "utf8" }).slice(0, 64)]));
    let shippedBefore = new Map<string, string>();
    test("full backup, binlog shipping and the monitoring metrics; nothing readable and no key in the bucket", async () => {
      await sql("db1", "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(200)) ENGINE=InnoDB");
      await insert("db1", "before-backup");
      const full = await lab.ssh("db1", DB_BACKUP_PATHS.fullBackup, undefined, { timeoutMs: 60_000 });
      expect(full.stderr).toBe("");
      expect(full.stdout).toMatch(/full backup \d{8}T\d{6}Z done in \d+ s: \d+ bytes stored, binlog position mysql-bin\.\d{6}:\d+/);
      await insert("db1", "after-backup");
      expect(await lab.ssh("db1", DB_BACKUP_PATHS.shipBinlogs)).toMatchObject({ code: 0, stderr: "" });
      await new Promise((r) => setTimeout(r, 1100));
      target = (await lab.ssh("db1", "date -u '+%F %T'")).stdout.trim();
      await new Promise((r) => setTimeout(r, 1100));
      await insert("db1", "after-target");
      const ship = await lab.ssh("db1", DB_BACKUP_PATHS.shipBinlogs);
      expect(ship).toMatchObject({ code: 0, stderr: "" });
      expect(ship.stdout).toMatch(/shipped \d+ binary logs/);

      const keys = objectFiles(s3.dir).map((f) => path.relative(path.join(s3.dir, BUCKET), f));
      expect(keys.some((k) => /^database\/test-db-host\/full\/\d{8}T\d{6}Z\/backup\.xb\.zst\._S3rver_object$/.test(k))).toBe(true);
      expect(keys.some((k) => /\/backup\.done\._S3rver_object$/.test(k))).toBe(true);
      expect(keys.filter((k) => /^database\/test-db-host\/binlog\/[0-9a-f]{32}\/mysql-bin\.\d{6}\._S3rver_object$/.test(k)).length).toBeGreaterThanOrEqual(2);

      // no plaintext: the binlogs as stored, the backup stream decompressed; no key material at all
      const keyPassword = (await lab.ssh("db1", `cat ${KEY_DIR}/keyfile.key`)).stdout.trim();
      for (const f of objectFiles(s3.dir)) {
        const raw = readFileSync(f);
        const content = f.includes(".zst.") ? execFileSync("zstd", ["-dc", f], { maxBuffer: 1 << 30 }) : raw;
        expect({ f, marker: content.includes(MARKER) }).toEqual({ f, marker: false });
        expect({ f, key: content.includes(keyPassword) }).toEqual({ f, key: false });
      }

      const seen = (job: string) => ks.metrics.filter((m) => m.dimensions.Job === job && m.dimensions.Host === "test-db-host" && m.namespace === "Opsfleet/Hosts/test");
      expect(seen("full").find((m) => m.name === "BackupSuccess")?.value).toBe(1);
      expect(seen("full").find((m) => m.name === "LastGoodBackupAgeSeconds")?.value).toBeLessThan(60);
      expect(seen("binlog").find((m) => m.name === "BackupSuccess")?.value).toBe(1);

      // a second full backup whose binlogs never leave the host: it dies before the next shipment
      expect((await lab.ssh("db1", DB_BACKUP_PATHS.fullBackup, undefined, { timeoutMs: 60_000 })).code).toBe(0);
      shippedBefore = history();
    }, 90_000);

    test("the lost host: data and key destroyed; a restore without the key fails loudly and leaves the new host as it was", async () => {
      await lab.ssh("db1", `/etc/init.d/mariadb stop >/dev/null 2>&1; find /var/lib/mysql ${KEY_DIR} -mindepth 1 -delete`);
      expect((await lab.ssh("db1", `ls -A /var/lib/mysql ${KEY_DIR}`)).stdout.replace(/\S+:\n?/g, "").trim()).toBe("");

      const saved = ks.parameters.get(PARAMETER)!;
      ks.parameters.delete(PARAMETER);
      const noKey = await lab.ssh("db2", `${DB_BACKUP_PATHS.restore} --to '${target}' --yes`, undefined, { timeoutMs: 60_000 });
      ks.parameters.set(PARAMETER, saved);
      expect(noKey.code).not.toBe(0);
      expect(noKey.stderr).toMatch(/cannot read the key bundle \/opsfleet\/test\/database\/keys from the key store .*ParameterNotFound.*without the key the backup cannot be decrypted/);

      // the new host's own (wrong) key: the encrypted backup cannot be prepared; everything is put back
      const wrongKey = await lab.ssh("db2", `${DB_BACKUP_PATHS.restore} --to '${target}' --keep-host-key --yes`, undefined, { timeoutMs: 60_000 });
      expect(wrongKey.code).not.toBe(0);
      expect(wrongKey.stderr).toMatch(/preparing backup \d{8}T\d{6}Z failed: the key does not decrypt it/);
      expect(wrongKey.stdout).toContain("putting the previous data and keys back");
      expect(await sql("db2", "SHOW TABLES")).toBe(""); // db2's own empty app database, served again
      expect((await lab.ssh("db2", `ls -A /var/lib/mysql | grep -c '^${RESTORE_DIRS.previous}$' || true`)).stdout.trim()).toBe("0");
    }, 90_000);

    test("restore to the latest point on the new host: a new lineage, whose binlogs never overwrite the shipped history", async () => {
      const r = await lab.ssh("db2", `${DB_BACKUP_PATHS.restore} --no-backup --yes`, undefined, { timeoutMs: 90_000 });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("WARNING: no shipped binary logs after the backup");
      expect(r.stdout).toMatch(/^verify: \d+ tablespaces, 0 problems$/m);
      expect(await sql("db2", "SELECT COUNT(*) FROM orders")).toBe("9");
      const oldLineage = [...shippedBefore.keys()][0].split(path.sep).at(-2)!;
      const lineage = (await lab.ssh("db2", `cat ${KEY_DIR}/opsfleet-lineage`)).stdout.trim();
      expect(lineage).toMatch(/^[0-9a-f]{32}$/);
      expect(lineage).not.toBe(oldLineage);
      // the key store follows the new lineage (same keys): the next runs back up
      expect(ks.parameters.get(PARAMETER)!.value).toContain(`opsfleet-lineage ${Buffer.from(lineage).toString("base64")}`);

      for (let i = 1; i <= 4; i++) {
        await insert("db2", `new-host-${i}`);
        expect(await lab.ssh("db2", DB_BACKUP_PATHS.shipBinlogs)).toMatchObject({ code: 0, stderr: "" });
      }
      const now = history();
      for (const [k, v] of shippedBefore) expect({ k, v: now.get(k) }).toEqual({ k, v });
      expect([...now.keys()].filter((k) => k.includes(lineage)).length).toBeGreaterThanOrEqual(4);
    }, 120_000);

    test("restore on another host to the noted time (ISO 8601, Z): a failed replay puts everything back, the retry gives exactly the rows before it", async () => {
      const iso = `${target.replace(" ", "T")}Z`;
      // the binlog tool fails after the data was swapped: the restore rolls back and can be retried
      // (a failing mariadb-binlog first on PATH; /run is the host's own tmpfs)
      const broken = "install -d /run/broken && printf '#!/bin/sh\\nexit 1\\n' > /run/broken/mariadb-binlog && chmod 0755 /run/broken/mariadb-binlog && PATH=/run/broken:$PATH";
      const failed = await lab.ssh("db1", `${broken} ${DB_BACKUP_PATHS.restore} --to '${iso}' --yes`, undefined, { timeoutMs: 90_000 });
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toContain("replaying the binary logs failed");
      expect(failed.stdout).toContain("putting the previous data and keys back");
      expect((await lab.ssh("db1", `ls -A ${KEY_DIR}; ls -A /var/lib/mysql | grep -E '^(${RESTORE_DIRS.previous}|${RESTORE_DIRS.stage}|app)$' || true`)).stdout.trim()).toBe("");

      const r = await lab.ssh("db1", `${DB_BACKUP_PATHS.restore} --to '${iso}' --yes`, undefined, { timeoutMs: 90_000 });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`--to '${iso}' is ${target} UTC`);
      expect(r.stdout).toMatch(/replaying \d+ binary logs from mysql-bin\.\d{6}:\d+ up to .* UTC/);
      expect(r.stdout).toMatch(/^verify: \d+ tablespaces, 0 problems$/m);
      expect(r.stdout).toMatch(/full backup \d{8}T\d{6}Z done/); // the new base

      const rows = (await sql("db1", "SELECT note FROM orders ORDER BY id")).split("\n");
      expect(rows).toEqual([1, 2, 3].map((i) => `${MARKER} before-backup ${i}`).concat([1, 2, 3].map((i) => `${MARKER} after-backup ${i}`)));
      // the data kept aside is not a database
      expect(await sql("db1", "SHOW DATABASES LIKE '%restore%'")).toBe("");

      // on disk: no plaintext in tablespaces, redo log, binlogs (after forcing pages and logs out)
      await lab.ssh("db1", "mariadb -e 'FLUSH TABLES app.orders FOR EXPORT; UNLOCK TABLES; FLUSH BINARY LOGS'");
      const hits = await lab.ssh("db1", `grep -rlaF '${MARKER}' /var/lib/mysql --exclude-dir=${RESTORE_DIRS.previous} || true`);
      expect(hits.stdout).toBe("");
      // the replayed events went into the tables, not into this server's binlogs: its binlogs are its own
      const own = await lab.ssh("db1", "mariadb-binlog --read-from-remote-server --host=localhost $(ls /var/lib/mysql | grep -E '^mysql-bin\\.[0-9]{6}$') | grep -c 'INSERT INTO' || true");
      expect(own.stdout.trim()).toBe("0");
      const files = (await lab.ssh("db1", "ls /var/lib/mysql/app/orders.ibd /var/lib/mysql/ib_logfile0 /var/lib/mysql/mysql-bin.0*")).stdout;
      expect(files.trim().split("\n").length).toBeGreaterThanOrEqual(3);
      // ...while the server reads it back: the grep can find it when it is there
      expect(await sql("db1", `SELECT COUNT(*) FROM orders WHERE note LIKE '${MARKER}%'`)).toBe("6");
      expect(await lab.ssh("db1", DB_BACKUP_PATHS.shipBinlogs)).toMatchObject({ code: 0, stderr: "" });
    }, 150_000);
  },
  { requires: ["mariadbd", "mariadb-backup", "mbstream", "aws", "zstd"] },
);
