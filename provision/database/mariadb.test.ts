import { spawnSync } from "node:child_process";
import { renderStepScript } from "../common/step-script";
import type { RenderedFile } from "../common/types";
import {
  MARIADB_ENCRYPTION_CNF, renderDatabaseSteps, renderEncryptionStep, renderKeyRotationStep, renderUsersStep,
  resolveDatabaseOptions, SCRIPT_PATHS, type DatabaseProvisionOptions,
} from "./index";
import { ROTATION_UNIT } from "./schedule";
import { SQL_QUOTE_FN } from "./shell";

const opts: DatabaseProvisionOptions = { engine: "mariadb" };
const pw = { rootPassword: "r00t'pw", appPassword: "app\\pw" };

/** `key = value` lines of one [section] of a rendered option file. */
function section(content: string, name: string): Map<string, string> {
  const out = new Map<string, string>();
  let current = "";
  for (const line of content.split("\n")) {
    const head = /^\[(.+)\]$/.exec(line.trim());
    if (head) current = head[1];
    else if (current === name && /^[a-z_]/.test(line)) {
      const [k, ...v] = line.split("=");
      out.set(k.trim(), v.join("=").trim());
    }
  }
  return out;
}

const fileOf = (step: { files: RenderedFile[] }, path: string): RenderedFile => {
  const f = step.files.find((x) => x.path === path);
  if (!f) throw new Error(`no file ${path} in step (have ${step.files.map((x) => x.path).join(", ")})`);
  return f;
};

