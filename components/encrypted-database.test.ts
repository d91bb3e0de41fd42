import * as pulumi from "@pulumi/pulumi";
import { byName, expectUniqueNames, isSecretInput, ofType, OptionsRecorder, registered, settle, unsecret, useMocks, valueOf } from "../test/harness/pulumi-mocks";
import { EncryptedDatabase, type EncryptedDatabaseArgs } from "./encrypted-database";
import { renderStepScript } from "../provision/common/step-script";
import { renderDatabaseSteps, renderUsersStep, SCRIPT_PATHS } from "../provision/database";

const ROOT_PW = "root-Secret-0123456789";
const APP_PW = "app-Secret-9876543210";
const ssh = { user: "admin", privateKey: pulumi.secret("PRIVATE-KEY"), bastion: { host: "198.51.100.7", user: "admin", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBastionHostKeyForTests0000000000000000000 bastion" } };
const base: EncryptedDatabaseArgs = {
  vpcId: "vpc-1",
  subnetId: "subnet-priv-a",
  clientSecurityGroupIds: ["sg-web", "sg-worker"],
  bastionSecurityGroupId: "sg-bastion",
  ssh,
  keyName: "ops",
  rootPassword: pulumi.secret(ROOT_PW),
  appPassword: APP_PW, // plain on purpose: the component must make it secret
};

const stdinOf = (name: string) => unsecret(byName(name, "command:remote:Command").inputs.stdin) as string;

describe.each(["mariadb", "mysql"] as const)("EncryptedDatabase (%s)", (engine) => {
  const rec = new OptionsRecorder();
  let db: EncryptedDatabase;

  beforeAll(async () => {
    await useMocks();
    db = new EncryptedDatabase("dev-db", { ...base, engine, protectVolumes: true }, rec.opts);
    await settle(db, db.host, ...db.host.steps);
  });

  test("3306 only from the client security groups, SSH only from the bastion, no inbound CIDR at all", () => {
    const rules = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs);
    expect(rules.map((r) => [r.fromPort, r.toPort, r.referencedSecurityGroupId]).sort()).toEqual(
      [[22, 22, "sg-bastion"], [3306, 3306, "sg-web"], [3306, 3306, "sg-worker"]].sort(),
    );
    expect(rules.every((r) => r.cidrIpv4 === undefined && r.securityGroupId === "dev-db-sg-id")).toBe(true);
    const egress = ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map((r) => [r.inputs.securityGroupId, r.inputs.fromPort, r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId]);
    // each client group may send to 3306 of this group only (the provider removes the default allow-all egress)
    expect(egress.sort()).toEqual([
      ["dev-db-sg-id", 443, "0.0.0.0/0"], ["dev-db-sg-id", 80, "0.0.0.0/0"], ["sg-web", 3306, "dev-db-sg-id"], ["sg-worker", 3306, "dev-db-sg-id"],
    ].sort());
    expect(byName("dev-db-host", "aws:ec2/networkInterface:NetworkInterface").inputs.securityGroups).toEqual(["dev-db-sg-id"]);
  });

  test("data and key material on two separate encrypted, protected EBS volumes", () => {
    const data = byName("dev-db-host-data", "aws:ebs/volume:Volume").inputs;
    const keys = byName("dev-db-host-keys", "aws:ebs/volume:Volume").inputs;
    expect(data).toMatchObject({ encrypted: true, type: "gp3", size: 50, iops: 3000 });
    expect(keys).toMatchObject({ encrypted: true, type: "gp3", size: 1 });
    expect(rec.optionsOf("dev-db-host-data").protect).toBe(true);
    expect(rec.optionsOf("dev-db-host-keys").protect).toBe(true);
    const mounts = stdinOf("dev-db-host-volumes");
    expect(mounts).toContain("'/var/lib/mysql'");
    expect(mounts).toContain("'/var/lib/mysql-keyring'");
  });

  test("provisioning runs the rendered steps in order, byte for byte", () => {
    const names = db.host.steps.map((s) => registered.find((r) => r.type === "command:remote:Command" && rec.resourceOf(r.name) === s)?.name);
    expect(names).toEqual(["cloud-init", "volumes", "db-install", "db-encryption", "db-users", "db-key-rotation", "db-verify"].map((s) => `dev-db-host-${s}`));
    const { before, after } = renderDatabaseSteps({ engine });
    for (const step of [...before, ...after]) expect(stdinOf(`dev-db-host-${step.name}`)).toBe(renderStepScript(step));
    expect(stdinOf("dev-db-host-db-users")).toBe(renderStepScript(renderUsersStep({ engine }, { rootPassword: ROOT_PW, appPassword: APP_PW })));
  });

  test("passwords: only in the secret stdin of the users step (logging off), never in command text or another step", () => {
    const users = byName("dev-db-host-db-users", "command:remote:Command").inputs;
    expect(isSecretInput(users.stdin)).toBe(true);
    expect(users.logging).toBe("none");
    expect(users.create).toBe("sudo bash -s");
    expect(stdinOf("dev-db-host-db-users")).toContain(Buffer.from(APP_PW).toString("base64"));
    for (const r of ofType("command:remote:Command")) {
      expect(JSON.stringify(unsecret(r.inputs.create))).not.toMatch(/Secret-/);
      if (r.name !== "dev-db-host-db-users") {
        const stdin = stdinOf(r.name);
        for (const pw of [ROOT_PW, APP_PW]) {
          expect(stdin).not.toContain(pw);
          expect(stdin).not.toContain(Buffer.from(pw).toString("base64"));
        }
      }
    }
    expect(renderUsersStep({ engine }, { rootPassword: "x", appPassword: "y" }).files.map((f) => f.path)).toEqual([SCRIPT_PATHS.rootPassword, SCRIPT_PATHS.appPassword]);
  });

  test("the offline plan's manifest lists the database steps and their rendered files", async () => {
    const m = await valueOf(db.host.manifest());
    expect(m.steps.map((s) => s.name)).toEqual(["cloud-init", "volumes", "db-install", "db-encryption", "db-users", "db-key-rotation", "db-verify"]);
    const paths = m.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining([SCRIPT_PATHS.rotate, SCRIPT_PATHS.verify, SCRIPT_PATHS.rootPassword, SCRIPT_PATHS.appPassword]));
    expect(paths).toContain(engine === "mariadb" ? "/etc/mysql/mariadb.conf.d/99-opsfleet-encryption.cnf" : "/usr/sbin/mysqld.my");
  });

  test("outputs: endpoint, database and user names", async () => {
    expect(await valueOf(db.endpoint)).toMatch(/^10\.\d+\.\d+\.\d+:3306$/); // a private address of the (mock) VPC
    expect(await valueOf(db.endpoint)).toBe(`${await valueOf(db.address)}:3306`);
    expect([db.engine, db.databaseName, db.appUser, db.keyDir]).toEqual([engine, "app", "app", "/var/lib/mysql-keyring"]);
    expect(await valueOf(db.securityGroupId)).toBe("dev-db-sg-id");
  });

  test("children are parented and uniquely named ${name}-<role>", () => {
    expectUniqueNames();
    for (const s of rec.seen) expect(s.name.startsWith("dev-db")).toBe(true);
    expect(rec.optionsOf("dev-db-sg").parent).toBe(db);
    expect(rec.optionsOf("dev-db-host").parent).toBe(db);
  });
});

describe("EncryptedDatabase input validation (before any resource)", () => {
  beforeAll(() => useMocks());

  test.each([
    [{ databaseName: "app-db" }, /databaseName: invalid value "app-db"/],
    [{ appUser: "root" }, /appUser: invalid value "root"/],
    [{ dataVolumeSizeGb: 0 }, /dataVolumeSizeGb: invalid value 0 \(allowed: a whole number from 1 to 16384\)/],
    [{ dataVolumeIops: 100 }, /dataVolumeIops: invalid value 100/],
    [{ keyRotationSchedule: "hourly" as never }, /keyRotationSchedule: invalid value "hourly" \(allowed: daily, weekly, monthly, off\)/],
  ])("%o is refused", async (bad, message) => {
    const before = registered.length;
    expect(() => new EncryptedDatabase(`bad-${before}`, { ...base, ...bad })).toThrow(message);
    await new Promise((r) => setTimeout(r, 50));
    expect(registered.slice(before)).toEqual([]);
  });
});
