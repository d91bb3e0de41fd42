/**
 * Redis Cluster provisioning, for real: the rendered steps the RedisCluster component runs on EC2
 * are piped over ssh to three local test hosts; the cluster is then used and broken from outside.
 */
import { Cluster, Redis } from "ioredis";
import { describeOnHosts } from "./guard";
import { startLab, type Lab } from "./lab";
import { renderRedisNodesStep } from "../../provision/redis/steps";
import {
  allNodeAddrs, clusterInfo, clusterNodes, clusterProblem, info, provisionRedisHosts, rawReplies, redisCmd, redisPid, runClusterStep, waitFor,
} from "./redis-lab";

// quotes, backslash, space and $ prove the secret survives config quoting and stdin transport
const PASSWORD = `t3st "pa$$" \\ 'word' ${Date.now()}`;
const HOSTS = [1, 2, 3].map((i) => ({ name: `redis${i}`, ip: `10.78.1.1${i}` }));

describeOnHosts("Redis Cluster on three test hosts", () => {
  let lab: Lab;
  let addrs: string[];
  const clients: (Cluster | Redis)[] = [];
  const cluster = () => {
    const c = new Cluster([{ host: HOSTS[0].ip, port: 7000 }, { host: HOSTS[1].ip, port: 7000 }], {
      redisOptions: { password: PASSWORD, connectTimeout: 2000 },
      slotsRefreshTimeout: 2000,
    });
    c.on("error", () => undefined);
    clients.push(c);
    return c;
  };
  const pids = async () =>
    Object.fromEntries(await Promise.all(HOSTS.flatMap((h) => [7000, 7001].map(async (p) => [`${h.name}:${p}`, await redisPid(lab, h.name, p)]))));

  beforeAll(async () => {
    lab = await startLab({ name: "redis", hosts: HOSTS });
    addrs = allNodeAddrs(lab);
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await lab?.stop();
  }, 60_000);

  test("the rendered steps form a cluster: 16384 slots, one master per host, each replica on another host, replicas synced", async () => {
    const hostOut = await provisionRedisHosts(lab, { password: PASSWORD, maxmemoryMb: 64 });
    for (const h of HOSTS) {
      expect(hostOut[h.name][1].stdout).toContain("vm.overcommit_memory left alone"); // never from a test host
      expect(hostOut[h.name][2].stdout).toMatch(new RegExp(`${h.ip}:7000 started[\\s\\S]*${h.ip}:7001 started`));
    }
    const { action } = await runClusterStep(lab);
    expect(action).toBe("created");

    expect(await clusterProblem(addrs, PASSWORD)).toBeNull();
    const ci = await clusterInfo(addrs[0], PASSWORD);
    expect(ci).toMatchObject({ cluster_state: "ok", cluster_slots_assigned: "16384", cluster_size: "3", cluster_known_nodes: "6" });
    const nodes = await clusterNodes(addrs[0], PASSWORD);
    const masters = nodes.filter((n) => n.flags.includes("master"));
    expect(masters.map((m) => m.addr).sort()).toEqual(HOSTS.map((h) => `${h.ip}:7000`));
    for (const r of nodes.filter((n) => n.flags.includes("slave"))) {
      const m = nodes.find((n) => n.id === r.masterId)!;
      expect(r.ip).not.toBe(m.ip);
      expect((await info(r.addr, PASSWORD, "replication")).master_link_status).toBe("up");
    }
    const cfg = (await redisCmd(addrs[0], PASSWORD, "CONFIG", "GET", "*")) as string[];
    const conf = Object.fromEntries(cfg.flatMap((v, i) => (i % 2 ? [] : [[v, cfg[i + 1]]])));
    expect(conf).toMatchObject({ appendonly: "yes", "protected-mode": "yes", "cluster-node-timeout": "5000", maxmemory: String(64 * 1024 * 1024), "maxmemory-policy": "noeviction" });
  }, 90_000);

  test("a cluster client outside the hosts writes and reads keys spread over all masters", async () => {
    const c = cluster();
    const keys = Array.from({ length: 300 }, (_, i) => `user:${i}`);
    await Promise.all(keys.map((k) => c.set(k, `v-${k}`)));
    expect(await Promise.all(keys.map((k) => c.get(k)))).toEqual(keys.map((k) => `v-${k}`));
    const sizes = await Promise.all(HOSTS.map((h) => redisCmd(`${h.ip}:7000`, PASSWORD, "DBSIZE")));
    for (const s of sizes) expect(Number(s)).toBeGreaterThan(50);
  });

  test("clients without the password are refused", async () => {
    for (const a of addrs) {
      expect(await rawReplies(a, [["GET", "user:1"], ["AUTH", "wrong-password"], ["PING"]])).toEqual([
        "-NOAUTH Authentication required.",
        expect.stringMatching(/^-WRONGPASS/),
        "-NOAUTH Authentication required.",
      ]);
    }
    expect(await rawReplies(addrs[0], [["AUTH", PASSWORD], ["PING"]])).toEqual(["+OK", "+PONG"]);
  });

  test("re-running all steps changes nothing: no restart, cluster step reports unchanged", async () => {
    const before = await pids();
    const runIds = await Promise.all(addrs.map(async (a) => (await info(a, PASSWORD, "server")).run_id));
    const out = await provisionRedisHosts(lab, { password: PASSWORD, maxmemoryMb: 64 });
    for (const h of HOSTS) expect(out[h.name][2].stdout).toMatch(/:7000 unchanged[\s\S]*:7001 unchanged/);
    expect((await runClusterStep(lab)).action).toBe("unchanged");
    expect(await pids()).toEqual(before);
    expect(await Promise.all(addrs.map(async (a) => (await info(a, PASSWORD, "server")).run_id))).toEqual(runIds);
  }, 60_000);

  test("a config change restarts instances one at a time (masters handed over first) while clients keep writing", async () => {
    const before = await pids();
    const c = cluster();
    let writes = 0;
    const errors: string[] = [];
    let stop = false;
    const writer = (async () => {
      const end = Date.now() + 80_000;
      while (!stop && Date.now() < end) {
        try {
          await c.set(`rolling:${writes % 500}`, String(writes));
          writes++;
        } catch (e) {
          errors.push((e as Error).message);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();
    try {
      // host by host, as the component chains the hosts' redis-nodes steps
      for (const h of HOSTS) {
        const out = await provisionRedisHosts(lab, { password: PASSWORD, maxmemoryMb: 96 }, [h]);
        expect(out[h.name][2].stdout).toMatch(/:7000 config changed: restarting[\s\S]*:7000 restarted[\s\S]*:7001 restarted/);
      }
    } finally {
      stop = true;
      await writer;
    }
    const after = await pids();
    for (const k of Object.keys(before)) expect(after[k]).not.toBe(before[k]);
    for (const a of addrs) expect(await redisCmd(a, PASSWORD, "CONFIG", "GET", "maxmemory")).toEqual(["maxmemory", String(96 * 1024 * 1024)]);
    expect(await clusterProblem(addrs, PASSWORD)).toBeNull();
    expect(writes).toBeGreaterThan(100);
    expect(errors).toEqual([]);
  }, 90_000);

  test("kill -9 of a master: its replica is promoted and every write acknowledged by WAIT 1 survives; the node rejoins as a replica", async () => {
    const c = cluster();
    const keys = Array.from({ length: 300 }, (_, i) => `acked:${i}`);
    await Promise.all(keys.map((k) => c.set(k, `v-${k}`)));
    // WAIT covers the writes made on the same connection: ask every master connection of the client
    for (const m of c.nodes("master")) expect(Number(await m.call("WAIT", "1", "5000"))).toBeGreaterThanOrEqual(1);

    const victim = `${HOSTS[1].ip}:7000`;
    const nodes = await clusterNodes(addrs[0], PASSWORD);
    const victimId = nodes.find((n) => n.addr === victim)!.id;
    const replica = nodes.find((n) => n.masterId === victimId)!.addr;
    const pid = await redisPid(lab, "redis2", 7000);
    const t0 = Date.now();
    const mark = (what: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    expect((await lab.exec("redis2", ["kill", "-9", String(pid)])).code).toBe(0);

    await waitFor("replica promotion", 30_000, async () => (await info(replica, PASSWORD, "replication")).role === "master");
    const promotedS = (Date.now() - t0) / 1000;
    await waitFor("cluster_state:ok", 30_000, async () => (await clusterInfo(addrs[0], PASSWORD)).cluster_state === "ok");
    // node timeout 5 s + election; the lab measured 7.9-9.6 s, the spec's bad case is ~30 s
    expect(promotedS).toBeLessThan(30);
    console.log(`failover: replica ${replica} promoted ${promotedS.toFixed(1)} s after kill -9 of ${victim}`);

    mark("cluster ok");
    const fresh = cluster();
    expect(await Promise.all(keys.map((k) => fresh.get(k)))).toEqual(keys.map((k) => `v-${k}`));

    // the same provisioning brings it back; it must come back as a synced replica of the promoted node
    const out = await lab.runStep("redis2", renderRedisNodesStep({ privateIp: HOSTS[1].ip, password: PASSWORD, maxmemoryMb: 96 }));
    mark("restarted");
    expect(out.stdout).toContain(`${victim} started`);
    expect(out.stdout).toContain(`${HOSTS[1].ip}:7001 unchanged`);
    const repl = await waitFor("the killed node to be a synced replica", 30_000, async () => {
      const r = await info(victim, PASSWORD, "replication");
      return r.role === "slave" && r.master_link_status === "up" ? r : null;
    });
    expect(`${repl.master_host}:${repl.master_port}`).toBe(replica);

    mark("rejoined");
    // one host now runs two masters: the cluster step restores one master per host
    expect((await runClusterStep(lab)).action).toBe("placement-fixed");
    expect(await clusterProblem(addrs, PASSWORD)).toBeNull();
    expect((await info(victim, PASSWORD, "replication")).role).toBe("master");
    expect(await Promise.all(keys.map((k) => fresh.get(k)))).toEqual(keys.map((k) => `v-${k}`));
  }, 90_000);

  test("a host whose data is lost (new data volume) rejoins: its empty nodes are added as replicas and placement is restored", async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `durable:${i}`);
    const c = cluster();
    await Promise.all(keys.map((k) => c.set(k, `v-${k}`)));
    for (const m of c.nodes("master")) expect(Number(await m.call("WAIT", "1", "5000"))).toBeGreaterThanOrEqual(1);
    const host3 = HOSTS[2];
    const oldIds = (await clusterNodes(addrs[0], PASSWORD)).filter((n) => n.ip === host3.ip).map((n) => n.id);
    // stop both instances (by pidfile) and wait until the surviving replica took over host 3's slots
    for (const port of [7000, 7001]) {
      expect((await lab.ssh(host3.name, `start-stop-daemon --stop --quiet --retry TERM/30/KILL/5 --pidfile /run/redis-${port}/redis-server.pid --exec /usr/bin/redis-server`)).code).toBe(0);
    }
    await waitFor("host 3's master to fail over", 30_000, async () => {
      const live = (await clusterNodes(addrs[0], PASSWORD)).filter((n) => n.flags.includes("master") && !n.flags.some((f) => f.startsWith("fail")));
      return live.length === 3 && live.every((n) => n.ip !== host3.ip) && (await clusterInfo(addrs[0], PASSWORD)).cluster_state === "ok";
    });
    expect((await lab.ssh(host3.name, "rm -rf /var/lib/redis/7000 /var/lib/redis/7001")).code).toBe(0);

    const out = await lab.runStep(host3.name, renderRedisNodesStep({ privateIp: host3.ip, password: PASSWORD, maxmemoryMb: 96 }));
    expect(out.stdout).toMatch(/:7000 started[\s\S]*:7001 started/);
    const { action, result } = await runClusterStep(lab);
    expect(action).toBe("joined");
    expect(result.stdout).toMatch(new RegExp(`adding ${host3.ip}:7000 as a replica[\\s\\S]*adding ${host3.ip}:7001 as a replica`));
    expect(await clusterProblem(addrs, PASSWORD)).toBeNull();
    const ids = (await clusterNodes(addrs[0], PASSWORD)).map((n) => n.id);
    for (const old of oldIds) expect(ids).not.toContain(old);
    const fresh = cluster();
    expect(await Promise.all(keys.map((k) => fresh.get(k)))).toEqual(keys.map((k) => `v-${k}`));
  }, 90_000);
}, { requires: ["redis-server", "redis-cli"] });