describe("MariaDB renderers", () => {
  test("steps run in this order, and an unencrypted control server gets no verify step", () => {
    const s = renderDatabaseSteps(opts);
    expect([...s.before, renderUsersStep(opts, pw), ...s.after].map((x) => x.name))
      .toEqual(["db-install", "db-encryption", "db-users", "db-key-rotation", "db-verify"]);
    expect(renderDatabaseSteps({ ...opts, encryption: false }).after.map((x) => x.name)).toEqual(["db-key-rotation"]);
  });

  test("encryption config: file_key_management with AES_CTR, FORCE tables, encrypted redo, binlog and temp files", () => {
    const cnf = section(fileOf(renderEncryptionStep(opts), MARIADB_ENCRYPTION_CNF).content, "mariadb");
    expect(Object.fromEntries(cnf)).toMatchObject({
      plugin_load_add: "file_key_management",
      file_key_management: "FORCE_PLUS_PERMANENT",
      file_key_management_filename: "/var/lib/mysql-keyring/keyfile.enc",
      file_key_management_filekey: "FILE:/var/lib/mysql-keyring/keyfile.key",
      file_key_management_encryption_algorithm: "AES_CTR",
      innodb_file_per_table: "ON",
      innodb_encrypt_tables: "FORCE",
      innodb_encrypt_log: "ON",
      innodb_encrypt_temporary_tables: "ON",
      encrypt_binlog: "ON",
      encrypt_tmp_files: "ON",
      // tables on engines that cannot be encrypted are refused (host test: mariadb-holes.hosts.test.ts)
      enforce_storage_engine: "InnoDB",
      log_bin: "mysql-bin",
      bind_address: "0.0.0.0",
    });
    // both must be > 0, or pre-existing tablespaces are never encrypted
    expect(Number(cnf.get("innodb_encryption_threads"))).toBeGreaterThan(0);
    expect(Number(cnf.get("innodb_encryption_rotate_key_age"))).toBeGreaterThan(0);
  });

  test("the error log goes to a file also under mysqld_safe (no systemd): [mysqld_safe] log_error after Debian's skip_log_error", () => {
    const f = fileOf(renderEncryptionStep(opts), "/etc/mysql/mariadb.conf.d/98-opsfleet-error-log.cnf");
    expect(Object.fromEntries(section(f.content, "mysqld_safe"))).toEqual({ skip_syslog: "", log_error: "/var/log/mysql/error.log" });
    // sorts after Debian's 50-mysqld_safe.cnf, so it wins
    expect("98-opsfleet-error-log.cnf" > "50-mysqld_safe.cnf").toBe(true);
  });

  test("the negative-control rendering is really unencrypted and says so", () => {
    const step = renderEncryptionStep({ ...opts, encryption: false });
    const cnf = section(fileOf(step, MARIADB_ENCRYPTION_CNF).content, "mariadb");
    expect(cnf.has("plugin_load_add")).toBe(false);
    expect(cnf.get("innodb_encrypt_tables")).toBe("OFF");
    expect(step.description).toMatch(/UNENCRYPTED/);
  });

  test("keys are generated only if absent and never over data that was encrypted; restart only on change", () => {
    const script = renderEncryptionStep({ ...opts, keyDir: "/srv/keys" }).script;
    expect(script).toMatch(/if \[ ! -s \/srv\/keys\/keyfile\.enc \] \|\| \[ ! -s \/srv\/keys\/keyfile\.key \]; then\n  if \[ -e \/var\/lib\/mysql\/\.opsfleet-encrypted \]/);
    expect(script).toContain("Refusing to generate new keys");
    expect(script).toContain(`if [ -n "$OPSFLEET_CHANGED" ] || [ "$keys_created" = 1 ] || ! db_running; then`);
    // the key file is encrypted with the legacy KDF MariaDB 10.11 reads (sha1, no -pbkdf2)
    expect(script).toContain("openssl enc -e -aes-256-cbc -md sha1");
    expect(script).not.toContain("pbkdf2");
  });

  test("on the first encrypted start, Aria tables written before (mysql.* with the password hashes) are rebuilt encrypted", () => {
    const script = renderEncryptionStep(opts).script;
    const rebuild = script.indexOf('sql -e "ALTER TABLE $t FORCE"');
    expect(rebuild).toBeGreaterThan(script.indexOf("if [ ! -e /var/lib/mysql/.opsfleet-encrypted ]; then\n  # Aria"));
    expect(rebuild).toBeLessThan(script.indexOf('echo "keys: /var/lib/mysql-keyring" > /var/lib/mysql/.opsfleet-encrypted'));
    expect(script).toContain("WHERE ENGINE = 'Aria'");
  });

  test("passwords travel only as root-only files; the script never contains them", () => {
    const step = renderUsersStep(opts, pw);
    expect(step.files).toEqual([
      { path: SCRIPT_PATHS.rootPassword, content: pw.rootPassword, mode: "0600" },
      { path: SCRIPT_PATHS.appPassword, content: pw.appPassword, mode: "0600" },
    ]);
    expect(step.script).not.toContain(pw.rootPassword);
    expect(step.script).not.toContain(pw.appPassword);
    // generic content: the component passes Pulumi secrets through the very same renderer
    const secret = { secret: true };
    expect(renderUsersStep(opts, { rootPassword: secret, appPassword: secret }).files.map((f) => f.content)).toEqual([secret, secret]);
    expect(step.script).toContain("IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(");
  });

  test("sql_quote turns any password into one SQL string literal", () => {
    const quote = (s: string) => spawnSync("bash", ["-c", `${SQL_QUOTE_FN}\nsql_quote "$1"`, "bash", s], { encoding: "utf8" }).stdout;
    expect(quote("it's")).toBe("'it''s'");
    expect(quote("back\\slash")).toBe("'back\\\\slash'");
    expect(quote('%s "x"')).toBe(`'%s "x"'`);
  });

  test("key rotation: on-demand script, monthly systemd timer and an equivalent cron file", () => {
    const step = renderKeyRotationStep(opts);
    const rotate = fileOf(step, SCRIPT_PATHS.rotate);
    expect(rotate.mode).toBe("0700");
    expect(rotate.content).toContain('ALTER TABLE $t ENCRYPTION_KEY_ID = $new$how');
    expect(rotate.content).toContain("TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'SEQUENCE')");
    expect(rotate.content).toContain(`${SCRIPT_PATHS.verify} --wait 300`);
    expect(fileOf(step, `${SCRIPT_PATHS.scheduleDir}/${ROTATION_UNIT}.timer`).content).toContain("OnCalendar=monthly");
    expect(fileOf(step, `${SCRIPT_PATHS.scheduleDir}/${ROTATION_UNIT}.service`).content)
      .toContain(`ExecStart=/bin/bash -c '${SCRIPT_PATHS.rotate} >>/var/log/mysql/key-rotation.log 2>&1'`);
    expect(fileOf(step, `${SCRIPT_PATHS.scheduleDir}/${ROTATION_UNIT}.cron`).content)
      .toContain(`17 3 1 * * root ${SCRIPT_PATHS.rotate} >>/var/log/mysql/key-rotation.log 2>&1`);
    expect(step.script).toContain("systemctl enable --now opsfleet-db-key-rotation.timer");

    const off = renderKeyRotationStep({ ...opts, keyRotationSchedule: "off" });
    expect(off.files.map((f) => f.path)).toEqual([SCRIPT_PATHS.verify, SCRIPT_PATHS.rotate]);
    expect(off.script).toContain("systemctl disable --now opsfleet-db-key-rotation.timer");
    expect(fileOf(renderKeyRotationStep({ ...opts, keyRotationSchedule: "weekly" }), `${SCRIPT_PATHS.scheduleDir}/${ROTATION_UNIT}.cron`).content)
      .toContain("17 3 * * 0 root");
  });

  test("every rendered step is valid bash", () => {
    const s = renderDatabaseSteps(opts);
    for (const step of [...s.before, renderUsersStep(opts, pw), ...s.after, ...renderDatabaseSteps({ ...opts, encryption: false }).before]) {
      const r = spawnSync("bash", ["-n"], { input: renderStepScript(step), encoding: "utf8" });
      expect({ step: step.name, stderr: r.stderr }).toEqual({ step: step.name, stderr: "" });
    }
    for (const f of renderKeyRotationStep(opts).files.filter((x) => x.mode === "0700")) {
      expect(spawnSync("bash", ["-n"], { input: f.content, encoding: "utf8" }).stderr).toBe("");
    }
  });

  test("bad options fail before anything is rendered, naming the option, the value and what is allowed", () => {
    expect(() => resolveDatabaseOptions({ ...opts, databaseName: "app-db" })).toThrow(
      'database option databaseName: invalid value "app-db" (allowed: letters, digits and _, starting with a letter or _, at most 32 characters)',
    );
    expect(() => resolveDatabaseOptions({ ...opts, appUser: "root" })).toThrow(/appUser: invalid value "root"/);
    expect(() => resolveDatabaseOptions({ ...opts, keyDir: "/var/lib/mysql" })).toThrow(/keyDir: invalid value "\/var\/lib\/mysql" \(allowed: an absolute directory outside the data directory/);
    expect(() => resolveDatabaseOptions({ ...opts, encryptionThreads: 0 })).toThrow(/encryptionThreads: invalid value 0 \(allowed: a whole number from 1 to 255\)/);
    expect(() => resolveDatabaseOptions({ ...opts, appUserHost: "x'y" })).toThrow(/appUserHost/);
    expect(() => resolveDatabaseOptions({ ...opts, bindAddress: "300.0.0.1" })).toThrow(/bindAddress/);
    expect(() => renderEncryptionStep({ engine: "mysql", encryption: false })).toThrow(/encryption: false is only rendered for engine mariadb/);
  });
});
