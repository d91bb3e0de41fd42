/**
 * The MariaDB steps for real, over ssh, on two local test hosts (Debian's mariadb-server):
 * db1 gets the production rendering (encrypted), db2 the same steps rendered with encryption off
 * — the negative control that proves the plaintext search can find something at all.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describeOnHosts } from "../../test/hosts/guard";
import { run, startLab, type Lab, type RunResult } from "../../test/hosts/lab";
import { renderStepScript } from "../common/step-script";
import { renderDatabaseSteps, renderEncryptionStep, renderUsersStep, SCRIPT_PATHS, type DatabaseProvisionOptions } from "./index";
import { ROTATION_CRON_FILE, ROTATION_UNIT } from "./schedule";

const PLAINTEXT = "Confidential Data";
const KEY_DIR = "/etc/mysql/keyring"; // per-host on a test host (/var/lib/mysql-keyring would be the machine's)
const encrypted: DatabaseProvisionOptions = { engine: "mariadb", keyDir: KEY_DIR };
const control: DatabaseProvisionOptions = { ...encrypted, encryption: false };
// quotes, backslash and a printf directive: the password must survive shell, SQL and option-file quoting
const passwords = {
  rootPassword: `r${randomBytes(9).toString("base64url")}'"\\%s`,
  appPassword: `a${randomBytes(9).toString("base64url")}'"\\%d`,
};

describeOnHosts(
  "MariaDB encryption on test hosts (same rendered steps as EC2)",
  () => {
    let lab: Lab;
    let clientDir: string;
    const usersOutput: Record<string, RunResult> = {};

    const ipOf = (h: string) => lab.host(h).ip;
    /** The application's view: the Debian client on this machine, over TCP, password from a 0600 file. */
    const appSql = (h: string, sql: string, password = passwords.appPassword) => {
      const cnf = path.join(clientDir, `${h}-${randomBytes(4).toString("hex")}.cnf`);
      writeFileSync(cnf, `[client]\nuser=app\npassword="${password.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"\n`, { mode: 0o600 });
      return run("mariadb", [`--defaults-extra-file=${cnf}`, "-h", ipOf(h), "-P", "3306", "--protocol=tcp", "-N", "-B", "app"], sql);
    };
    const rootSql = (h: string, sql: string) => lab.ssh(h, "mariadb -N -B", sql);
    /** Occurrences of the plaintext per datadir file (strings + grep inside the host). */
    const plaintextHits = async (h: string, files: string): Promise<Record<string, number>> => {
      const r = await lab.ssh(h, `cd /var/lib/mysql && for f in ${files}; do [ -f "$f" ] || continue; echo "$f $(strings -a "$f" | grep -c '${PLAINTEXT}' || true)"; done`);
      expect(r.code).toBe(0);
      return Object.fromEntries(r.stdout.trim().split("\n").filter(Boolean).map((l) => [l.split(" ")[0], Number(l.split(" ")[1])]));
    };
    /** Writes the plaintext as the application would, then makes InnoDB put it on disk (lab pitfall 2). */
    const writeAndFlush = async (h: string) => {
      const w = await appSql(h, `CREATE TABLE secrets (id INT AUTO_INCREMENT PRIMARY KEY, data VARCHAR(255)) ENGINE=InnoDB;
        INSERT INTO secrets (data) VALUES ('${PLAINTEXT}'), ('${PLAINTEXT} 2'), ('${PLAINTEXT} 3');`);
      expect(w).toMatchObject({ code: 0, stderr: "" });
      const f = await rootSql(h, "FLUSH TABLES app.secrets FOR EXPORT; UNLOCK TABLES; FLUSH BINARY LOGS;");
      expect(f).toMatchObject({ code: 0, stderr: "" });
    };
    const provision = async (h: string, o: DatabaseProvisionOptions) => {
      const { before, after } = renderDatabaseSteps(o);
      for (const step of before) await lab.runStep(h, step);
      usersOutput[h] = await lab.runStep(h, renderUsersStep(o, passwords));
      for (const step of after) await lab.runStep(h, step);
    };

    beforeAll(async () => {
      clientDir = mkdtempSync(path.join(tmpdir(), "opsfleet-db-"));
      lab = await startLab({ name: "db", hosts: [{ name: "db1", ip: "10.78.2.11" }, { name: "db2", ip: "10.78.2.12" }] });
      await Promise.all([provision("db1", encrypted), provision("db2", control)]);
      await Promise.all([writeAndFlush("db1"), writeAndFlush("db2")]);
    }, 90_000);
    afterAll(async () => {
      rmSync(clientDir, { recursive: true, force: true });
      await lab?.stop();
    }, 60_000);

    test("encrypted host: no plaintext in the table's .ibd, the redo log, the binlogs or anywhere in the datadir", async () => {
      expect((await appSql("db1", "SELECT COUNT(*) FROM secrets WHERE data LIKE 'Confidential%'")).stdout.trim()).toBe("3");
      const hits = await plaintextHits("db1", "app/secrets.ibd ib_logfile0 mysql-bin.[0-9]*");
      expect(Object.keys(hits)).toEqual(expect.arrayContaining(["app/secrets.ibd", "ib_logfile0", "mysql-bin.000001", "mysql-bin.000002"]));
      expect(Object.values(hits).every((n) => n === 0)).toBe(true);
      const all = await lab.ssh("db1", `grep -rlaF '${PLAINTEXT}' /var/lib/mysql || true`);
      expect(all.stdout).toBe("");
    });

    test("the system tables holding the account password hashes (Aria) are encrypted too; on the control host they are readable", async () => {
      const accounts = "strings -a /var/lib/mysql/mysql/global_priv.MAD | grep -c authentication_string || true";
      expect((await lab.ssh("db1", accounts)).stdout.trim()).toBe("0");
      expect(Number((await lab.ssh("db2", accounts)).stdout.trim())).toBeGreaterThanOrEqual(1);
    });

    test("negative control (same steps, encryption off): the same search finds the plaintext in .ibd, redo log and binlog", async () => {
      const hits = await plaintextHits("db2", "app/secrets.ibd ib_logfile0 mysql-bin.000001");
      expect(hits["app/secrets.ibd"]).toBeGreaterThanOrEqual(1);
      expect(hits["ib_logfile0"]).toBeGreaterThanOrEqual(1);
      expect(hits["mysql-bin.000001"]).toBeGreaterThanOrEqual(1);
    });

    test("verification lists every InnoDB tablespace as encrypted; on the control host it fails and names the table", async () => {
      const names = (await rootSql("db1", "SELECT NAME FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME <> 'innodb_temporary'"))
        .stdout.trim().split("\n");
      expect(names).toContain("app/secrets");
      const v = await lab.ssh("db1", SCRIPT_PATHS.verify);
      expect(v.code).toBe(0);
      const reported = [...v.stdout.matchAll(/^tablespace (\S+): encrypted \(key id \d+\)$/gm)].map((m) => m[1]);
      expect(reported.sort()).toEqual([...names].sort());
      expect(v.stdout).toMatch(/^verify: \d+ tablespaces, 0 problems$/m);

      const c = await lab.ssh("db2", SCRIPT_PATHS.verify);
      expect(c.code).toBe(1);
      expect(c.stdout).toContain("tablespace app/secrets: UNENCRYPTED");
      expect(c.stdout).toContain("setting encrypt_binlog=0: WRONG (want 1)");
    });

    test("innodb_encrypt_tables=FORCE: the application cannot create an unencrypted table", async () => {
      const r = await appSql("db1", "CREATE TABLE opt_out (id INT) ENGINE=InnoDB ENCRYPTED=NO");
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/ERROR 1005/);
    });

    test("passwords: they work (app over TCP, root via the root-only option file) and never appear in the step's text or output", async () => {
      expect((await appSql("db1", "SELECT CURRENT_USER()")).stdout.trim()).toBe("app@%");
      const wrong = await appSql("db1", "SELECT 1", "not-the-password");
      expect(wrong.stderr).toMatch(/Access denied for user 'app'/);
      const root = await lab.ssh("db1", `mariadb --defaults-extra-file=${SCRIPT_PATHS.rootClientCnf} --protocol=tcp -h 127.0.0.1 -N -e 'SELECT CURRENT_USER()'`);
      expect(root.stdout.trim()).toBe("root@localhost");
      const script = renderUsersStep(encrypted, passwords).script;
      for (const pw of Object.values(passwords)) {
        expect(script).not.toContain(pw);
        expect(usersOutput.db1.stdout + usersOutput.db1.stderr).not.toContain(pw);
      }
      const modes = await lab.ssh("db1", `stat -c '%n %U %a' ${SCRIPT_PATHS.rootPassword} ${SCRIPT_PATHS.appPassword} ${SCRIPT_PATHS.rootClientCnf} ${KEY_DIR}/keyfile.enc ${KEY_DIR}/keyfile.key`);
      expect(modes.stdout.trim().split("\n")).toEqual([
        `${SCRIPT_PATHS.rootPassword} root 600`, `${SCRIPT_PATHS.appPassword} root 600`, `${SCRIPT_PATHS.rootClientCnf} root 600`,
        `${KEY_DIR}/keyfile.enc mysql 400`, `${KEY_DIR}/keyfile.key mysql 400`,
      ]);
    });

    test("re-running the encryption step keeps the keys and does not restart the server", async () => {
      const state = async () => (await lab.ssh("db1", `cat /run/mysqld/mysqld.pid; sha256sum ${KEY_DIR}/keyfile.enc ${KEY_DIR}/keyfile.key`)).stdout;
      const before = await state();
      const r = await lab.runStep("db1", renderEncryptionStep(encrypted));
      expect(r.stdout).toContain("configuration unchanged; mariadb not restarted");
      expect(r.stdout).not.toContain("generated encryption key");
      expect(await state()).toBe(before); // same server process, same keys
    });

    test("key rotation on demand and by the scheduled command: tables move to new key ids, data stays readable and encrypted", async () => {
      const onDemand = await lab.ssh("db1", SCRIPT_PATHS.rotate, undefined, { timeoutMs: 60_000 });
      expect(onDemand.code).toBe(0);
      expect(onDemand.stdout).toContain("added key id 2");
      expect(onDemand.stdout).toContain("tablespace app/secrets: encrypted (key id 2)");

      // the cron file (installed as /etc/cron.d/... on hosts without systemd) runs exactly this line
      const cron = await lab.ssh("db1", `cat ${SCRIPT_PATHS.scheduleDir}/${ROTATION_UNIT}.cron`);
      const line = cron.stdout.split("\n").find((l) => /^\d/.test(l)) ?? "";
      const command = line.split(/\s+/).slice(6).join(" ");
      expect(line.split(/\s+/).slice(0, 6)).toEqual(["17", "3", "1", "*", "*", "root"]);
      const scheduled = await lab.ssh("db1", command, undefined, { timeoutMs: 60_000 });
      expect(scheduled.code).toBe(0);
      const log = await lab.ssh("db1", "cat /var/log/mysql/key-rotation.log");
      expect(log.stdout).toContain("added key id 3");
      expect(log.stdout).toMatch(/^verify: \d+ tablespaces, 0 problems$/m);
      // nothing was installed into the machine's shared /etc/cron.d from the test host
      expect((await run("test", ["-e", ROTATION_CRON_FILE])).code).toBe(1);

      const keyIds = await rootSql("db1", "SELECT DISTINCT CURRENT_KEY_ID FROM information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE NAME LIKE 'app/%' OR NAME LIKE 'mysql/%'");
      expect(keyIds.stdout.trim()).toBe("3");
      expect((await appSql("db1", "SELECT data FROM secrets ORDER BY id")).stdout.trim().split("\n")).toEqual([PLAINTEXT, `${PLAINTEXT} 2`, `${PLAINTEXT} 3`]);
      await rootSql("db1", "FLUSH TABLES app.secrets FOR EXPORT; UNLOCK TABLES;");
      expect(await plaintextHits("db1", "app/secrets.ibd")).toEqual({ "app/secrets.ibd": 0 });
    }, 90_000);

    test("a restart with the key file missing fails loudly, provisioning refuses to make new keys, and restoring it recovers", async () => {
      await lab.ssh("db1", `mv ${KEY_DIR}/keyfile.enc /root/keyfile.enc.saved`);
      const restart = await lab.ssh("db1", "MYSQLD_STARTUP_TIMEOUT=5 /etc/init.d/mariadb restart", undefined, { timeoutMs: 60_000 });
      expect(restart.code).not.toBe(0);
      expect(restart.stdout + restart.stderr).toMatch(/keyfile\.enc' not found[\s\S]*file_key_management' init function returned error[\s\S]*Aborting/);
      // the server's own error log has it too (without systemd Debian's default would send it to a missing syslog)
      const log = await lab.ssh("db1", "grep -c \"Plugin 'file_key_management' init function returned error\" /var/log/mysql/error.log");
      expect(Number(log.stdout.trim())).toBeGreaterThanOrEqual(1);
      const port = await run("bash", ["-c", `exec 3<>/dev/tcp/${ipOf("db1")}/3306`]);
      expect(port.code).not.toBe(0); // nothing listens: it did not come up unencrypted

      const step = await lab.runStep("db1", renderEncryptionStep(encrypted), { allowFailure: true });
      expect(step.code).toBe(1);
      expect(step.stderr).toContain("Refusing to generate new keys");
      expect((await lab.ssh("db1", `ls ${KEY_DIR}`)).stdout.trim()).toBe("keyfile.key");

      await lab.ssh("db1", `mv /root/keyfile.enc.saved ${KEY_DIR}/keyfile.enc`);
      const recovered = await lab.ssh("db1", "bash -s", renderStepScript(renderEncryptionStep(encrypted)), { timeoutMs: 60_000 });
      expect(recovered.code).toBe(0);
      expect((await appSql("db1", "SELECT COUNT(*) FROM secrets")).stdout.trim()).toBe("3");
    }, 60_000);
  },
  { requires: ["mariadbd", "mariadb", "strings"] },
);
