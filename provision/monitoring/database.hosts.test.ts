/**
 * The health checker on a real encrypted MariaDB (lab mondb): the host provisioned with the same
 * rendered database steps as EC2, the rendered health-check step, the Debian AWS CLI publishing to
 * a CloudWatch stand-in on the lab bridge. Healthy first; then an unencrypted table, a table left
 * on an old key after rotation, an old key, a full volume and a stopped server each push their
 * metric across the threshold of the alarm the stack deploys.
 */
import { describeOnHosts } from "../../test/hosts/guard";
import { startLab, type Lab } from "../../test/hosts/lab";
import { startCloudWatchStandIn, STAND_IN_AWS_CREDENTIALS, type CloudWatchStandIn } from "../../test/hosts/cloudwatch-standin";
import { mariadbKeyFiles, renderDatabaseSteps, renderUsersStep, resolveDatabaseOptions, SCRIPT_PATHS, type DatabaseProvisionOptions } from "../database";
import { healthCommand, renderHealthStep } from "./steps";
import { KEY_MAX_AGE_DAYS, planAlarms, type AlarmSpec } from "../../components/monitoring/alarms";
import { alertsConfigSchema } from "../../stacks/config/alerts";
import type { HostMetricName } from "./metrics";

const HOST = { name: "mondb1", ip: "10.78.7.11" };
const STACK = "lab";
const VOLUME = "/tmp/vol"; // a small tmpfs mounted inside the host's own mount namespace
const options: DatabaseProvisionOptions = { engine: "mariadb", keyDir: "/etc/mysql/keyring" };
const keyFile = mariadbKeyFiles(resolveDatabaseOptions(options)).keyFile;
const thresholds = { ...alertsConfigSchema.parse({}).thresholds, dbKeyMaxAgeDays: KEY_MAX_AGE_DAYS.monthly };
const alarms = planAlarms({
  stack: STACK, database: { host: HOST.name, engine: "mariadb" },
  hosts: [{ name: HOST.name, instanceId: "i-lab", mounts: ["/", VOLUME], recover: true }],
}, thresholds);

function alarmFor(metric: HostMetricName, extra: Record<string, string> = {}): AlarmSpec {
  const dims = JSON.stringify({ Stack: STACK, Host: HOST.name, ...extra });
  const a = alarms.find((x) => x.metric?.metricName === metric && JSON.stringify(x.metric.dimensions) === dims);
  if (!a) throw new Error(`no alarm on ${metric} ${dims}`);
  return a;
}
function breaches(a: AlarmSpec, v: number): boolean {
  return { GreaterThanThreshold: v > a.threshold, GreaterThanOrEqualToThreshold: v >= a.threshold, LessThanThreshold: v < a.threshold, LessThanOrEqualToThreshold: v <= a.threshold }[a.comparison];
}

