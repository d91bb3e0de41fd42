/**
 * Redis scale-in edge cases on real Redis (lab "rscaleb", independent of redis-scale.test.ts so
 * jest runs the two files in parallel): the per-master memory check, a scale-in after a failover
 * at run time moved a staying host's master onto the leaving host, the reset guard's decisions,
 * a host removed while down that comes back with its stale cluster config, a new host's gate and
 * scale-out after a runtime failover, a failed node removal's message and re-run, and a scale-in
 * whose leaving host is dead (its slots on a staying host's second master).
 * The hosts' /var/lib/redis is a tmpfs (see redis-scale.test.ts).
 */
import { Cluster, Redis } from "ioredis";
import { describeOnHosts } from "./guard";
import { startLab, type Lab, type LabHost } from "./lab";
import {
  allNodeAddrs, clusterInfo, clusterNodes, info, mountRedisTmpfs, provisionRedisHosts, rawReplies, redisCmd, runClusterStep, slotShares, stageProblem,
  stopRedisNodes, waitFor,
} from "./redis-lab";
import { renderRedisClusterStep, renderRedisHealthStep, renderRedisNodesStep } from "../../provision/redis/steps";
import { RESET_GUARD } from "../../provision/redis/cluster-script";
import { HELPERS } from "../../provision/redis/scripts";

const PASSWORD = `scalein ${Date.now()} "pa55word"`;
const HOSTS: LabHost[] = [1, 2, 3, 4].map((i) => ({ name: `rb${i}`, ip: `10.78.15.1${i}` }));
const PARAMS = { password: PASSWORD, maxmemoryMb: 64 };
const KEYS = 6000;
const value = (i: number) => `v${i}-${"y".repeat(2000)}`; // ~12 MB in all
const stage = (n: number) => HOSTS.slice(0, n);
const log = (what: string) => console.log(`[rscaleb] ${what}`);
const MiB = 1024 * 1024;

