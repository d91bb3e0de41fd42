/**
 * A restored server starts a new lineage: its binlogs (numbered from mysql-bin.000001 again after a
 * restore to the end of a backup) never overwrite the shipped history a later point-in-time restore
 * needs. The reviewer's repro, on real MariaDB: full F1, rows, ship, note T, rows, ship, full F2;
 * the host dies before the next shipment; restore (latest) on a new host; writes + shipments there;
 * restore to T on another host — exactly the rows written before T.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describeOnHosts } from "../../test/hosts/guard";
import { DATABASE, KEY_DIR, MARKER, PARAMETER, PASSWORDS, objectFiles, startDbBackupLab, type DbBackupLab } from "../../test/hosts/db-backup-lab";
import { renderDatabaseSteps, renderUsersStep } from "../database";
import { DB_BACKUP_PATHS, renderDatabaseBackupStep } from "./database";

describeOnHosts(
  "database restore: a new lineage, never a rewrite of shipped binlogs (test hosts)",
  () => {
    let t: DbBackupLab;
    beforeAll(async () => {
      // the bench's lab name: the lab lock keeps the two from running at once on one subnet
      t = await startDbBackupLab("bkbench", "10.78.11");
    }, 120_000);
    afterAll(async () => {
      await t?.stop();
    }, 60_000);

    const ssh = (h: string, cmd: string, timeoutMs = 150_000) => t.lab.ssh(h, cmd, undefined, { timeoutMs });
    /** Every shipped binlog object (path -> content hash). */
    const history = () => new Map(objectFiles(t.s3.dir).filter((f) => f.includes(`${path.sep}binlog${path.sep}`))
      .map((f) => [path.relative(t.s3.dir, f), execFileSync("sha256sum", [f], { encoding: "utf8" }).slice(0, 64)]));
    const ok = { code: 0, stderr: "" };

    test("F1, rows, ship, T, rows, ship, F2, host lost; latest restore elsewhere + writes; restore to T: exactly the rows before T", async () => {
      // db2 stands for the replacement host: provisioned, waiting for its restore
      expect((await t.lab.runStep("db2", renderDatabaseBackupStep(t.backupOpts))).stdout).toContain("this host waits for its restore");
      await t.sql("db1", "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(200)) ENGINE=InnoDB");
      await t.insert("db1", "a");
      expect(await ssh("db1", DB_BACKUP_PATHS.fullBackup)).toMatchObject(ok);
      await t.insert("db1", "b");
      expect(await ssh("db1", DB_BACKUP_PATHS.shipBinlogs)).toMatchObject(ok);
      await new Promise((r) => setTimeout(r, 1100));
      const target = (await ssh("db1", "date -u '+%F %T'")).stdout.trim();
      await new Promise((r) => setTimeout(r, 1100));
      await t.insert("db1", "c");
      expect(await ssh("db1", DB_BACKUP_PATHS.shipBinlogs)).toMatchObject(ok);
      expect(await ssh("db1", DB_BACKUP_PATHS.fullBackup)).toMatchObject(ok); // F2: its binlogs are never shipped
      const shipped = history();
      const oldLineage = [...shipped.keys()][0].split(path.sep).at(-2)!;
      await ssh("db1", `/etc/init.d/mariadb stop >/dev/null 2>&1; find /var/lib/mysql ${KEY_DIR} -mindepth 1 -delete`);

      // the new host: F2 only (no binlogs after it), then a server of its own
      const latest = await ssh("db2", `${DB_BACKUP_PATHS.restore} --no-backup --yes`);
      expect(latest).toMatchObject(ok);
      expect(latest.stdout).toContain("WARNING: no shipped binary logs after the backup");
      expect(await t.sql("db2", "SELECT COUNT(*) FROM orders")).toBe("9");
      const lineage = (await ssh("db2", `cat ${KEY_DIR}/opsfleet-lineage`)).stdout.trim();
      expect(lineage).toMatch(/^[0-9a-f]{32}$/);
      expect(lineage).not.toBe(oldLineage);
      expect(t.ks.parameters.get(PARAMETER)!.value).toContain(`opsfleet-lineage ${Buffer.from(lineage).toString("base64")}`);
      for (const label of ["d", "e"]) {
        await t.insert("db2", label);
        expect(await ssh("db2", DB_BACKUP_PATHS.shipBinlogs)).toMatchObject(ok);
      }
      const now = history();
      for (const [k, v] of shipped) expect({ k, v: now.get(k) }).toEqual({ k, v }); // the old history, untouched
      expect([...now.keys()].filter((k) => k.includes(lineage)).length).toBeGreaterThanOrEqual(2);

      // the key store is on db2's lineage, which has binlogs but no full backup yet (--no-backup): a
      // "latest" restore must fail loudly, never bring back the old lineage's a, b, c without d, e
      const stale = await ssh("db1", `${DB_BACKUP_PATHS.restore} --no-backup --yes`);
      expect(stale.code).not.toBe(0);
      expect(stale.stderr).toContain(`lineage ${lineage} (the key store's) has no complete full backup`);
      expect(stale.stderr).toContain(`forked from lineage ${oldLineage}`);
      expect((await ssh("db1", "ls -A /var/lib/mysql")).stdout.trim()).toBe(""); // nothing touched

      // another host, back to T (before db2's fork): F1 + the old lineage's binlogs up to T
      const pitr = await ssh("db1", `${DB_BACKUP_PATHS.restore} --to '${target}' --no-backup --yes`);
      expect(pitr).toMatchObject(ok);
      expect(pitr.stdout).toContain(`is before lineage ${lineage} forked from lineage ${oldLineage}: restoring from ${oldLineage}`);
      expect(pitr.stdout).toMatch(/replaying \d+ binary logs from mysql-bin\.\d{6}:\d+ up to .* UTC/);
      const rows = (await t.sql("db1", "SELECT note FROM orders ORDER BY id")).split("\n");
      expect(rows).toEqual(["a", "b"].flatMap((l) => [1, 2, 3].map((i) => `${MARKER} ${l} ${i}`)));
      // the replayed events went into the tables, not into this server's own binlogs
      const own = await ssh("db1", "mariadb-binlog --read-from-remote-server --host=localhost $(ls /var/lib/mysql | grep -E '^mysql-bin\\.[0-9]{6}$') | grep -c 'INSERT INTO' || true");
      expect(own.stdout.trim()).toBe("0");
    }, 420_000);

    test("a key bundle larger than an SSM parameter holds fails loudly and leaves the stored one alone", async () => {
      // db2's server runs on keys it already read; its key file grows as after ~100 rotations
      const stored = t.ks.parameters.get(PARAMETER)!;
      await ssh("db2", `f=${KEY_DIR}/keyfile.enc; chmod 0600 $f; head -c 9000 /dev/urandom >> $f; chmod 0400 $f`);
      const r = await ssh("db2", `${DB_BACKUP_PATHS.backupKey} --replace`); // (the store holds db1's lineage now)
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/the key bundle is \d+ bytes, more than the 8192 an SSM parameter holds: the key cannot be backed up/);
      expect(t.ks.parameters.get(PARAMETER)).toEqual(stored);
    }, 60_000);

    test("data volume lost, key volume kept: re-provisioning initialises the empty datadir under the kept keys", async () => {
      const keys = async () => (await ssh("db2", `sha256sum ${KEY_DIR}/keyfile.key`)).stdout;
      await ssh("db2", `f=${KEY_DIR}/keyfile.enc; chmod 0600 $f; head -c -9000 $f > $f.new && mv $f.new $f; chmod 0400 $f; chown mysql:mysql $f`); // undo the test above
      const before = await keys();
      await ssh("db2", "/etc/init.d/mariadb stop >/dev/null 2>&1; find /var/lib/mysql -mindepth 1 -delete");
      const { before: pre, after } = renderDatabaseSteps(DATABASE);
      const outputs: string[] = [];
      for (const step of [...pre, renderUsersStep(DATABASE, PASSWORDS), ...after]) outputs.push((await t.lab.runStep("db2", step)).stdout);
      expect(await keys()).toBe(before);
      expect((await ssh("db2", "/etc/mysql/opsfleet/verify-encryption")).stdout).toMatch(/^verify: \d+ tablespaces, 0 problems$/m);
      // the empty server is not the kept lineage's data: nothing of it is backed up or shipped until a restore
      expect(outputs.join("\n")).toMatch(/the keys belong to backed-up data \(lineage [0-9a-f]{32}\): no backups until it is restored/);
      const objects = objectFiles(t.s3.dir).length;
      for (const job of [DB_BACKUP_PATHS.shipBinlogs, DB_BACKUP_PATHS.fullBackup]) {
        const r = await ssh("db2", job);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("data directory was re-initialised under the keys of backed-up data");
      }
      expect(objectFiles(t.s3.dir).length).toBe(objects);
    }, 180_000);
  },
  { requires: ["mariadbd", "mariadb-backup", "mbstream", "aws", "zstd"] },
);
