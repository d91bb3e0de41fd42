import * as pulumi from "@pulumi/pulumi";
import { byName, expectUniqueNames, isSecretInput, ofType, OptionsRecorder, registered, settle, unsecret, useMocks, valueOf } from "../test/harness/pulumi-mocks";
import { RedisCluster, type RedisClusterArgs } from "./redis-cluster";
import { computedOutputs, liveInstancesOnEnis, mockId, mockInvoke } from "../test/harness/mock-data";
import { contentHash } from "../provision/common/step-script";
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
    const egress = ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map((r) => [r.inputs.securityGroupId, r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId]);
    // the client group gets the matching egress (the provider removes the default allow-all egress)
    expect(egress.sort()).toEqual([
      ["dev-redis-sg-id", 17000, 17001, "dev-redis-sg-id"], ["dev-redis-sg-id", 443, 443, "0.0.0.0/0"], ["dev-redis-sg-id", 7000, 7001, "dev-redis-sg-id"],
      ["dev-redis-sg-id", 80, 80, "0.0.0.0/0"], ["sg-web", 7000, 7001, "dev-redis-sg-id"],
    ].sort());
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
    // a gate asks the other two hosts when its own nodes know no cluster; only host 0 may be created
    // first: on a first `up` (no other host's instance exists) its context says so
    for (let i = 0; i < 3; i++) {
      const gate = renderRedisHealthStep({ hostIp: ips[i], peerIps: ips.filter((_, j) => j !== i) });
      if (i > 0) expect(stdinOf(`dev-redis-${i}-redis-healthy`)).toBe(renderStepScript(gate));
      else expect(stdinOf(`dev-redis-${i}-redis-healthy`)).toBe(renderStepScript({ ...gate, script: `CREATED_FIRST=1\n${gate.script}` }));
    }
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
    // each host's nodes step waits for the previous host's health gate, which follows that host's nodes step
    const gates = [0, 1, 2].map((i) => rec.resourceOf(`dev-redis-${i}-redis-healthy`));
    expect(rec.optionsOf("dev-redis-1-redis-nodes").dependsOn).toContain(gates[0]);
    expect(rec.optionsOf("dev-redis-2-redis-nodes").dependsOn).toContain(gates[1]);
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
    // the gates ask the first three hosts only: a host-count change leaves the existing gates alone
    await settle(...rc.hosts.flatMap((h) => h.steps));
    const ips = await valueOf(rc.privateIps);
    for (let i = 0; i < 4; i++) {
      const gate = renderRedisHealthStep({ hostIp: ips[i], peerIps: ips.slice(0, 3).filter((_, j) => j !== i) });
      expect(stdinOf(`stg-redis-${i}-redis-healthy`)).toBe(renderStepScript(i === 0 ? { ...gate, script: `CREATED_FIRST=1\n${gate.script}` } : gate));
    }
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
    [{ hostInstanceProfiles: ["a", "b"] }, /hostInstanceProfiles: got "2 profiles"; allowed: one per host \(3\)/],
  ])("rejects %p before creating any resource", async (override, message) => {
    await useMocks();
    expect(() => new RedisCluster("bad", { ...base, ...override })).toThrow(message);
    await new Promise((r) => setImmediate(r));
    expect(registered).toEqual([]);
  });
});