describeOnHosts("Redis scale-in: memory per master, after a runtime failover, reset guard, stale host", () => {
  let lab: Lab;
  let client: Cluster;

  async function allKeysThere(): Promise<void> {
    for (let i = 0; i < KEYS; i += 1000) {
      const idx = Array.from({ length: Math.min(1000, KEYS - i) }, (_, j) => i + j);
      const got = await Promise.all(idx.map((j) => client.get(`k:${j}`)));
      expect({ from: i, wrong: idx.filter((j, n) => got[n] !== value(j)).length }).toEqual({ from: i, wrong: 0 });
    }
  }
  /** Healthy, exactly the stage's nodes, one master per host with one replica on another host, even slots, every key. */
  async function expectStage(n: number): Promise<void> {
    expect(await stageProblem(lab, stage(n), PASSWORD)).toBeNull();
    await allKeysThere();
  }
  const mem = async (a: string) => info(a, PASSWORD, "memory");
  /** The cluster step's reset guard run for real on host 1 against `candidate` (seed: host 1's master). */
  async function guard(candidate: string): Promise<string> {
    const script = `REDISCLI_AUTH=$(cat /etc/redis/opsfleet-auth); export REDISCLI_AUTH\n${HELPERS}\n${RESET_GUARD}
seed=${HOSTS[0].ip}:7000; why=""
if not_member ${candidate}; then if reset_node ${candidate} "test: foreign"; then echo RESET; else echo "DECLINED: $why"; fi; else echo "KEPT: $why"; fi`;
    const r = await lab.runStep(HOSTS[0], { name: "reset-guard", description: "reset guard", files: [], script });
    return r.stdout;
  }
  /** Makes a reset, lone node look like a member of another cluster holding data: one slot and a key in it. */
  async function makeForeign(addr: string): Promise<string> {
    expect(await redisCmd(addr, PASSWORD, "CONFIG", "SET", "cluster-require-full-coverage", "no")).toBe("OK");
    expect(await redisCmd(addr, PASSWORD, "CLUSTER", "ADDSLOTS", "12182")).toBe("OK"); // the slot of "foo"
    await waitFor("the foreign node to serve its slot", 10_000, async () => (await redisCmd(addr, PASSWORD, "SET", "foo", "stale")) === "OK");
    return String(await redisCmd(addr, PASSWORD, "CLUSTER", "MYID"));
  }
  /** One connection held open while maxclients is 1: every other client gets "max number of clients reached". */
  async function withMaxclientsReached<T>(addr: string, fn: () => Promise<T>): Promise<T> {
    const [host, port] = addr.split(":");
    const held = new Redis({ host, port: Number(port), password: PASSWORD, maxRetriesPerRequest: 0 });
    try {
      expect(await held.config("SET", "maxclients", "1")).toBe("OK");
      expect((await rawReplies(addr, [["PING"]]))[0]).toMatch(/^-ERR max number of clients/);
      return await fn();
    } finally {
      await held.config("SET", "maxclients", "10000");
      held.disconnect();
    }
  }

  beforeAll(async () => {
    lab = await startLab({ name: "rscaleb", hosts: HOSTS });
    await mountRedisTmpfs(lab, HOSTS, 256);
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await lab?.stop();
  }, 60_000);

  test("4 hosts hold the keys", async () => {
    await provisionRedisHosts(lab, PARAMS, stage(4));
    expect((await runClusterStep(lab, 90_000, stage(4))).action).toBe("created");
    client = new Cluster(stage(3).map((h) => ({ host: h.ip, port: 7000 })), { redisOptions: { password: PASSWORD, connectTimeout: 2000 }, slotsRefreshTimeout: 2000 });
    client.on("error", () => undefined);
    for (let i = 0; i < KEYS; i += 1000) await Promise.all(Array.from({ length: 1000 }, (_, j) => client.set(`k:${i + j}`, value(i + j))));
    await expectStage(4);
  }, 120_000);

  test("4 -> 3 refused when one staying master cannot hold an even share, though all of them together could", async () => {
    const addrs = allNodeAddrs(lab, stage(4));
    const nodes = await clusterNodes(addrs[0], PASSWORD);
    const before = slotShares(nodes);
    const masters = nodes.filter((x) => x.flags.includes("master"));
    const staying = masters.filter((m) => stage(3).some((h) => h.ip === m.ip));
    const total = (await Promise.all(masters.map(async (m) => Number((await mem(m.addr)).used_memory_dataset)))).reduce((a, b) => a + b, 0);
    const tight = staying[1];
    const t = await mem(tight.addr);
    const used = Number(t.used_memory), need = total / 3 + used - Number(t.used_memory_dataset);
    // what it holds now fits with headroom; its third of all the data does not
    const limit = Math.floor((used + need) / 2 / 0.9);
    expect(used * 10).toBeLessThan(limit * 9);
    expect(need * 10).toBeGreaterThan(limit * 9);
    expect(need - used).toBeGreaterThan(0.5 * MiB);
    await redisCmd(tight.addr, PASSWORD, "CONFIG", "SET", "maxmemory", String(limit));
    for (const m of staying.filter((x) => x !== tight)) await redisCmd(m.addr, PASSWORD, "CONFIG", "SET", "maxmemory", String(1024 * MiB));
    try {
      const r = await lab.runStep(HOSTS[0], renderRedisClusterStep({ hostIps: stage(3).map((h) => h.ip) }), { allowFailure: true, timeoutMs: 120_000 });
      log(`refusal: ${r.stderr.split("\n")[0]}`);
      expect(r.code).not.toBe(0);
      const esc = tight.addr.replace(/\./g, "\\.");
      expect(r.stderr).toMatch(new RegExp(`scale-in refused: not every staying master can hold an even share of the data with 10% headroom; ${esc} would hold [\\d.]+ MiB \\(a 1/3 share [\\d.]+ MiB of the [\\d.]+ MiB of data \\+ [\\d.]+ MiB overhead\\), above 90% of its maxmemory [\\d.]+ MiB\\. Raise maxmemoryMb or keep more hosts\\. No slot was moved`));
      for (const m of staying.filter((x) => x !== tight)) expect(r.stderr).not.toContain(`${m.addr} would hold`);
    } finally {
      for (const m of staying) await redisCmd(m.addr, PASSWORD, "CONFIG", "SET", "maxmemory", String(64 * MiB));
    }
    expect(slotShares(await clusterNodes(addrs[0], PASSWORD))).toEqual(before);
    await expectStage(4);
  }, 180_000);

  test("4 -> 3 after a failover at run time put a staying host's master on the leaving host: placement first, then the drain", async () => {
    const seed = `${HOSTS[0].ip}:7000`;
    let nodes = await clusterNodes(seed, PASSWORD);
    const stayIps = stage(3).map((h) => h.ip);
    const target = nodes.find((r) => r.flags.includes("slave") && r.ip === HOSTS[3].ip && stayIps.includes(nodes.find((m) => m.id === r.masterId)!.ip))!;
    expect(target).toBeDefined();
    const robbed = nodes.find((m) => m.id === target.masterId)!.ip;
    expect(await redisCmd(target.addr, PASSWORD, "CLUSTER", "FAILOVER")).toBe("OK");
    await waitFor("the failover", 60_000, async () => {
      nodes = await clusterNodes(seed, PASSWORD);
      return nodes.find((x) => x.id === target.id)!.flags.includes("master") && nodes.find((x) => x.id === target.masterId)!.flags.includes("slave")
        && (await clusterInfo(seed, PASSWORD)).cluster_state === "ok";
    });
    // the wedge: a staying host without a master, the leaving host with two
    expect(nodes.filter((x) => x.flags.includes("master") && x.ip === robbed)).toEqual([]);
    expect(nodes.filter((x) => x.flags.includes("master") && x.ip === HOSTS[3].ip).length).toBe(2);
    const t0 = Date.now();
    const { action, result } = await runClusterStep(lab, 240_000, stage(3));
    log(`4 -> 3 after the failover in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${action}`);
    expect(result.stdout).toContain(`placement before the scale-in: ${robbed}:7000 takes over from ${target.addr}`);
    expect(action).toBe("placement-fixed,scaled-in");
    expect(result.stdout).toContain(`removing ${HOSTS[3].ip}:7000`);
    expect(result.stdout).toContain(`removing ${HOSTS[3].ip}:7001`);
    await expectStage(3);
    for (const port of [7000, 7001]) {
      expect(await clusterInfo(`${HOSTS[3].ip}:${port}`, PASSWORD)).toMatchObject({ cluster_known_nodes: "1", cluster_slots_assigned: "0" });
    }
  }, 300_000);

  test("the reset guard on real Redis: a proven foreign node is flushed and reset; a member, or any unusable answer, leaves it alone", async () => {
    const foreign = `${HOSTS[3].ip}:7000`;
    // a member of the cluster is kept, without any destructive command
    const member = `${HOSTS[1].ip}:7000`;
    const memberKeys = await redisCmd(member, PASSWORD, "DBSIZE");
    expect(await guard(member)).toMatch(/KEPT: \n/);
    expect(await redisCmd(member, PASSWORD, "DBSIZE")).toBe(memberKeys);
    // maxclients reached on the candidate: its CLUSTER MYID is no answer, so nothing is proven
    const oldId = await makeForeign(foreign);
    let out = await withMaxclientsReached(foreign, () => guard(foreign));
    expect(out).toMatch(/: its CLUSTER MYID reply is not a node id/);
    expect(await redisCmd(foreign, PASSWORD, "GET", "foo")).toBe("stale");
    // maxclients reached on another member: its view is unknown, so nothing is proven
    out = await withMaxclientsReached(`${HOSTS[2].ip}:7001`, () => guard(foreign));
    expect(out).toMatch(new RegExp(`member ${HOSTS[2].ip.replace(/\./g, "\\.")}:7001 gave no usable CLUSTER NODES`));
    expect(await redisCmd(foreign, PASSWORD, "GET", "foo")).toBe("stale");
    expect(String(await redisCmd(foreign, PASSWORD, "CLUSTER", "MYID"))).toBe(oldId);
    // every answer usable: no member knows it, the others serve all 16384 slots -> flushed and reset
    out = await guard(foreign);
    expect(out).toContain(`${foreign}: test: foreign; discarding its 1 keys (a superseded copy)`);
    expect(out).toContain("RESET");
    expect(await redisCmd(foreign, PASSWORD, "DBSIZE")).toBe(0);
    expect(await clusterInfo(foreign, PASSWORD)).toMatchObject({ cluster_known_nodes: "1", cluster_slots_assigned: "0" });
    expect(String(await redisCmd(foreign, PASSWORD, "CLUSTER", "MYID"))).not.toBe(oldId);
    await expectStage(3);
  }, 120_000);

  test("a host removed from the cluster while down comes back with its old data and cluster config: reset, then it rejoins", async () => {
    const h = HOSTS[2];
    const addrs = allNodeAddrs(lab, stage(3));
    const others = addrs.filter((a) => !a.startsWith(`${h.ip}:`));
    const oldIds = (await clusterNodes(addrs[0], PASSWORD)).filter((x) => x.ip === h.ip).map((x) => x.id);
    await stopRedisNodes(lab, h);
    await waitFor("its master's replica to take over", 60_000, async () => {
      const live = (await clusterNodes(others[0], PASSWORD)).filter((x) => x.flags.includes("master") && !x.flags.some((f) => f.startsWith("fail")));
      return live.length === 3 && live.every((x) => x.ip !== h.ip) && (await clusterInfo(others[0], PASSWORD)).cluster_state === "ok";
    });
    // the cluster forgets the vanished host (as the step does for failed nodes), then the host comes back as it was
    for (const a of others) for (const id of oldIds) expect(await redisCmd(a, PASSWORD, "CLUSTER", "FORGET", id)).toBe("OK");
    const up = await lab.runStep(h.name, renderRedisNodesStep({ privateIp: h.ip, ...PARAMS }));
    expect(up.stdout).toMatch(/:7000 started[\s\S]*:7001 started/);
    const { action, result } = await runClusterStep(lab, 180_000, stage(3));
    expect(result.stdout).toContain(`${h.ip}:7000: not a member of this cluster (stale cluster config)`);
    expect(action).toBe("joined");
    await expectStage(3);
    const ids = (await clusterNodes(addrs[0], PASSWORD)).map((x) => x.id);
    for (const old of oldIds) expect(ids).not.toContain(old);
  }, 240_000);

  /** Fails over `replica`'s master to it and waits until the cluster agrees. */
  async function failOverTo(replica: { id: string; addr: string; masterId: string }): Promise<void> {
    const seed = `${HOSTS[0].ip}:7000`;
    expect(await redisCmd(replica.addr, PASSWORD, "CLUSTER", "FAILOVER")).toBe("OK");
    await waitFor("the failover", 60_000, async () => {
      const nodes = await clusterNodes(seed, PASSWORD);
      return nodes.find((x) => x.id === replica.id)!.flags.includes("master") && nodes.find((x) => x.id === replica.masterId)!.flags.includes("slave")
        && (await clusterInfo(seed, PASSWORD)).cluster_state === "ok";
    });
  }
  const mastersPerHost = async () => {
    const nodes = await clusterNodes(`${HOSTS[0].ip}:7000`, PASSWORD);
    return HOSTS.map((h) => nodes.filter((x) => x.ip === h.ip && x.flags.includes("master") && !x.flags.some((f) => f.startsWith("fail"))).length);
  };

  test("3 -> 4 after a failover at run time (a host with two masters, one with none): the new host's gate passes, the step scales out and fixes placement", async () => {
    const nodes = await clusterNodes(`${HOSTS[0].ip}:7000`, PASSWORD);
    const m2 = nodes.find((x) => x.ip === HOSTS[1].ip && x.flags.includes("master"))!;
    await failOverTo(nodes.find((x) => x.masterId === m2.id)!);
    expect((await mastersPerHost()).slice(0, 3).sort()).toEqual([0, 1, 2]);
    const t0 = Date.now();
    const gate = await lab.runStep(HOSTS[3], renderRedisHealthStep({ hostIp: HOSTS[3].ip, peerIps: stage(3).map((h) => h.ip) }), { timeoutMs: 60_000 });
    log(`new host's gate after the failover: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(gate.stdout).toMatch(/opsfleet-redis-cluster: new-host\s*$/);
    const { action, result } = await runClusterStep(lab, 240_000, stage(4));
    log(`3 -> 4 after the failover in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${action}`);
    expect(action).toBe("scaled-out");
    expect(result.stdout).toMatch(new RegExp(`placement: ${HOSTS[1].ip.replace(/\./g, "\\.")}:700[01] takes over as master`));
    await expectStage(4);
  }, 300_000);

  test("4 -> 3 while the leaving host is dead (its slots on a staying host's second master): the surplus master is emptied and replicates, no key lost", async () => {
    const addrs = allNodeAddrs(lab, stage(3));
    await stopRedisNodes(lab, HOSTS[3]);
    await waitFor("the dead host's master to be replaced", 60_000, async () => {
      const nodes = await clusterNodes(addrs[0], PASSWORD);
      return nodes.filter((x) => x.ip === HOSTS[3].ip).every((x) => x.flags.includes("fail"))
        && (await clusterInfo(addrs[0], PASSWORD)).cluster_state === "ok";
    });
    expect((await mastersPerHost()).slice(0, 3).sort()).toEqual([1, 1, 2]);
    const t0 = Date.now();
    const { action, result } = await runClusterStep(lab, 240_000, stage(3));
    log(`4 -> 3 with the leaving host dead in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${action}`);
    expect(result.stdout).toMatch(/surplus master, now empty\) replicates/);
    expect(action.split(",")).toEqual(expect.arrayContaining(["rebalanced", "placement-fixed"]));
    await expectStage(3);
    // a re-run has nothing to do
    expect((await runClusterStep(lab, 120_000, stage(3))).action).toBe("unchanged");
  }, 300_000);
  test("a node removal that fails says what failed (no reason left over from an earlier check); a re-run finishes the removal", async () => {
    const h = HOSTS[3];
    const seed = `${HOSTS[0].ip}:7000`;
    const [n0, n1] = allNodeAddrs(lab, [h]);
    // the dead host comes back empty and is half added (a master with one slot, a replica), as a scale-out stopped midway leaves it
    expect((await lab.ssh(h.name, "rm -rf /var/lib/redis/7000 /var/lib/redis/7001")).code).toBe(0);
    await lab.runStep(h.name, renderRedisNodesStep({ privateIp: h.ip, ...PARAMS }));
    const cli = async (args: string) => {
      const r = await lab.ssh(HOSTS[0].name, `REDISCLI_AUTH=$(cat /etc/redis/opsfleet-auth) redis-cli --no-auth-warning ${args}`);
      return r.code === 0 ? r.stdout : null;
    };
    expect(await cli(`--cluster add-node ${n0} ${seed}`)).not.toBeNull();
    const m1 = (await clusterNodes(seed, PASSWORD)).find((x) => x.ip === HOSTS[0].ip && x.flags.includes("master"))!;
    await waitFor(`${n0} known everywhere`, 30_000, async () => (await cli(`--cluster check ${seed}`)) !== null);
    expect(await cli(`--cluster add-node ${n1} ${seed} --cluster-slave --cluster-master-id ${m1.id}`)).not.toBeNull();
    const id0 = String(await redisCmd(n0, PASSWORD, "CLUSTER", "MYID"));
    await waitFor(`one slot moved to ${n0}`, 60_000, async () => (await cli(`--cluster reshard ${seed} --cluster-from ${m1.id} --cluster-to ${id0} --cluster-slots 1 --cluster-yes`)) !== null);
    // CLUSTER RESET is the last command of redis-cli --cluster del-node: refused, del-node exits 1
    for (const a of [n0, n1]) expect(await redisCmd(a, PASSWORD, "ACL", "SETUSER", "default", "-cluster|reset")).toBe("OK");
    try {
      const r = await lab.runStep(HOSTS[0], renderRedisClusterStep({ hostIps: stage(3).map((x) => x.ip) }), { allowFailure: true, timeoutMs: 180_000 });
      expect(r.code).not.toBe(0);
      expect(r.stdout).toContain(`removing ${h.ip}:`);
      const line = r.stderr.split("\n").find((l) => l.includes("--cluster del-node"));
      log(`failed removal: ${line}`);
      expect(line).toMatch(/^redis-cli --cluster del-node [0-9a-f]{40} failed$/);
    } finally {
      for (const a of [n0, n1]) await redisCmd(a, PASSWORD, "ACL", "SETUSER", "default", "+@all");
    }
    const { action } = await runClusterStep(lab, 120_000, stage(3));
    log(`re-run after the failed removal: ${action}`);
    expect(action).toBe("scaled-in");
    await expectStage(3);
  }, 300_000);

}, { requires: ["redis-server", "redis-cli"] });
