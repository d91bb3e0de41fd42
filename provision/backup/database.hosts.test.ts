/**
 * Database backup and point-in-time restore for real, as docs/database.md tells it: the rendered
 * steps on two local test hosts (Debian's mariadb-server + mariadb-backup + awscli), S3 and the
 * key store stood in for on the lab bridge (s3rver; an SSM/CloudWatch stand-in).
 * db1 is the production host that gets lost; db2 is the new host the data comes back on.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describeOnHosts } from "../../test/hosts/guard";
import { KEY_DIR, MARKER, BUCKET, PARAMETER, objectFiles, startDbBackupLab, type DbBackupLab } from "../../test/hosts/db-backup-lab";
import { DB_BACKUP_PATHS, RESTORE_DIRS, renderDatabaseBackupStep } from "./database";

describeOnHosts(
  "database backup + point-in-time restore on test hosts (bucket + key store stand-ins)",
  () => {
    let t: DbBackupLab;
    const lab = () => t.lab;
    const sql = (h: string, q: string) => t.sql(h, q);
    const insert = (h: string, label: string) => t.insert(h, label);

    beforeAll(async () => {
      t = await startDbBackupLab("bkdb", "10.78.8");
    }, 120_000);
    afterAll(async () => {
      await t?.stop();
    }, 60_000);

    test("provisioning backs the key up to the key store at once; a new host's keys never overwrite it", async () => {
      const stored = t.ks.parameters.get(PARAMETER);
      expect(stored).toMatchObject({ type: "SecureString", keyId: "alias/opsfleet-test-keys", version: 1 });
      const keyPassword = (await lab().ssh("db1", `cat ${KEY_DIR}/keyfile.key`)).stdout;
      const lines = stored!.value.trim().split("\n");
      expect(lines[0]).toBe("opsfleet-key-bundle v1");
      expect(Buffer.from(lines.find((l) => l.startsWith("keyfile.key "))!.split(" ")[1], "base64").toString()).toBe(keyPassword);

      // db2 stands for the replacement host: provisioning warns and stores nothing of its own
      const r = await lab().runStep("db2", renderDatabaseBackupStep(t.backupOpts));
      expect(r.stderr).toMatch(/key store \/opsfleet\/test\/database\/keys holds the key of backed-up data/);
      expect(r.stdout).toContain("this host waits for its restore");
      expect(t.ks.parameters.get(PARAMETER)!.version).toBe(1);
    });

    let target = "";
    test("full backup, binlog shipping and the monitoring metrics; nothing readable and no key in the bucket", async () => {
      await sql("db1", "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(200)) ENGINE=InnoDB");
      await insert("db1", "before-backup");
      const full = await lab().ssh("db1", DB_BACKUP_PATHS.fullBackup, undefined, { timeoutMs: 100_000 });
      expect(full.stderr).toBe("");
      expect(full.stdout).toMatch(/full backup \d{8}T\d{6}Z done in \d+ s: \d+ bytes stored, binlog position mysql-bin\.\d{6}:\d+/);
      await insert("db1", "after-backup");
      await new Promise((r) => setTimeout(r, 1100));
      target = (await lab().ssh("db1", "date -u '+%F %T'")).stdout.trim();
      await new Promise((r) => setTimeout(r, 1100));
      await insert("db1", "after-target");
      const ship = await lab().ssh("db1", DB_BACKUP_PATHS.shipBinlogs);
      expect(ship).toMatchObject({ code: 0, stderr: "" });
      expect(ship.stdout).toMatch(/shipped \d+ binary logs/);

      const keys = objectFiles(t.s3.dir).map((f) => path.relative(path.join(t.s3.dir, BUCKET), f));
      expect(keys.some((k) => /^database\/test-db\/full\/\d{8}T\d{6}Z\/backup\.xb\.zst\._S3rver_object$/.test(k))).toBe(true);
      expect(keys.some((k) => /\/backup\.done\._S3rver_object$/.test(k))).toBe(true);
      expect(keys.filter((k) => /^database\/test-db\/binlog\/[0-9a-f]{32}\/mysql-bin\.\d{6}\._S3rver_object$/.test(k)).length).toBeGreaterThanOrEqual(1);

      // no plaintext: the binlogs as stored, the backup stream decompressed; no key material at all
      const keyPassword = (await lab().ssh("db1", `cat ${KEY_DIR}/keyfile.key`)).stdout.trim();
      for (const f of objectFiles(t.s3.dir)) {
        const raw = readFileSync(f);
        const content = f.includes(".zst.") ? execFileSync("zstd", ["-dc", f], { maxBuffer: 1 << 30 }) : raw;
        expect({ f, marker: content.includes(MARKER) }).toEqual({ f, marker: false });
        expect({ f, key: content.includes(keyPassword) }).toEqual({ f, key: false });
      }

      const seen = (job: string) => t.ks.metrics.filter((m) => m.dimensions.Job === job && m.dimensions.Host === "test-db-host" && m.namespace === "Opsfleet/Hosts/test");
      expect(seen("full").find((m) => m.name === "BackupSuccess")?.value).toBe(1);
      expect(seen("full").find((m) => m.name === "LastGoodBackupAgeSeconds")?.value).toBeLessThan(60);
      expect(seen("binlog").find((m) => m.name === "BackupSuccess")?.value).toBe(1);
    }, 120_000);

    test("the lost host: data and key destroyed; a restore without the key fails loudly and leaves the new host as it was", async () => {
      await lab().ssh("db1", `/etc/init.d/mariadb stop >/dev/null 2>&1; find /var/lib/mysql ${KEY_DIR} -mindepth 1 -delete`);
      expect((await lab().ssh("db1", `ls -A /var/lib/mysql ${KEY_DIR}`)).stdout.replace(/\S+:\n?/g, "").trim()).toBe("");

      const saved = t.ks.parameters.get(PARAMETER)!;
      t.ks.parameters.delete(PARAMETER);
      const noKey = await lab().ssh("db2", `${DB_BACKUP_PATHS.restore} --to '${target}' --yes`, undefined, { timeoutMs: 60_000 });
      t.ks.parameters.set(PARAMETER, saved);
      expect(noKey.code).not.toBe(0);
      expect(noKey.stderr).toMatch(/cannot read the key bundle \/opsfleet\/test\/database\/keys from the key store .*ParameterNotFound.*without the key the backup cannot be decrypted/);

      // the new host's own (wrong) key: the encrypted backup cannot be prepared; everything is put back
      const wrongKey = await lab().ssh("db2", `${DB_BACKUP_PATHS.restore} --to '${target}' --keep-host-key --yes`, undefined, { timeoutMs: 120_000 });
      expect(wrongKey.code).not.toBe(0);
      expect(wrongKey.stderr).toMatch(/preparing backup \d{8}T\d{6}Z failed: the key does not decrypt it/);
      expect(wrongKey.stdout).toContain("putting the previous data and keys back");
      expect(await sql("db2", "SHOW TABLES")).toBe(""); // db2's own empty app database, served again
      expect((await lab().ssh("db2", `ls -A /var/lib/mysql | grep -c '^${RESTORE_DIRS.previous}$' || true`)).stdout.trim()).toBe("0");
    }, 150_000);

    test("a restore that fails after the data was swapped (binlog replay) puts the host back as it was", async () => {
      // a failing mariadb-binlog first on PATH (/run is the host's own tmpfs)
      const broken = "install -d /run/broken && printf '#!/bin/sh\\nexit 1\\n' > /run/broken/mariadb-binlog && chmod 0755 /run/broken/mariadb-binlog && PATH=/run/broken:$PATH";
      const failed = await lab().ssh("db2", `${broken} ${DB_BACKUP_PATHS.restore} --to '${target}' --no-backup --yes`, undefined, { timeoutMs: 150_000 });
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toContain("replaying the binary logs failed");
      expect(failed.stdout).toContain("putting the previous data and keys back");
      expect(await sql("db2", "SHOW TABLES")).toBe(""); // db2's own empty app database, served again
      expect((await lab().ssh("db2", `ls -A /var/lib/mysql | grep -cE '^(${RESTORE_DIRS.previous}|${RESTORE_DIRS.stage})$' || true`)).stdout.trim()).toBe("0");
    }, 180_000);

    test("a restore killed by SIGTERM after the data was swapped puts the host back as it was", async () => {
      // a mariadb-binlog stand-in that sends the restore a TERM (as systemd or an operator's kill would)
      const killer = "install -d /run/killer && printf '#!/bin/sh\\nkill -TERM $PPID\\nsleep 2\\n' > /run/killer/mariadb-binlog && chmod 0755 /run/killer/mariadb-binlog && PATH=/run/killer:$PATH";
      const killed = await lab().ssh("db2", `${killer} ${DB_BACKUP_PATHS.restore} --to '${target}' --no-backup --yes`, undefined, { timeoutMs: 150_000 });
      expect(killed.code).toBe(143);
      expect(killed.stdout).toContain("putting the previous data and keys back");
      expect(await sql("db2", "SHOW TABLES")).toBe("");
      expect((await lab().ssh("db2", `ls -A /var/lib/mysql | grep -cE '^(${RESTORE_DIRS.previous}|${RESTORE_DIRS.stage})$' || true`)).stdout.trim()).toBe("0");
    }, 180_000);

    test("the retry, to the noted time as ISO 8601 with Z: exactly the rows written before it, encrypted on disk, backed up again", async () => {
      const iso = `${target.replace(" ", "T")}Z`;
      const r = await lab().ssh("db2", `${DB_BACKUP_PATHS.restore} --to '${iso}' --yes`, undefined, { timeoutMs: 150_000 });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`--to '${iso}' is ${target} UTC`);
      expect(r.stdout).toMatch(/replaying \d+ binary logs from mysql-bin\.\d{6}:\d+ up to .* UTC/);
      expect(r.stdout).toMatch(/^verify: \d+ tablespaces, 0 problems$/m);
      expect(r.stdout).toMatch(/full backup \d{8}T\d{6}Z done/); // the new base, under the same lineage

      const rows = (await sql("db2", "SELECT note FROM orders ORDER BY id")).split("\n");
      expect(rows).toEqual([1, 2, 3].map((i) => `${MARKER} before-backup ${i}`).concat([1, 2, 3].map((i) => `${MARKER} after-backup ${i}`)));
      // the data kept aside is not a database
      expect(await sql("db2", "SHOW DATABASES LIKE '%restore%'")).toBe("");
      expect((await lab().ssh("db2", `test -d /var/lib/mysql/${RESTORE_DIRS.previous}/mysql && echo kept`)).stdout.trim()).toBe("kept");

      // on disk: no plaintext in tablespaces, redo log, binlogs (after forcing pages and logs out)
      await lab().ssh("db2", "mariadb -e 'FLUSH TABLES app.orders FOR EXPORT; UNLOCK TABLES; FLUSH BINARY LOGS'");
      const hits = await lab().ssh("db2", `grep -rlaF '${MARKER}' /var/lib/mysql --exclude-dir=${RESTORE_DIRS.previous} || true`);
      expect(hits.stdout).toBe("");
      const files = (await lab().ssh("db2", "ls /var/lib/mysql/app/orders.ibd /var/lib/mysql/ib_logfile0 /var/lib/mysql/mysql-bin.0*")).stdout;
      expect(files.trim().split("\n").length).toBeGreaterThanOrEqual(4); // table, redo log, replayed + own binlogs
      // ...while the server reads it back: the grep can find it when it is there
      expect(await sql("db2", `SELECT COUNT(*) FROM orders WHERE note LIKE '${MARKER}%'`)).toBe("6");

      // db2 starts its own lineage (same keys): the key store follows it, shipping works
      const ship = await lab().ssh("db2", DB_BACKUP_PATHS.shipBinlogs);
      expect(ship).toMatchObject({ code: 0, stderr: "" });
      const lineage = (await lab().ssh("db2", `cat ${KEY_DIR}/opsfleet-lineage`)).stdout.trim();
      expect(t.ks.parameters.get(PARAMETER)!.value).toContain(`opsfleet-lineage ${Buffer.from(lineage).toString("base64")}`);
    }, 180_000);
  },
  { requires: ["mariadbd", "mariadb-backup", "mbstream", "aws", "zstd"] },
);
