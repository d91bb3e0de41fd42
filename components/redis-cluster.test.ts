import * as pulumi from "@pulumi/pulumi";
import { byName, expectUniqueNames, isSecretInput, ofType, OptionsRecorder, registered, settle, unsecret, useMocks, valueOf } from "../test/harness/pulumi-mocks";
import { RedisCluster, type RedisClusterArgs } from "./redis-cluster";
import { renderStepScript } from "../provision/common/step-script";
import { renderRedisClusterStep, renderRedisHealthStep, renderRedisInstallStep, renderRedisNodesStep, renderRedisOsTuningStep } from "../provision/redis/steps";

const PASSWORD = "redis-Secret-0123456789";
const ssh = { user: "admin", privateKey: pulumi.secret("PRIVATE-KEY"), bastion: { host: "198.51.100.7", user: "admin", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBastionHostKeyForTests0000000000000000000 bastion" } };
const base: RedisClusterArgs = {
  vpcId: "vpc-1",
  subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
  password: PASSWORD, // plain on purpose: the component must make it secret
  clientSecurityGroupIds: ["sg-web"],
  bastionSecurityGroupId: "sg-bastion",
  ssh,
  keyName: "ops",
};

const ENI = "aws:ec2/networkInterface:NetworkInterface";
const cmd = (name: string) => byName(name, "command:remote:Command").inputs;
const stdinOf = (name: string) => unsecret(cmd(name).stdin) as string;

describe("RedisCluster", () => {
  const rec = new OptionsRecorder();
  let rc: RedisCluster;
  let ips: string[];

  beforeAll(async () => {
    await useMocks();
    rc = new RedisCluster("dev-redis", { ...base, maxmemoryMb: 256, protectVolumes: true }, rec.opts);
    await settle(rc, ...rc.hosts, ...rc.hosts.flatMap((h) => h.steps));
    ips = await valueOf(rc.privateIps);
  });

  test("three hosts, one per subnet, each with an encrypted, protected gp3 volume on /var/lib/redis", () => {
    const instances = ofType("aws:ec2/instance:Instance").map((r) => [r.name, byName(r.name, ENI).inputs.subnetId, r.inputs.instanceType]);
    expect(instances).toEqual([["dev-redis-0", "subnet-a", "t3.small"], ["dev-redis-1", "subnet-b", "t3.small"], ["dev-redis-2", "subnet-c", "t3.small"]]);
    for (let i = 0; i < 3; i++) {
      expect(byName(`dev-redis-${i}-data`, "aws:ebs/volume:Volume").inputs).toMatchObject({ encrypted: true, type: "gp3", size: 20 });
      expect(rec.seen.find((x) => x.name === `dev-redis-${i}-data` && x.type === "aws:ebs/volume:Volume")?.opts.protect).toBe(true);
      expect(stdinOf(`dev-redis-${i}-volumes`)).toContain("'/var/lib/redis'");
    }
    expect(new Set(ips).size).toBe(3);
  });

  test("client ports from members and client SGs, bus ports only between members, SSH only from the bastion, no inbound CIDR", () => {
    const ingress = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs);
    expect(ingress.map((r) => [r.fromPort, r.toPort, r.referencedSecurityGroupId]).sort()).toEqual(
      [[22, 22, "sg-bastion"], [7000, 7001, "dev-redis-sg-id"], [7000, 7001, "sg-web"], [17000, 17001, "dev-redis-sg-id"]].sort(),
    );
    expect(ingress.every((r) => r.cidrIpv4 === undefined && r.securityGroupId === "dev-redis-sg-id")).toBe(true);
    const egress = ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map((r) => [r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId]);
    expect(egress.sort()).toEqual([[17000, 17001, "dev-redis-sg-id"], [443, 443, "0.0.0.0/0"], [7000, 7001, "dev-redis-sg-id"], [80, 80, "0.0.0.0/0"]].sort());
    for (const i of [0, 1, 2]) expect(byName(`dev-redis-${i}`, ENI).inputs.securityGroups).toEqual(["dev-redis-sg-id"]);
  });

  test("each host runs the rendered steps byte for byte, in order", () => {
    for (let i = 0; i < 3; i++) {
      const names = rc.hosts[i].steps.map((s) => registered.find((r) => r.type === "command:remote:Command" && rec.resourceOf(r.name) === s)?.name);
      const expected = ["cloud-init", "volumes", "redis-install", "redis-os", "redis-nodes", "redis-healthy", ...(i === 0 ? ["redis-cluster"] : [])];
      expect(names).toEqual(expected.map((s) => `dev-redis-${i}-${s}`));
      expect(stdinOf(`dev-redis-${i}-redis-install`)).toBe(renderStepScript(renderRedisInstallStep()));
      expect(stdinOf(`dev-redis-${i}-redis-os`)).toBe(renderStepScript(renderRedisOsTuningStep()));
      expect(stdinOf(`dev-redis-${i}-redis-nodes`)).toBe(
        renderStepScript(renderRedisNodesStep({ privateIp: ips[i], password: PASSWORD, maxmemoryMb: 256, maxmemoryPolicy: "noeviction", nodeTimeoutMs: 5000 })),
      );
    }
    expect(stdinOf("dev-redis-0-redis-cluster")).toBe(renderStepScript(renderRedisClusterStep({ hostIps: ips })));
    for (let i = 0; i < 3; i++) expect(stdinOf(`dev-redis-${i}-redis-healthy`)).toBe(renderStepScript(renderRedisHealthStep({ hostIps: ips, hostIp: ips[i] })));
  });

  test("hosts are created and replaced one at a time: each instance waits for the previous host's health gate", async () => {
    const instanceDeps = async (i: number) => {
      const o = rec.seen.find((x) => x.name === `dev-redis-${i}` && x.type === "aws:ec2/instance:Instance")!.opts as pulumi.CustomResourceOptions;
      expect(o.deleteBeforeReplace).toBe(true);
      return valueOf(o.dependsOn as pulumi.Input<pulumi.Resource[]>);
    };
    expect(await instanceDeps(0)).toEqual([]);
    expect(await instanceDeps(1)).toEqual([rec.resourceOf("dev-redis-0-redis-healthy")]);
    expect(await instanceDeps(2)).toEqual([rec.resourceOf("dev-redis-1-redis-healthy")]);
    // the gate re-runs on a new instance and after a stop/start (instance type change)
    for (const i of [0, 1, 2]) expect(unsecret(cmd(`dev-redis-${i}-redis-healthy`).triggers).slice(1)).toEqual([`dev-redis-${i}-id`, "t3.small"]);
    // no deadlock on the first `up`: the gates come before the cluster step, which waits for all of them
    const gates = [0, 1, 2].map((i) => rec.resourceOf(`dev-redis-${i}-redis-healthy`));
    expect(rec.optionsOf("dev-redis-0-redis-cluster").dependsOn).toEqual(expect.arrayContaining(gates.slice(1)));
    expect(rec.optionsOf("dev-redis-0-redis-cluster").dependsOn).toContain(gates[0]);
  });

  test("hosts reconfigure one after another, and the cluster is formed after every host's nodes are up", () => {
    const nodes = [0, 1, 2].map((i) => rec.resourceOf(`dev-redis-${i}-redis-nodes`));
    expect(rec.optionsOf("dev-redis-1-redis-nodes").dependsOn).toContain(nodes[0]);
    expect(rec.optionsOf("dev-redis-2-redis-nodes").dependsOn).toContain(nodes[1]);
    // (through each host's health gate, which follows its nodes step)
    const gates = [0, 1, 2].map((i) => rec.resourceOf(`dev-redis-${i}-redis-healthy`));
    for (const i of [0, 1, 2]) expect(rec.optionsOf(`dev-redis-${i}-redis-healthy`).dependsOn).toContain(nodes[i]);
    expect(rec.optionsOf("dev-redis-0-redis-cluster").dependsOn).toEqual(expect.arrayContaining(gates));
    expect(rc.clusterStep).toBe(rec.resourceOf("dev-redis-0-redis-cluster"));
  });

  test("the password is only in the secret stdin of the nodes steps (logging off), never in command text", () => {
    for (const i of [0, 1, 2]) {
      const nodes = cmd(`dev-redis-${i}-redis-nodes`);
      expect(isSecretInput(nodes.stdin)).toBe(true);
      expect(nodes.logging).toBe("none");
      expect(stdinOf(`dev-redis-${i}-redis-nodes`)).toContain(Buffer.from(PASSWORD).toString("base64"));
    }
    for (const r of ofType("command:remote:Command")) {
      expect(JSON.stringify(unsecret(r.inputs.create))).not.toContain(PASSWORD);
      const stdin = stdinOf(r.name);
      expect(stdin).not.toContain(PASSWORD);
      if (!r.name.endsWith("-redis-nodes")) expect(stdin).not.toContain(Buffer.from(PASSWORD).toString("base64"));
    }
  });

  test("outputs every node endpoint and a seed list of the masters", async () => {
    expect(await valueOf(rc.nodeEndpoints)).toEqual([...ips.map((ip) => `${ip}:7000`), ...ips.map((ip) => `${ip}:7001`)]);
    expect(await valueOf(rc.seedList)).toBe(ips.map((ip) => `${ip}:7000`).join(","));
  });

  test("every resource name is unique and prefixed with the component's name", () => {
    expectUniqueNames();
    for (const r of registered) expect(r.name.startsWith("dev-redis")).toBe(true);
  });
});

describe("RedisCluster with more hosts than subnets", () => {
  test("places hosts round-robin over the subnets", async () => {
    await useMocks();
    const rc = new RedisCluster("stg-redis", { ...base, subnetIds: ["subnet-a", "subnet-b"], hostCount: 4 });
    await settle(rc, ...rc.hosts);
    expect(ofType(ENI).map((r) => r.inputs.subnetId)).toEqual(["subnet-a", "subnet-b", "subnet-a", "subnet-b"]);
    expect((await valueOf(rc.nodeEndpoints)).length).toBe(8);
  });
});

describe("RedisCluster argument checks", () => {
  test.each([
    [{ hostCount: 2 }, /RedisCluster bad: hostCount: got 2; allowed: a whole number from 3 to 15/],
    [{ subnetIds: [] }, /RedisCluster bad: subnetIds: got 0; allowed: at least one subnet/],
    [{ maxmemoryMb: 8 }, /maxmemoryMb: got 8; allowed: a whole number >= 32/],
    [{ maxmemoryPolicy: "lru" as never }, /maxmemoryPolicy: got "lru"; allowed: noeviction, allkeys-lru/],
    [{ nodeTimeoutMs: 10 }, /nodeTimeoutMs: got 10; allowed: a whole number from 1000 to 60000/],
    [{ dataVolumeSizeGb: 0 }, /dataVolumeSizeGb: got 0/],
  ])("rejects %p before creating any resource", async (override, message) => {
    await useMocks();
    expect(() => new RedisCluster("bad", { ...base, ...override })).toThrow(message);
    await new Promise((r) => setImmediate(r));
    expect(registered).toEqual([]);
  });
});
