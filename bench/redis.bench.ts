/**
 * Redis Cluster figures on local test hosts (3 namespaces, 2 shared cores: compare ratios, not
 * EC2 numbers): bare hosts (packages installed) -> healthy cluster through the real rendered steps,
 * failover time after kill -9 of a master, and redis-benchmark throughput of the cluster vs. a
 * single instance on the same machine in the same run (bounded request counts).
 */
import { randomBytes } from "node:crypto";
import { checkHostTestEnvironment } from "../test/hosts/guard";
import { run as runProgram, startLab, type Lab } from "../test/hosts/lab";
import {
  allNodeAddrs, clusterInfo, clusterNodes, clusterProblem, info, provisionRedisHosts, redisCmd, redisPid, runClusterStep, waitFor,
} from "../test/hosts/redis-lab";

const REQUESTS = 20_000; // per redis-benchmark test
const CLIENTS = 20;
const HOSTS = [1, 2, 3].map((i) => ({ name: `redis${i}`, ip: `10.78.4.1${i}` }));

const seconds = (t0: number) => Math.round((Date.now() - t0) / 10) / 100;

/** `redis-benchmark -q` prints "SET: 26000.00 requests per second, p50=..." per test. */
async function benchmark(args: string[], password: string): Promise<Record<string, number>> {
  const r = await runProgram("redis-benchmark", [...args, "-a", password, "-n", String(REQUESTS), "-c", String(CLIENTS), "-t", "set,get", "-q"], undefined, { timeoutMs: 120_000 });
  const out = `${r.stdout}\n${r.stderr}`.replace(/\r/g, "\n");
  const rps: Record<string, number> = {};
  for (const m of out.matchAll(/^(SET|GET): ([\d.]+) requests per second/gm)) rps[m[1].toLowerCase()] = Number(m[2]);
  if (r.code !== 0 || rps.set === undefined || rps.get === undefined) throw new Error(`redis-benchmark ${args.join(" ")} failed (exit ${r.code}): ${out.slice(-500)}`);
  return rps;
}

export async function run(): Promise<Record<string, unknown>> {
  const env = checkHostTestEnvironment(["redis-server", "redis-cli", "redis-benchmark"]);
  if (!env.ok) throw new Error(`redis bench needs local test hosts: ${env.reason}`);
  const password = `bench-${randomBytes(12).toString("hex")}`;
  const t0 = Date.now();
  let lab: Lab | undefined;
  try {
    lab = await startLab({ name: "redisb", hosts: HOSTS });
    const labUpS = seconds(t0);
    const addrs = allNodeAddrs(lab);

    // 1. bare hosts -> healthy cluster, through the same steps the RedisCluster component runs
    const t1 = Date.now();
    await provisionRedisHosts(lab, { password, maxmemoryMb: 256 });
    const provisionS = seconds(t1);
    const t2 = Date.now();
    const { action } = await runClusterStep(lab);
    const clusterStepS = seconds(t2);
    const problem = await clusterProblem(addrs, password);
    if (action !== "created" || problem) throw new Error(`cluster not healthy after the cluster step (${action}): ${problem}`);
    const bareToHealthyS = seconds(t1);

    // 2. throughput: the cluster (3 masters, each write replicated) vs one standalone instance
    const cluster = await benchmark(["--cluster", "-h", HOSTS[0].ip, "-p", "7000"], password);
    const single = await lab.ssh(HOSTS[0].name, [
      "install -d -o redis -g redis -m 0750 /var/lib/redis/7100 /run/redis-7100",
      `start-stop-daemon --start --quiet --chuid redis:redis --pidfile /run/redis-7100/redis-server.pid --exec /usr/bin/redis-server -- --port 7100 --bind ${HOSTS[0].ip} --requirepass "$(cat /etc/redis/opsfleet-auth)" --daemonize yes --pidfile /run/redis-7100/redis-server.pid --dir /var/lib/redis/7100 --appendonly yes --appendfsync everysec --logfile /var/log/redis/redis-server-7100.log`,
    ].join(" && "));
    if (single.code !== 0) throw new Error(`standalone redis did not start: ${single.stderr}`);
    await waitFor("standalone redis", 10_000, async () => (await redisCmd(`${HOSTS[0].ip}:7100`, password, "PING")) === "PONG");
    const standalone = await benchmark(["-h", HOSTS[0].ip, "-p", "7100"], password);
    await lab.ssh(HOSTS[0].name, "start-stop-daemon --stop --quiet --retry TERM/10/KILL/5 --pidfile /run/redis-7100/redis-server.pid --exec /usr/bin/redis-server");

    // 3. failover: kill -9 the master on host 2 -> replica promoted -> cluster_state:ok -> its slots served again
    const nodes = await clusterNodes(addrs[0], password);
    const victim = nodes.find((n) => n.addr === `${HOSTS[1].ip}:7000`)!;
    const replica = nodes.find((n) => n.masterId === victim.id)!.addr;
    const slotKey = keyServedBy(victim.slots);
    const pid = await redisPid(lab, HOSTS[1].name, 7000);
    const tk = Date.now();
    await lab.exec(HOSTS[1].name, ["kill", "-9", String(pid)]);
    await waitFor("replica promotion", 60_000, async () => (await info(replica, password, "replication")).role === "master");
    const promotedS = seconds(tk);
    await waitFor("cluster_state:ok", 60_000, async () => (await clusterInfo(addrs[0], password)).cluster_state === "ok");
    const stateOkS = seconds(tk);
    // the victim's slots are served again when its new master accepts a write to a key in them
    await waitFor("the slot to take writes", 60_000, async () => (await redisCmd(replica, password, "SET", slotKey, "after-failover")) === "OK");
    const slotServedS = seconds(tk);

    return {
      hosts: HOSTS.length,
      instances: addrs.length,
      labUpS,
      provisionS,
      clusterStepS,
      bareHostsToHealthyClusterS: bareToHealthyS,
      failover: { nodeTimeoutMs: 5000, replicaPromotedS: promotedS, clusterStateOkS: stateOkS, slotServedS },
      throughput: {
        requestsPerTest: REQUESTS,
        clients: CLIENTS,
        clusterRps: cluster,
        singleInstanceRps: standalone,
        clusterToSingle: { set: round2(cluster.set / standalone.set), get: round2(cluster.get / standalone.get) },
      },
    };
  } finally {
    await lab?.stop();
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Redis Cluster's key slot: CRC16-XMODEM of the key, mod 16384 (no hash tags used here). */
export function keySlot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** A key whose slot lies in one of `ranges` ("0-5460", "7"). */
function keyServedBy(ranges: string[]): string {
  const inRange = (slot: number) => ranges.some((r) => {
    const [a, b = a] = r.split("-").map(Number);
    return slot >= a && slot <= b;
  });
  for (let i = 0; i < 100_000; i++) if (inRange(keySlot(`probe:${i}`))) return `probe:${i}`;
  throw new Error(`no key in slots ${ranges.join(" ")}`);
}