describe("RedisCluster host count change (scale-out / scale-in)", () => {
  /** Inputs of every resource, by name, with each host's (mock) IP replaced by its host index. */
  async function build(hostCount: number): Promise<{ inputs: Map<string, string>; script: string }> {
    await useMocks();
    // a host keeps its IP whatever the count (as on AWS): IP from the instance's name, not a counter
    await pulumi.runtime.setMocks({
      newResource(args) {
        registered.push(args);
        const state = { ...args.inputs, ...computedOutputs(args) };
        if (args.type === "aws:ec2/networkInterface:NetworkInterface") state.privateIp = `10.0.9.${10 + Number(/-(\d+)$/.exec(args.name)![1])}`;
        return { id: mockId(args), state };
      },
      call: (a) => mockInvoke(a.token, a.inputs),
    }, "opsfleet", "test", false);
    const rc = new RedisCluster("dev-redis", { ...base, hostCount });
    await settle(rc, ...rc.hosts, ...rc.hosts.flatMap((h) => h.steps));
    const norm = (s: string) => s.replace(/10\.0\.9\.1(\d)/g, "<host-$1>");
    const inputs = new Map(registered.map((r) => [`${r.type}::${r.name}`, JSON.stringify(unsecret(r.inputs))]));
    return { inputs, script: norm(stdinOf("dev-redis-0-redis-cluster")) };
  }

  test("3 -> 4 adds the new host's resources and changes only the cluster step's inputs (its node list): no other step re-runs", async () => {
    const three = await build(3);
    const four = await build(4);
    const changed = [...three.inputs.keys()].filter((k) => four.inputs.has(k) && four.inputs.get(k) !== three.inputs.get(k));
    expect(changed).toEqual(["command:remote:Command::dev-redis-0-redis-cluster"]);
    expect([...three.inputs.keys()].filter((k) => !four.inputs.has(k))).toEqual([]);
    const added = [...four.inputs.keys()].filter((k) => !three.inputs.has(k));
    expect(added.every((k) => k.includes("::dev-redis-3"))).toBe(true);
    expect(added).toEqual(expect.arrayContaining(["aws:ec2/instance:Instance::dev-redis-3", "aws:ebs/volume:Volume::dev-redis-3-data"]));
    expect(three.script).toContain("NODES='<host-0>:7000 <host-1>:7000 <host-2>:7000 <host-0>:7001 <host-1>:7001 <host-2>:7001'");
    expect(four.script).toContain("NODES='<host-0>:7000 <host-1>:7000 <host-2>:7000 <host-3>:7000 <host-0>:7001 <host-1>:7001 <host-2>:7001 <host-3>:7001'");
  }, 120_000);

  test("6 -> 3 removes hosts 3-5 only (Pulumi deletes them after the cluster step's update, which drains them first)", async () => {
    const six = await build(6);
    const three = await build(3);
    const removed = [...six.inputs.keys()].filter((k) => !three.inputs.has(k));
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.every((k) => /::dev-redis-[345](-|$)/.test(k))).toBe(true);
    const changed = [...three.inputs.keys()].filter((k) => six.inputs.get(k) !== three.inputs.get(k));
    expect(changed).toEqual(["command:remote:Command::dev-redis-0-redis-cluster"]);
  }, 120_000);
});

describe("RedisCluster: host 0's gate on a later `up` (issue 9: a host back empty while its peers hang)", () => {
  const gateOf = async (live: boolean) => {
    liveInstancesOnEnis.clear();
    // what EC2 has after the first `up`: an instance on every host's network interface
    if (live) for (const i of [0, 1, 2]) liveInstancesOnEnis.set(mockId({ type: ENI, name: `dev-redis-${i}` } as never), `i-dev-redis-${i}`);
    await useMocks();
    const rc = new RedisCluster("dev-redis", base);
    await settle(rc, ...rc.hosts, ...rc.hosts.flatMap((h) => h.steps));
    liveInstancesOnEnis.clear();
    return { stdin: stdinOf("dev-redis-0-redis-healthy"), trigger: unsecret(cmd("dev-redis-0-redis-healthy").triggers)[0] as string };
  };

  test("silent peers pass as a first creation only while no other host's instance exists", async () => {
    const first = await gateOf(false);
    const later = await gateOf(true);
    expect(first.stdin).toContain("\nCREATED_FIRST=1\n");
    // later: the peers exist, so "no peer answered" fails the gate (retried until PEER_WAIT, then exit 1)
    expect(later.stdin).toContain("\nCREATED_FIRST=0\n");
    expect(later.stdin).not.toContain("\nCREATED_FIRST=1\n");
    // the flip after the first `up` is no trigger: it re-runs nothing (the gate runs again only on a new instance)
    const bare = (stdin: string) => stdin.replace(/\nCREATED_FIRST=[01]\n/, "\n");
    expect(bare(later.stdin)).not.toBe(later.stdin);
    expect(later.trigger).toBe(contentHash(bare(later.stdin)));
    expect(first.trigger).toBe(contentHash(bare(first.stdin)));
  });
});
