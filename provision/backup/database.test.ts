import { spawnSync } from "node:child_process";
import { renderDatabaseBackupStep, DB_BACKUP_PATHS, type DatabaseBackupOptions } from "./database";
import { renderTargetEnv } from "./target";

const opts = (engine: "mariadb" | "mysql"): DatabaseBackupOptions => ({
  database: { engine },
  target: { bucket: "dev-backups-a1b2", prefix: "database/dev-db", region: "eu-west-1", hostLabel: "dev-db-host", metricNamespace: "Opsfleet/Hosts/dev" },
  keyParameter: "/opsfleet/dev/database/keys",
  keyStoreKmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/abc",
  schedule: { intervalHours: 24, startTime: "02:15" },
  recoveryPointMinutes: 5,
});
const file = (engine: "mariadb" | "mysql", path: string) => renderDatabaseBackupStep(opts(engine)).files.find((f) => f.path === path)!.content;

describe("database backup step (rendered)", () => {
  test("config file: bucket, prefix, key store, no endpoints on AWS; root-only", () => {
    const f = renderDatabaseBackupStep(opts("mariadb")).files.find((x) => x.path === DB_BACKUP_PATHS.conf)!;
    expect(f.mode).toBe("0600");
    expect(f.content).toContain("BUCKET=dev-backups-a1b2\nPREFIX=database/dev-db\nAWS_DEFAULT_REGION=eu-west-1\n");
    expect(f.content).toContain("S3_ENDPOINT=\n");
    expect(f.content).toContain("KEY_PARAMETER=/opsfleet/dev/database/keys\nKEY_KMS_KEY=arn:aws:kms:eu-west-1:123456789012:key/abc\n");
  });

  test("MariaDB: mariadb-backup streamed as xbstream through zstd to S3; prepare with mariadb-backup; replay with mariadb-binlog", () => {
    const full = file("mariadb", DB_BACKUP_PATHS.fullBackup);
    expect(full).toContain('mariadb-backup --backup --stream=xbstream --target-dir="$work" --extra-lsndir="$work/info"');
    expect(full).toMatch(/\| zstd -q -T0 -3 \\\n.*\n\s+\| s3 cp - "\$dest\/backup\.xb\.zst"/);
    const restore = file("mariadb", DB_BACKUP_PATHS.restore);
    expect(restore).toContain("zstd -q -d | mbstream -x -C \"$stage\"");
    expect(restore).toContain('mariadb-backup --prepare --target-dir="$stage"');
    expect(restore).toContain("mariadb-binlog $(db_auth) --read-from-remote-server");
    expect(file("mariadb", DB_BACKUP_PATHS.ignoreDirsCnf)).toContain("ignore_db_dirs = .opsfleet-pre-restore");
  });

  test("MySQL 8.4: Percona XtraBackup 8.4 with the keyring component, xbstream, mysqlbinlog; the keyring file is the key bundle", () => {
    const step = renderDatabaseBackupStep(opts("mysql"));
    expect(step.script).toContain("percona-xtrabackup-84");
    const full = file("mysql", DB_BACKUP_PATHS.fullBackup);
    expect(full).toContain('xtrabackup --backup --stream=xbstream --target-dir="$work" --extra-lsndir="$work/info" --component-keyring-config=/usr/lib/mysql/plugin/component_keyring_file.cnf');
    const restore = file("mysql", DB_BACKUP_PATHS.restore);
    expect(restore).toContain("zstd -q -d | xbstream -x -C \"$stage\"");
    expect(restore).toContain('xtrabackup --prepare --target-dir="$stage" --component-keyring-config=');
    expect(restore).toContain("mysqlbinlog $(db_auth) --read-from-remote-server");
    expect(file("mysql", DB_BACKUP_PATHS.backupKey)).toContain("for f in component_keyring_file opsfleet-lineage; do");
    expect(step.files.some((f) => f.path === DB_BACKUP_PATHS.ignoreDirsCnf)).toBe(false); // MySQL 8 has a data dictionary
  });

  test.each([
    ["mariadb", "SHOW MASTER STATUS", "mariadb-binlog"],
    ["mysql", "SHOW BINARY LOG STATUS", "mysqlbinlog"],
  ] as const)("%s: binlog statements the engine still has (MySQL 8.4 removed SHOW MASTER STATUS / RESET MASTER / SHOW MASTER LOGS)", (engine, status, tool) => {
    const all = renderDatabaseBackupStep(opts(engine)).files.map((f) => f.content).join("\n");
    expect(file(engine, DB_BACKUP_PATHS.shipBinlogs)).toContain(`sql -e "${status}"`);
    expect(file(engine, DB_BACKUP_PATHS.restore)).toContain(`PURGE BINARY LOGS TO '$(sql -e "${status}" | cut -f1)'`);
    if (engine === "mysql") expect(all).not.toMatch(/SHOW MASTER|RESET MASTER|SHOW MASTER LOGS|SHOW SLAVE|START SLAVE/);
    // replayed events are history: never written into the restored server's binlogs again
    expect(file(engine, DB_BACKUP_PATHS.restore)).toMatch(new RegExp(`${tool} \\$\\(db_auth\\) --read-from-remote-server --host=localhost --disable-log-bin `));
  });

  test.each(["mariadb", "mysql"] as const)("%s: every script is valid bash; the key never goes to S3", (engine) => {
    for (const f of renderDatabaseBackupStep(opts(engine)).files.filter((x) => x.mode === "0700")) {
      const r = spawnSync("bash", ["-n"], { input: f.content, encoding: "utf8" });
      expect({ path: f.path, err: r.stderr }).toEqual({ path: f.path, err: "" });
      // the key bundle only travels to SSM (put-parameter), never through an s3 command
      expect(f.content).not.toMatch(/key_bundle[^\n]*\|\s*s3/);
    }
  });

  test.each([
    [{ recoveryPointMinutes: 0 }, /recoveryPointMinutes: invalid value 0 \(allowed: a whole number of minutes from 1 to 60\)/],
    [{ keyParameter: "keys" }, /keyParameter: invalid value "keys"/],
    [{ schedule: { intervalHours: 7, startTime: "02:15" } }, /backup\.database\.intervalHours: invalid value 7/],
  ])("rejects %j", (bad, msg) => {
    expect(() => renderDatabaseBackupStep({ ...opts("mariadb"), ...(bad as Partial<DatabaseBackupOptions>) })).toThrow(msg);
  });

  test("target validation names the field", () => {
    expect(() => renderTargetEnv({ bucket: "Bad_Bucket", prefix: "p", region: "eu-west-1", hostLabel: "h", metricNamespace: "Opsfleet/Hosts/dev" })).toThrow(/backup target bucket: invalid value "Bad_Bucket"/);
    expect(() => renderTargetEnv({ bucket: "ok-bucket", prefix: "/p/", region: "eu-west-1", hostLabel: "h", metricNamespace: "Opsfleet/Hosts/dev" })).toThrow(/backup target prefix/);
  });
});
