/**
 * Scaling a Redis Cluster by its host count, for real: the cluster step the RedisCluster component
 * renders for the stack's host list is run for each stage (3 -> 4 -> 6 -> 3 hosts) on six local
 * test hosts, while an ioredis Cluster client writes and reads throughout. A host that leaves is
 * "deleted" (its Redis stopped, its data removed) only after the step has drained it, as Pulumi
 * deletes removed hosts only after the step's update.
 * The hosts' /var/lib/redis is a tmpfs here: every slot move rewrites and fsyncs nodes.conf on
 * every node, which on this shared disk would make the test's time the disk's; `npm run bench --
 * redis-scale` measures the moves on disk.
 * The scale-in edge cases (memory per master, a failover at run time, the reset guard, a stale host
 * coming back) are in redis-scale-in.test.ts, on their own lab: jest runs the two files in parallel.
 */
import { Cluster } from "ioredis";
import { describeOnHosts } from "./guard";
import { startLab, type Lab, type LabHost } from "./lab";
import {
  allNodeAddrs, clusterInfo, clusterNodes, mountRedisTmpfs, provisionRedisHosts, redisCmd, runClusterStep, slotShares, stageProblem, stopRedisNodes,
} from "./redis-lab";

const PASSWORD = `scale ${Date.now()} "pa55word"`;
const HOSTS: LabHost[] = [1, 2, 3, 4, 5, 6].map((i) => ({ name: `rs${i}`, ip: `10.78.5.1${i}` }));
const PARAMS = { password: PASSWORD, maxmemoryMb: 64 };
const KEYS = 10_000;
const value = (i: number) => `v${i}-${"x".repeat(1000)}`; // ~10 MB in all
const stage = (n: number) => HOSTS.slice(0, n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeOnHosts("Redis Cluster scaled by host count (3 -> 4 -> 6 -> 3) with a client working throughout", () => {
  let lab: Lab;
  let client: Cluster;
  const written = new Map<string, string>();
  const errors: string[] = [];
  let ops = 0;
  let stop = false;
  let worker: Promise<void> = Promise.resolve();

  const log = (what: string) => console.log(`[rscale] ${what}`);
  /** Writes its own keys and reads the loaded ones, one command at a time, until stopped. */
  async function work(): Promise<void> {
    for (let i = 0; !stop; i++) {
      const k = `w:${i % 2000}`;
      try {
        await client.set(k, String(i));
        written.set(k, String(i));
        const j = (i * 7919) % KEYS;
        const got = await client.get(`k:${j}`);
        if (got !== value(j)) errors.push(`read k:${j}: got ${String(got).slice(0, 20)}`);
        ops += 2;
      } catch (e) {
        errors.push(`${new Date().toISOString()} ${(e as Error).message}`);
        await sleep(50);
      }
      await sleep(3);
    }
  }

  async function allKeysThere(): Promise<void> {
    for (let i = 0; i < KEYS; i += 1000) {
      const idx = Array.from({ length: 1000 }, (_, j) => i + j);
      const got = await Promise.all(idx.map((j) => client.get(`k:${j}`)));
      const wrong = idx.filter((j, n) => got[n] !== value(j));
      expect({ from: i, wrong: wrong.slice(0, 5), count: wrong.length }).toEqual({ from: i, wrong: [], count: 0 });
    }
  }

  /** Healthy, exactly the stage's nodes, one master + one replica per host, replicas elsewhere, even slots, every key. */
  async function expectStage(n: number): Promise<void> {
    expect(await stageProblem(lab, stage(n), PASSWORD)).toBeNull();
    const shares = Object.values(slotShares(await clusterNodes(`${HOSTS[0].ip}:7000`, PASSWORD)));
    await allKeysThere();
    log(`${n} hosts: healthy, slot shares ${Math.min(...shares)}-${Math.max(...shares)}, ${ops} client commands so far, ${errors.length} failed`);
  }

  /** What Pulumi does after the step's update: delete the removed host's instance and data volume. */
  async function deleteHost(h: LabHost): Promise<void> {
    await stopRedisNodes(lab, h);
    expect((await lab.ssh(h.name, "rm -rf /var/lib/redis/7000 /var/lib/redis/7001")).code).toBe(0);
  }

  /** A leaving host's nodes after the drain: known by no staying node, alone, empty. */
  async function expectDrained(gone: LabHost[], staying: LabHost[]): Promise<void> {
    const goneAddrs = allNodeAddrs(lab, gone);
    for (const a of allNodeAddrs(lab, staying)) {
      const seen = (await clusterNodes(a, PASSWORD)).map((x) => x.addr);
      expect(seen.filter((x) => goneAddrs.includes(x))).toEqual([]);
    }
    for (const a of goneAddrs) {
      expect(await clusterInfo(a, PASSWORD)).toMatchObject({ cluster_known_nodes: "1", cluster_slots_assigned: "0" });
      expect(Number(await redisCmd(a, PASSWORD, "DBSIZE"))).toBe(0);
    }
  }

  beforeAll(async () => {
    lab = await startLab({ name: "rscale", hosts: HOSTS });
    await mountRedisTmpfs(lab, HOSTS, 512);
  }, 60_000);

  afterAll(async () => {
    stop = true;
    await worker;
    client?.disconnect();
    await lab?.stop();
  }, 60_000);

  test("3 hosts: the cluster forms and holds 10,000 keys; a client starts working", async () => {
    await provisionRedisHosts(lab, PARAMS, stage(3));
    expect((await runClusterStep(lab, 90_000, stage(3))).action).toBe("created");
    // the app's seed list: the first hosts' masters (the stack's seedList output at creation)
    client = new Cluster(stage(3).map((h) => ({ host: h.ip, port: 7000 })), {
      redisOptions: { password: PASSWORD, connectTimeout: 2000 },
      slotsRefreshTimeout: 2000,
    });
    client.on("error", () => undefined);
    for (let i = 0; i < KEYS; i += 1000) {
      await Promise.all(Array.from({ length: 1000 }, (_, j) => client.set(`k:${i + j}`, value(i + j))));
    }
    worker = work();
    await expectStage(3);
  }, 120_000);

  test("3 -> 4: the new host gets a master and a replica, the slots are spread evenly, no key lost", async () => {
    const t0 = Date.now();
    await provisionRedisHosts(lab, PARAMS, [HOSTS[3]]);
    const { action, result } = await runClusterStep(lab, 240_000, stage(4));
    log(`3 -> 4 in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${action}\n${result.stdout.split("\n").filter((l) => /waiting for|\(.*: \d+ s\)|slots spread|placement/.test(l)).join("\n")}`);
    expect(action).toBe("scaled-out");
    expect(result.stdout).toContain(`adding ${HOSTS[3].ip}:7000 as a new master`);
    expect(result.stdout).toMatch(/Moving \d+ slots from .* to 10\.78\.5\.14:7000/);
    await expectStage(4);
  }, 300_000);

  test("4 -> 6, interrupted in the middle of a slot move: the next run repairs the open slot first, then finishes", async () => {
    await provisionRedisHosts(lab, PARAMS, HOSTS.slice(4, 6));
    let ended: Error | null | undefined; // undefined while the first run is going
    const first = runClusterStep(lab, 300_000, stage(6)).then(() => { ended = null; }, (e: Error) => { ended = e; });
    // interrupt: kill redis-cli's rebalance on the step's host while it moves slots (by its pid, found in that host only)
    let killed = false;
    for (const end = Date.now() + 300_000; !killed && ended === undefined && Date.now() < end;) {
      const r = await lab.exec(HOSTS[0].name, ["pgrep", "-f", "cluster rebalance"]);
      if (r.code === 0) killed = (await lab.exec(HOSTS[0].name, ["kill", "-9", ...r.stdout.trim().split(/\s+/)])).code === 0;
      else await sleep(50);
    }
    await first;
    expect({ killed, ended: killed ? "" : String(ended?.message ?? "the first run succeeded") }).toEqual({ killed: true, ended: "" });
    expect(ended?.message).toMatch(/redis-cli --cluster rebalance failed/);
    // make the interruption certain: leave a slot half-moved, keys partly migrated, as a kill between MIGRATEs does
    const nodes = await clusterNodes(`${HOSTS[0].ip}:7000`, PASSWORD);
    const src = nodes.find((x) => x.ip === HOSTS[0].ip && x.flags.includes("master"))!;
    const dst = nodes.find((x) => x.addr === `${HOSTS[5].ip}:7000`)!;
    // the last slot of the source (rebalance moves a node's slots from the lowest up)
    const slot = Number(src.slots.filter((r) => !r.startsWith("[")).at(-1)!.split("-").at(-1));
    const keysInSlot = (await redisCmd(src.addr, PASSWORD, "CLUSTER", "GETKEYSINSLOT", slot, 100)) as string[];
    expect(await redisCmd(dst.addr, PASSWORD, "CLUSTER", "SETSLOT", slot, "IMPORTING", src.id)).toBe("OK");
    expect(await redisCmd(src.addr, PASSWORD, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst.id)).toBe("OK");
    if (keysInSlot.length > 0) {
      await redisCmd(src.addr, PASSWORD, "MIGRATE", HOSTS[5].ip, 7000, "", 0, 5000, "AUTH", PASSWORD, "KEYS", keysInSlot[0]);
    }
    const { action, result } = await runClusterStep(lab, 240_000, stage(6));
    expect(result.stdout).toContain("repairing an interrupted slot migration");
    expect(action).toBe("repaired,rebalanced");
    await expectStage(6);
  }, 400_000);

  test("6 -> 3: the leaving hosts' slots move evenly to the staying masters, their nodes are forgotten, then the hosts are deleted", async () => {
    const before = await clusterNodes(`${HOSTS[0].ip}:7000`, PASSWORD);
    const stayingMasters = before.filter((x) => x.flags.includes("master") && stage(3).some((h) => h.ip === x.ip)).map((x) => x.addr);
    const t0 = Date.now();
    const { action, result } = await runClusterStep(lab, 300_000, stage(3));
    log(`6 -> 3 in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${action}\n${result.stdout.split("\n").filter((l) => /waiting for|\(.*: \d+ s\)|slots spread|removing|placement/.test(l)).join("\n")}`);
    expect(action).toBe("scaled-in");
    // the slots of the leaving masters go to all three staying masters, not to one
    const receivers = new Set([...result.stdout.matchAll(/Moving \d+ slots from \S+ to (\S+)/g)].map((m) => m[1]));
    expect([...receivers].sort()).toEqual(stayingMasters.sort());
    for (const h of HOSTS.slice(3)) expect(result.stdout).toContain(`removing ${h.ip}:7000`);
    await expectDrained(HOSTS.slice(3), stage(3));
    for (const h of HOSTS.slice(3)) await deleteHost(h);
    await sleep(2000); // the client meets the deleted nodes' closed ports
    await expectStage(3);
    expect((await runClusterStep(lab, 60_000, stage(3))).action).toBe("unchanged");
  }, 400_000);

  test("the client worked throughout: 0 failed commands, every acknowledged write readable", async () => {
    stop = true;
    await worker;
    log(`client: ${ops} commands, ${errors.length} failed`);
    expect(errors).toEqual([]);
    expect(ops).toBeGreaterThan(1000);
    const keys = [...written.keys()];
    const got = await Promise.all(keys.map((k) => client.get(k)));
    expect(keys.filter((k, i) => got[i] !== written.get(k))).toEqual([]);
    await allKeysThere();
  }, 60_000);
}, { requires: ["redis-server", "redis-cli"] });