describeOnHosts("health checker on a real encrypted MariaDB (lab mondb)", () => {
  let lab: Lab;
  let cw: CloudWatchStandIn;
  const rootSql = (sql: string) => lab.ssh(HOST.name, "mariadb -N -B", sql);

  const check = async () => {
    const since = Date.now();
    const r = await lab.ssh(HOST.name, healthCommand("database"), undefined, { timeoutMs: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return (metric: HostMetricName, extra: Record<string, string> = {}) => {
      const d = cw.find(metric, { Stack: STACK, Host: HOST.name, ...extra }, since);
      expect(d).toHaveLength(1);
      return d[0].value;
    };
  };

  beforeAll(async () => {
    lab = await startLab({ name: "mondb", hosts: [HOST] });
    cw = await startCloudWatchStandIn(lab.gatewayIp);
    const { before, after } = renderDatabaseSteps(options);
    for (const step of before) await lab.runStep(HOST.name, step);
    await lab.runStep(HOST.name, renderUsersStep(options, { rootPassword: "r00t-Pa55word-for-the-lab", appPassword: "app-Pa55word-for-the-lab" }));
    for (const step of after) await lab.runStep(HOST.name, step);
    await lab.ssh(HOST.name, "install -d -m 0700 /root/.aws && cat > /root/.aws/credentials", STAND_IN_AWS_CREDENTIALS);
    await lab.ssh(HOST.name, `install -d ${VOLUME} && mount -t tmpfs -o size=4m tmpfs ${VOLUME}`);
    await lab.runStep(HOST.name, renderHealthStep({
      group: "database", stack: STACK, host: HOST.name, region: "eu-west-1", endpointUrl: cw.url, diskMounts: ["/", VOLUME],
      database: { engine: "mariadb", keyFile },
    }));
    await rootSql("CREATE TABLE app.orders (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB; INSERT INTO app.orders VALUES (1, 'x');");
  }, 90_000);

  afterAll(async () => {
    await cw?.close();
    await lab?.stop();
  }, 60_000);

  test("healthy: up, no unencrypted table, nothing on an old key, a new key, an empty volume — no alarm", async () => {
    const got = await check();
    const healthy: [HostMetricName, number][] = [["DbUp", 1], ["DbUnencryptedTables", 0], ["DbTablespacesOnOldKey", 0], ["DbKeyAgeDays", 0]];
    for (const [m, v] of healthy) {
      expect([m, got(m)]).toEqual([m, v]);
      expect(breaches(alarmFor(m), v)).toBe(false);
    }
    const disk = got("DiskUsedPercent", { MountPoint: VOLUME });
    expect(disk).toBeLessThan(5);
    expect(breaches(alarmFor("DiskUsedPercent", { MountPoint: VOLUME }), disk)).toBe(false);
    expect(cw.rejected).toEqual([]);
  }, 60_000);

  test("an unencrypted table (encryption relaxed at run time, a table created ENCRYPTED=NO) is counted", async () => {
    const r = await rootSql("SET GLOBAL innodb_encrypt_tables = ON; CREATE TABLE app.plain (id INT) ENGINE=InnoDB ENCRYPTED=NO; SET GLOBAL innodb_encrypt_tables = 'FORCE';");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const got = await check();
    expect(got("DbUnencryptedTables")).toBe(1);
    expect(breaches(alarmFor("DbUnencryptedTables"), 1)).toBe(true);
    await rootSql("DROP TABLE app.plain;");
    expect((await check())("DbUnencryptedTables")).toBe(0);
  }, 60_000);

  test("after a rotation, a table left on the old key is counted; the key's age follows the key file", async () => {
    const rotate = await lab.ssh(HOST.name, SCRIPT_PATHS.rotate, undefined, { timeoutMs: 60_000 });
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toContain("added key id 2");
    expect((await check())("DbTablespacesOnOldKey")).toBe(0);
    expect((await rootSql("ALTER TABLE app.orders ENCRYPTION_KEY_ID = 1;")).code).toBe(0);
    const got = await check();
    expect(got("DbTablespacesOnOldKey")).toBe(1);
    expect(breaches(alarmFor("DbTablespacesOnOldKey"), 1)).toBe(true);

    await lab.ssh(HOST.name, `touch -d '40 days ago' ${keyFile}`);
    const age = (await check())("DbKeyAgeDays");
    expect(age).toBe(40);
    expect(breaches(alarmFor("DbKeyAgeDays"), age)).toBe(true); // monthly rotation: 33 days at most
  }, 90_000);

  test("a volume filled past the threshold, and a stopped server", async () => {
    await lab.ssh(HOST.name, `dd if=/dev/zero of=${VOLUME}/fill bs=64k count=60 status=none`);
    const full = (await check())("DiskUsedPercent", { MountPoint: VOLUME });
    expect(full).toBeGreaterThan(thresholds.diskUsedPercent);
    expect(breaches(alarmFor("DiskUsedPercent", { MountPoint: VOLUME }), full)).toBe(true);

    expect((await lab.ssh(HOST.name, "/etc/init.d/mariadb stop", undefined, { timeoutMs: 60_000 })).code).toBe(0);
    const stoppedAt = Date.now();
    const down = await check();
    expect(down("DbUp")).toBe(0);
    expect(breaches(alarmFor("DbUp"), 0)).toBe(true);
    expect(cw.find("DbUnencryptedTables", { Host: HOST.name }, stoppedAt)).toEqual([]); // no guesses while down
  }, 60_000);
}, { requires: ["mariadbd", "mariadb", "aws"] });
