/**
 * What the application could do to get around MariaDB's encryption, on a real server (lab "dbenc"):
 * tables on engines that cannot be encrypted, and tables that key rotation used to leave on an old
 * key id (SYSTEM VERSIONED tables, sequences). The same rendered steps as EC2, one host, < 60 s.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describeOnHosts } from "../../test/hosts/guard";
import { run, startLab, type Lab } from "../../test/hosts/lab";
import { renderDatabaseSteps, renderUsersStep, SCRIPT_PATHS, type DatabaseProvisionOptions } from "./index";

const PLAINTEXT = "Confidential Data";
const o: DatabaseProvisionOptions = { engine: "mariadb", keyDir: "/etc/mysql/keyring" };
const passwords = { rootPassword: `r${randomBytes(12).toString("hex")}`, appPassword: `a${randomBytes(12).toString("hex")}` };
const HOST = { name: "e1", ip: "10.78.14.11" };

describeOnHosts(
  "MariaDB: no way around encryption for the application, rotation moves every table that can move",
  () => {
    let lab: Lab;
    let clientDir: string;
    const appSql = (sql: string) => {
      const cnf = path.join(clientDir, "app.cnf");
      writeFileSync(cnf, `[client]\nuser=app\npassword=${passwords.appPassword}\n`, { mode: 0o600 });
      return run("mariadb", [`--defaults-extra-file=${cnf}`, "-h", HOST.ip, "--protocol=tcp", "-N", "-B", "app"], sql);
    };
    const rootSql = (sql: string) => lab.ssh("e1", "mariadb -N -B", sql);
    const verify = () => lab.ssh("e1", SCRIPT_PATHS.verify);
    const keyIds = async (): Promise<Record<string, number>> => {
      const r = await rootSql("SELECT NAME, CURRENT_KEY_ID FROM information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE NAME LIKE 'app/%'");
      return Object.fromEntries(r.stdout.trim().split("\n").filter(Boolean).map((l) => [l.split("\t")[0], Number(l.split("\t")[1])]));
    };

    beforeAll(async () => {
      clientDir = mkdtempSync(path.join(tmpdir(), "opsfleet-dbenc-"));
      lab = await startLab({ name: "dbenc", hosts: [HOST] });
      const { before, after } = renderDatabaseSteps(o);
      for (const step of before) await lab.runStep("e1", step);
      await lab.runStep("e1", renderUsersStep(o, passwords));
      for (const step of after) await lab.runStep("e1", step);
    }, 60_000);
    afterAll(async () => {
      rmSync(clientDir, { recursive: true, force: true });
      await lab?.stop();
    }, 60_000);

    test("the application cannot create or convert a table to an engine that cannot be encrypted", async () => {
      for (const ddl of [
        "CREATE TABLE m (v VARCHAR(50)) ENGINE=MyISAM",
        "CREATE TABLE a (v VARCHAR(50)) ENGINE=Aria ROW_FORMAT=DYNAMIC TRANSACTIONAL=0",
        "CREATE TABLE c (v VARCHAR(50) NOT NULL) ENGINE=CSV",
        "CREATE TABLE i (v VARCHAR(50)) ENGINE=InnoDB; ALTER TABLE i ENGINE=MyISAM",
      ]) {
        const r = await appSql(ddl);
        expect({ ddl, code: r.code }).toEqual({ ddl, code: 1 });
        expect(r.stderr).toMatch(/ERROR 1290 .*NO_ENGINE_SUBSTITUTION/);
      }
      // without NO_ENGINE_SUBSTITUTION the server substitutes InnoDB instead of refusing
      const sub = await appSql("SET SESSION sql_mode = ''; CREATE TABLE sub (v VARCHAR(50)) ENGINE=MyISAM; SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 'sub'");
      expect(sub).toMatchObject({ code: 0, stdout: "InnoDB\n" });
      const engines = await rootSql("SELECT DISTINCT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app'");
      expect(engines.stdout.trim()).toBe("InnoDB");
      expect((await verify()).stdout).toContain("setting enforce_storage_engine=InnoDB: ok");
    });

    test("verify fails naming the table and its engine when one exists anyway (e.g. from before), and passes once converted", async () => {
      // a table left from before this setting: only an account with SUPER can lift it for its session
      const legacy = await rootSql(`SET SESSION enforce_storage_engine = NULL; CREATE TABLE app.legacy (v VARCHAR(50)) ENGINE=MyISAM;
        INSERT INTO app.legacy VALUES ('${PLAINTEXT}'); FLUSH TABLES app.legacy;`);
      expect(legacy).toMatchObject({ code: 0, stderr: "" });
      expect((await lab.ssh("e1", `strings -a /var/lib/mysql/app/legacy.MYD | grep -c '${PLAINTEXT}'`)).stdout.trim()).toBe("1");
      const v = await verify();
      expect(v.code).toBe(1);
      expect(v.stdout).toContain("table app.legacy: ENGINE=MyISAM cannot be encrypted (only InnoDB can); convert it: ALTER TABLE app.legacy ENGINE=InnoDB");
      expect(v.stdout).toMatch(/^verify: \d+ tablespaces, 1 problems$/m);
      expect((await rootSql("ALTER TABLE app.legacy ENGINE=InnoDB")).code).toBe(0);
      expect(await verify()).toMatchObject({ code: 0 });
    });

    test("rotation moves SYSTEM VERSIONED tables and sequences too; verify fails on anything left on an older key id", async () => {
      const made = await appSql(`CREATE TABLE hist (id INT PRIMARY KEY, v VARCHAR(50)) WITH SYSTEM VERSIONING;
        INSERT INTO hist VALUES (1, 'first'); UPDATE hist SET v = 'second' WHERE id = 1;
        CREATE SEQUENCE seq; SELECT NEXTVAL(seq);
        CREATE TABLE docs (id INT PRIMARY KEY, body TEXT, FULLTEXT KEY (body)); INSERT INTO docs VALUES (1, 'encrypted words');`);
      expect(made).toMatchObject({ code: 0, stdout: "1\n" });
      const r = await lab.ssh("e1", SCRIPT_PATHS.rotate, undefined, { timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("added key id 2");
      const ids = await keyIds();
      for (const t of ["app/hist", "app/seq", "app/docs", "app/legacy", "app/sub"]) expect({ t, id: ids[t] }).toEqual({ t, id: 2 });
      // FULLTEXT auxiliary tables: MariaDB re-creates them on key id 1; verify names them without failing
      const fts = Object.keys(ids).filter((n) => /\/FTS_[0-9a-f]{16}_/.test(n));
      expect(fts.length).toBeGreaterThan(0);
      for (const n of fts) expect(r.stdout).toContain(`tablespace ${n}: encrypted (key id 1; MariaDB cannot move it to key id 2)`);
      expect(r.stdout).toMatch(/^verify: \d+ tablespaces, 0 problems$/m);
      // the data is intact: history rows, the sequence goes on, the full-text index answers
      expect((await appSql("SELECT v FROM hist FOR SYSTEM_TIME ALL ORDER BY v")).stdout).toBe("first\nsecond\n");
      expect(Number((await appSql("SELECT NEXTVAL(seq)")).stdout)).toBeGreaterThan(1);
      expect((await appSql("SELECT id FROM docs WHERE MATCH(body) AGAINST ('encrypted')")).stdout).toBe("1\n");

      expect((await rootSql("ALTER TABLE app.hist ENCRYPTION_KEY_ID = 1")).code).toBe(0);
      const v = await verify();
      expect(v.code).toBe(1);
      expect(v.stdout).toContain(`tablespace app/hist: on key id 1, older than the current key id 2 (run ${SCRIPT_PATHS.rotate})`);
    }, 60_000);

    test("verify exempts only real FULLTEXT auxiliary tables: a user table named like one is checked like any other", async () => {
      const USER_FTS = "FTS_0000000000000abc_whatever";
      // a user table with an auxiliary table's name shape
      const made = await appSql(`CREATE TABLE ${USER_FTS} (v VARCHAR(50)); INSERT INTO ${USER_FTS} VALUES ('${PLAINTEXT}');`);
      expect(made).toMatchObject({ code: 0, stderr: "" });
      const r = await lab.ssh("e1", SCRIPT_PATHS.rotate, undefined, { timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("added key id 3");
      const ids = await keyIds();
      expect(ids[`app/${USER_FTS}`]).toBe(3); // rotation moves it: it is a table like any other
      // the real auxiliary tables (of docs) stay behind and are no false positives
      const aux = Object.keys(ids).filter((n) => /^app\/FTS_[0-9a-f]{16}_/.test(n) && n !== `app/${USER_FTS}`);
      expect(aux.length).toBeGreaterThanOrEqual(11); // docs: 5 common + 6 index tables
      for (const n of aux.filter((a) => ids[a] < 3)) expect(r.stdout).toContain(`tablespace ${n}: encrypted (key id ${ids[n]}; MariaDB cannot move it to key id 3)`);
      expect(aux.filter((a) => ids[a] < 3).length).toBeGreaterThan(0);
      expect(r.stdout).toMatch(/^verify: \d+ tablespaces, 0 problems$/m);

      // the user table left on an older key id, and one not encrypted at all (made while FORCE was lifted)
      const holes = await rootSql(`ALTER TABLE app.${USER_FTS} ENCRYPTION_KEY_ID = 1;
        SET GLOBAL innodb_encrypt_tables = ON; CREATE TABLE app.FTS_0000000000000abc_plain (v VARCHAR(50)) ENCRYPTED=NO;
        INSERT INTO app.FTS_0000000000000abc_plain VALUES ('${PLAINTEXT}'); SET GLOBAL innodb_encrypt_tables = 'FORCE';`);
      expect(holes).toMatchObject({ code: 0, stderr: "" });
      const v = await verify();
      expect(v.code).toBe(1);
      expect(v.stdout).toContain(`tablespace app/${USER_FTS}: on key id 1, older than the current key id 3 (run ${SCRIPT_PATHS.rotate})`);
      expect(v.stdout).toContain("tablespace app/FTS_0000000000000abc_plain: UNENCRYPTED");
      expect(v.stdout).toMatch(/^verify: \d+ tablespaces, 2 problems$/m);
      for (const n of aux.filter((a) => ids[a] < 3)) expect(v.stdout).toContain(`tablespace ${n}: encrypted (key id ${ids[n]}; MariaDB cannot move it to key id 3)`);
    }, 60_000);
  },
  { requires: ["mariadbd", "mariadb", "strings"] },
);
