/**
 * Redis helpers for host tests and the benchmark: provision a Redis Cluster on lab hosts with the
 * real rendered steps, and inspect it from outside the hosts (the runner sits on the lab bridge).
 */
import * as net from "node:net";
import { Redis } from "ioredis";
import type { Lab, LabHost, RunResult } from "./lab";
import { REDIS_PORTS } from "../../provision/redis/conf";
import { redisClusterNodeOrder, renderRedisClusterStep, renderRedisHostSteps, type RedisHostParams } from "../../provision/redis/steps";

export interface ClusterNode {
  id: string;
  /** ip:port */
  addr: string;
  ip: string;
  port: number;
  flags: string[];
  /** Master's id for a replica, "-" for a master. */
  masterId: string;
  slots: string[];
}

/** One command on a fresh connection to `ip:port` (no retries), then disconnect. */
export async function redisCmd(addr: string, password: string | undefined, ...args: (string | number)[]): Promise<unknown> {
  const [host, port] = addr.split(":");
  const c = new Redis({
    host, port: Number(port), password, lazyConnect: true, connectTimeout: 2000, commandTimeout: 5000, enableReadyCheck: false,
    maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false,
  });
  c.on("error", () => undefined);
  try {
    await c.connect();
    return await c.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    c.disconnect();
  }
}

/**
 * Sends raw RESP commands on one plain TCP connection and returns the first reply line of each
 * (e.g. "-NOAUTH Authentication required."): what any client without the password gets.
 */
export function rawReplies(addr: string, commands: string[][], timeoutMs = 3000): Promise<string[]> {
  const [host, port] = addr.split(":");
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port: Number(port) });
    let buf = "";
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no full reply from ${addr}: ${JSON.stringify(buf)}`)); }, timeoutMs);
    sock.on("error", (e) => { clearTimeout(timer); reject(e); });
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      const lines = buf.split("\r\n").filter(Boolean);
      if (lines.length >= commands.length) { clearTimeout(timer); sock.destroy(); resolve(lines.slice(0, commands.length)); }
    });
    sock.write(commands.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`).join(""));
  });
}

export function parseInfo(text: string): Record<string, string> {
  return Object.fromEntries(
    text.split(/\r?\n/).filter((l) => l.includes(":") && !l.startsWith("#")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]),
  );
}

export function parseClusterNodes(text: string): ClusterNode[] {
  return text.trim().split("\n").filter(Boolean).map((line) => {
    const f = line.trim().split(" ");
    const addr = f[1].split("@")[0];
    const [ip, port] = addr.split(":");
    return { id: f[0], addr, ip, port: Number(port), flags: f[2].split(","), masterId: f[3], slots: f.slice(8) };
  });
}

export async function clusterNodes(addr: string, password: string): Promise<ClusterNode[]> {
  return parseClusterNodes(String(await redisCmd(addr, password, "CLUSTER", "NODES")));
}

export const info = async (addr: string, password: string, section: string) =>
  parseInfo(String(await redisCmd(addr, password, "INFO", section)));

export const clusterInfo = async (addr: string, password: string) => parseInfo(String(await redisCmd(addr, password, "CLUSTER", "INFO")));

/** Why the cluster is not healthy (null when it is): same definition as the cluster step's. */
export async function clusterProblem(addrs: string[], password: string): Promise<string | null> {
  try {
    for (const a of addrs) {
      const ci = await clusterInfo(a, password);
      if (ci.cluster_state !== "ok") return `${a}: cluster_state ${ci.cluster_state}`;
      if (ci.cluster_slots_ok !== "16384") return `${a}: cluster_slots_ok ${ci.cluster_slots_ok}`;
      if (ci.cluster_known_nodes !== String(addrs.length)) return `${a}: knows ${ci.cluster_known_nodes} nodes`;
      const repl = await info(a, password, "replication");
      if (repl.role === "slave" && repl.master_link_status !== "up") return `${a}: master link ${repl.master_link_status}`;
    }
    const nodes = await clusterNodes(addrs[0], password);
    if (nodes.some((n) => n.flags.some((f) => f.startsWith("fail")))) return "a node is flagged fail";
    const roles = (ns: ClusterNode[]) => ns.map((n) => `${n.addr} ${n.flags.includes("master") ? "master" : "replica"}`).sort().join(",");
    for (const a of addrs.slice(1)) {
      if (roles(await clusterNodes(a, password)) !== roles(nodes)) return `${a} sees other roles than ${addrs[0]}`;
    }
    const p = placementProblem(nodes);
    return p;
  } catch (e) {
    return `unreachable: ${(e as Error).message}`;
  }
}

