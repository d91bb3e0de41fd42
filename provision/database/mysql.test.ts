/**
 * MySQL 8.4 cannot run here (Debian 12 has no MySQL package and the lab has no internet), so its
 * rendering is checked as files, its scripts as bash, and the verification logic against a stub
 * `mysql` client that answers like a real server.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { renderStepScript } from "../common/step-script";
import {
  MYSQL_ENCRYPTION_CNF, MYSQL_KEYRING_CONFIG, MYSQL_MANIFEST, renderDatabaseSteps, renderEncryptionStep, renderInstallStep,
  renderKeyRotationStep, renderUsersStep, renderVerifyScript, SCRIPT_PATHS, type DatabaseProvisionOptions,
} from "./index";
import { MYSQL_APPARMOR_LOCAL, MYSQL_BUILD_KEY_ID } from "./mysql";

const opts: DatabaseProvisionOptions = { engine: "mysql", keyDir: "/srv/mysql-keys" };
const pw = { rootPassword: "r00t'pw", appPassword: "app\\pw" };
const fileOf = (files: { path: string; content: string; mode?: string; owner?: string; group?: string }[], p: string) => {
  const f = files.find((x) => x.path === p);
  if (!f) throw new Error(`no file ${p} (have ${files.map((x) => x.path).join(", ")})`);
  return f;
};

describe("MySQL 8.4 renderers", () => {
  const enc = renderEncryptionStep(opts);

  test("component_keyring_file: global manifest next to mysqld and a writable keyring in the key directory", () => {
    expect(JSON.parse(fileOf(enc.files, MYSQL_MANIFEST).content)).toEqual({ components: "file://component_keyring_file" });
    expect(MYSQL_MANIFEST).toBe("/usr/sbin/mysqld.my");
    const cfg = fileOf(enc.files, MYSQL_KEYRING_CONFIG);
    expect(JSON.parse(cfg.content)).toEqual({ path: "/srv/mysql-keys/component_keyring_file", read_only: false });
    expect(cfg).toMatchObject({ mode: "0640", owner: "root", group: "mysql" });
    expect(MYSQL_KEYRING_CONFIG).toBe("/usr/lib/mysql/plugin/component_keyring_file.cnf");
    // the removed 8.0 plugin route must not appear
    expect(enc.files.map((f) => f.content).join("\n")).not.toMatch(/early-plugin-load|keyring_file_data/);
  });

  test("server options: file-per-table, default + enforced table encryption, redo/undo/binlog encryption", () => {
    const cnf = fileOf(enc.files, MYSQL_ENCRYPTION_CNF).content;
    expect(cnf.split("\n")).toEqual(expect.arrayContaining([
      "[mysqld]",
      "innodb_file_per_table = ON",
      "default_table_encryption = ON",
      "table_encryption_privilege_check = ON",
      "binlog_encryption = ON",
      "innodb_redo_log_encrypt = ON",
      "innodb_undo_log_encrypt = ON",
      "log_bin = mysql-bin",
    ]));
    // MariaDB-only options would stop mysqld from starting
    expect(cnf).not.toMatch(/file_key_management|innodb_encrypt_tables|encrypt_binlog|aria_/);
  });

  test("AppArmor local rule lets mysqld read the manifest and config and use the key directory", () => {
    const rule = fileOf(enc.files, MYSQL_APPARMOR_LOCAL).content.split("\n");
    expect(rule).toEqual(expect.arrayContaining([
      "/usr/sbin/mysqld.my r,", "/usr/lib/mysql/plugin/component_keyring_file.cnf r,", "/srv/mysql-keys/ r,", "/srv/mysql-keys/** rwk,",
    ]));
    expect(enc.script).toContain("apparmor_parser -r /etc/apparmor.d/usr.sbin.mysqld");
  });

  test("install: Oracle's apt repo (8.4 LTS) with a pinned signing key, only when mysqld is missing", () => {
    const s = renderInstallStep(opts).script;
    expect(s).toContain("if command -v mysqld >/dev/null 2>&1; then");
    expect(s).toContain("deb [signed-by=/usr/share/keyrings/mysql-apt.gpg] https://repo.mysql.com/apt/debian $VERSION_CODENAME mysql-8.4-lts");
    expect(s).toContain(`grep -qi '${MYSQL_BUILD_KEY_ID}$'`);
    expect(s).toContain("apt-get install -y -q mysql-server");
    expect(s).toMatch(/mysqld --version \| grep -q ' 8\\\.4\\\.'/);
  });

  test("users: encrypted application schema, root on caching_sha2_password, passwords only in 0600 files", () => {
    const u = renderUsersStep(opts, pw);
    expect(u.script).toContain("CREATE DATABASE IF NOT EXISTS \\`app\\` CHARACTER SET utf8mb4 DEFAULT ENCRYPTION = 'Y'");
    expect(u.script).toContain("ALTER USER 'root'@'localhost' IDENTIFIED WITH caching_sha2_password BY ");
    expect(u.script).not.toContain(pw.rootPassword);
    expect(u.files.map((f) => [f.path, f.mode])).toEqual([[SCRIPT_PATHS.rootPassword, "0600"], [SCRIPT_PATHS.appPassword, "0600"]]);
  });

  test("rotation re-wraps with ALTER INSTANCE ROTATE INNODB/BINLOG MASTER KEY (no restart) and then verifies", () => {
    const rotate = fileOf(renderKeyRotationStep(opts).files, SCRIPT_PATHS.rotate).content;
    expect(rotate).toContain("ALTER INSTANCE ROTATE INNODB MASTER KEY; ALTER INSTANCE ROTATE BINLOG MASTER KEY");
    expect(rotate).not.toContain("db_restart\n");
    expect(rotate.trim().endsWith(`${SCRIPT_PATHS.verify} --wait 300`)).toBe(true);
  });

  test("every rendered step and script is valid bash", () => {
    const s = renderDatabaseSteps(opts);
    for (const step of [...s.before, renderUsersStep(opts, pw), ...s.after]) {
      expect({ step: step.name, err: spawnSync("bash", ["-n"], { input: renderStepScript(step), encoding: "utf8" }).stderr }).toEqual({ step: step.name, err: "" });
    }
    for (const f of renderKeyRotationStep(opts).files.filter((x) => x.mode === "0700")) {
      expect(spawnSync("bash", ["-n"], { input: f.content, encoding: "utf8" }).stderr).toBe("");
    }
  });

  describe("verify-encryption against a stub mysql client", () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), "opsfleet-mysql-stub-"));
      writeFileSync(path.join(dir, "mysqladmin"), "#!/bin/sh\nexit 0\n");
      // answers the verification's queries from $TABLESPACES and $SETTING_* like a server would
      writeFileSync(path.join(dir, "mysql"), `#!/bin/bash
q="\${@: -1}"
case "$q" in
  *INNODB_TABLESPACES*) printf '%b' "$TABLESPACES" ;;
  *keyring_component_status*) echo "$KEYRING" ;;
  *@@binlog_encryption*) echo "$BINLOG" ;;
  *@@*) echo 1 ;;
  *) echo "unexpected query: $q" >&2; exit 1 ;;
esac
`);
      chmodSync(path.join(dir, "mysql"), 0o755);
      chmodSync(path.join(dir, "mysqladmin"), 0o755);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const verify = (env: Record<string, string>) =>
      spawnSync("bash", ["-c", renderVerifyScript(opts)], {
        encoding: "utf8",
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, KEYRING: "Active", BINLOG: "1", ...env },
      });

    test("all encrypted (system tablespace exempt): lists each and exits 0", () => {
      const r = verify({ TABLESPACES: "app/orders\\tSingle\\tY\\ninnodb_system\\tSystem\\tN\\nmysql\\tGeneral\\tY\\ninnodb_undo_001\\tUndo\\tY\\n" });
      expect(r.stdout).toContain("tablespace app/orders: encrypted");
      expect(r.stdout).toContain("tablespace mysql: encrypted");
      expect(r.stdout).toContain("tablespace innodb_system: not encryptable in MySQL");
      expect(r.stdout).toContain("verify: 4 tablespaces, 0 problems");
      expect(r.status).toBe(0);
    });

    test("one unencrypted table, an inactive keyring or binlog encryption off: named, and exit 1", () => {
      const r = verify({ TABLESPACES: "app/orders\\tSingle\\tN\\nmysql\\tGeneral\\tY\\n", KEYRING: "Disabled", BINLOG: "0" });
      expect(r.stdout).toContain("tablespace app/orders: UNENCRYPTED");
      expect(r.stdout).toContain("setting component keyring_file=Disabled: WRONG (want Active)");
      expect(r.stdout).toContain("setting binlog_encryption=0: WRONG (want 1)");
      expect(r.stdout).toContain("verify: 2 tablespaces, 3 problems");
      expect(r.status).toBe(1);
    });
  });
});