/** Replicas on their master's host, or a host with more than one master. */
export function placementProblem(nodes: ClusterNode[]): string | null {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const masters = nodes.filter((n) => n.flags.includes("master"));
  const perHost = new Map<string, number>();
  for (const m of masters) perHost.set(m.ip, (perHost.get(m.ip) ?? 0) + 1);
  for (const [ip, n] of perHost) if (n > 1) return `${n} masters on ${ip}`;
  for (const r of nodes.filter((n) => n.flags.includes("slave"))) {
    if (byId.get(r.masterId)?.ip === r.ip) return `replica ${r.addr} on its master's host`;
  }
  return null;
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined | false>, intervalMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface RedisLabParams extends Omit<RedisHostParams, "privateIp"> {}

/** Runs the per-host steps on every host (in parallel, like the Pulumi program) and returns their output. */
export async function provisionRedisHosts(lab: Lab, p: RedisLabParams, hosts: LabHost[] = lab.hosts): Promise<Record<string, RunResult[]>> {
  const out: Record<string, RunResult[]> = {};
  await Promise.all(hosts.map(async (h) => {
    out[h.name] = [];
    for (const step of renderRedisHostSteps({ ...p, privateIp: h.ip })) out[h.name].push(await lab.runStep(h, step));
  }));
  return out;
}

/**
 * Runs the cluster step, rendered for `hosts` (its node list, as the component renders it for the
 * hosts of the stack), on the first of them; returns the action it reports.
 */
export async function runClusterStep(lab: Lab, timeoutMs = 60_000, hosts: LabHost[] = lab.hosts): Promise<{ action: string; result: RunResult }> {
  const result = await lab.runStep(hosts[0], renderRedisClusterStep({ hostIps: hosts.map((h) => h.ip) }), { timeoutMs });
  const m = /opsfleet-redis-cluster: (\S+)\s*$/.exec(result.stdout);
  if (!m) throw new Error(`cluster step printed no result line:\n${result.stdout}\n${result.stderr}`);
  return { action: m[1], result };
}

export const allNodeAddrs = (lab: Lab, hosts: LabHost[] = lab.hosts) => redisClusterNodeOrder(hosts.map((h) => h.ip), REDIS_PORTS);

/** Slots per master, `ip:port` -> count (open-slot markers are not slots). */
export function slotShares(nodes: ClusterNode[]): Record<string, number> {
  const count = (ranges: string[]) => ranges.filter((r) => !r.startsWith("[")).reduce((n, r) => {
    const [a, b] = r.split("-").map(Number);
    return n + (b === undefined ? 1 : b - a + 1);
  }, 0);
  return Object.fromEntries(nodes.filter((n) => n.flags.includes("master")).map((m) => [m.addr, count(m.slots)]));
}

/** PID of redis on host:port, read from its pidfile inside the host. */
export async function redisPid(lab: Lab, host: string, port: number): Promise<number> {
  const r = await lab.exec(host, ["cat", `/run/redis-${port}/redis-server.pid`]);
  if (r.code !== 0) throw new Error(`no pidfile for ${host}:${port}: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** Puts each host's /var/lib/redis on a tmpfs (slot moves fsync nodes.conf on every node: the shared disk would set the pace). */
export async function mountRedisTmpfs(lab: Lab, hosts: LabHost[], sizeMb: number): Promise<void> {
  await Promise.all(hosts.map(async (h) => {
    const r = await lab.exec(h.name, ["sh", "-c", `mount -t tmpfs -o size=${sizeMb}m,mode=0750 tmpfs /var/lib/redis && chown redis:redis /var/lib/redis`]);
    if (r.code !== 0) throw new Error(`tmpfs on ${h.name}: ${r.stderr}`);
  }));
}

/** Stops both Redis instances of a host (as its instance going away would). */
export async function stopRedisNodes(lab: Lab, host: LabHost, ports: readonly number[] = REDIS_PORTS): Promise<void> {
  for (const port of ports) {
    const r = await lab.ssh(host.name, `start-stop-daemon --stop --quiet --oknodo --retry TERM/30/KILL/5 --pidfile /run/redis-${port}/redis-server.pid --exec /usr/bin/redis-server`);
    if (r.code !== 0) throw new Error(`stopping ${host.name}:${port}: ${r.stderr}`);
  }
}

/**
 * Why the cluster of exactly `hosts` is not at its target shape (null when it is): healthy, exactly
 * their nodes, one master per host with exactly one replica on another host, slot shares even
 * (redis-cli rebalance leaves at most the remainder of 16384 / masters, <= 5 slots for 3..15, uneven).
 */
export async function stageProblem(lab: Lab, hosts: LabHost[], password: string): Promise<string | null> {
  const addrs = allNodeAddrs(lab, hosts);
  const health = await clusterProblem(addrs, password);
  if (health) return health;
  const nodes = await clusterNodes(addrs[0], password);
  const seen = nodes.map((x) => x.addr).sort().join(" ");
  if (seen !== [...addrs].sort().join(" ")) return `nodes ${seen}, expected ${[...addrs].sort().join(" ")}`;
  const masters = nodes.filter((x) => x.flags.includes("master"));
  if (new Set(masters.map((m) => m.ip)).size !== hosts.length) return `masters on ${masters.map((m) => m.ip).join(", ")}`;
  for (const m of masters) {
    const n = nodes.filter((r) => r.masterId === m.id).length;
    if (n !== 1) return `${m.addr} has ${n} replicas`;
  }
  const shares = Object.values(slotShares(nodes));
  if (shares.reduce((a, b) => a + b, 0) !== 16384) return `slots: ${shares.join("+")}`;
  if (Math.max(...shares) - Math.min(...shares) > Math.max(1, 16384 % hosts.length)) return `uneven slot shares ${shares.join(", ")}`;
  return null;
}
