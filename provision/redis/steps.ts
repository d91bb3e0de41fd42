/**
 * The Redis Cluster provisioning steps, as plain `RenderedStep`s: the `RedisCluster` component
 * runs them on EC2 through the Host building block, and the host tests pipe the very same bytes
 * over ssh to local test hosts.
 *
 * Per host, in order: `redis-install` → `redis-os` → `redis-nodes`; then once, on the first host,
 * after every host's `redis-nodes`: `redis-cluster`.
 */
import type { RenderedStep } from "../common/types";
import { REDIS_PORTS, redisPaths, renderRedisConf, validateRedisNodeConfig, type MaxmemoryPolicy } from "./conf";
import { INSTALL_SCRIPT, NODES_SCRIPT, OS_TUNING_SCRIPT } from "./scripts";
import { CLUSTER_SCRIPT, PICK_MASTER_AWK, PLACEMENT_AWK, STAY_MASTERS_AWK, SURPLUS_AWK } from "./cluster-script";

/** Root-only copy of the password for the steps' own redis-cli calls (read into REDISCLI_AUTH). */
export const REDIS_AUTH_FILE = "/etc/redis/opsfleet-auth";

export interface RedisHostParams {
  /** The host's private IPv4 address. */
  privateIp: string;
  password: string;
  /** Per instance, MiB. */
  maxmemoryMb: number;
  /** @default "noeviction" */
  maxmemoryPolicy?: MaxmemoryPolicy;
  /** @default 5000 */
  nodeTimeoutMs?: number;
  /** Instances on the host, master port first. @default [7000, 7001] */
  ports?: readonly number[];
}

export interface RedisClusterParams {
  /** Private IPs of all cluster hosts, in a stable order (>= 3: a cluster needs 3 masters). */
  hostIps: readonly string[];
  /** @default [7000, 7001] */
  ports?: readonly number[];
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function renderRedisInstallStep(): RenderedStep {
  return {
    name: "redis-install",
    description: "install redis-server and redis-tools if missing; disable the default single-instance service",
    files: [],
    script: INSTALL_SCRIPT.trim(),
  };
}

export function renderRedisOsTuningStep(): RenderedStep {
  return {
    name: "redis-os",
    description: "kernel settings for Redis: vm.overcommit_memory=1 (skipped on local test hosts)",
    files: [],
    script: OS_TUNING_SCRIPT.trim(),
  };
}

/**
 * Config files for every instance on the host, then start what is not running and restart (one at
 * a time, master handed over first) what runs with an older config. The password travels only in
 * the files (the step's stdin), never in the script text.
 */
export function renderRedisNodesStep(p: RedisHostParams): RenderedStep {
  const ports = p.ports ?? REDIS_PORTS;
  if (ports.length === 0 || new Set(ports).size !== ports.length) {
    throw new Error(`redis ports: got [${ports.join(", ")}]; allowed: distinct ports, master first`);
  }
  const files = ports.map((port) => {
    const cfg = { port, bindIp: p.privateIp, password: p.password, maxmemoryMb: p.maxmemoryMb, maxmemoryPolicy: p.maxmemoryPolicy, nodeTimeoutMs: p.nodeTimeoutMs };
    validateRedisNodeConfig(cfg);
    return { path: redisPaths(port).conf, content: renderRedisConf(cfg), mode: "0640", owner: "redis", group: "redis" };
  });
  return {
    name: "redis-nodes",
    description: `redis-server@{${ports.join(",")}} on ${p.privateIp}: configs, start, rolling restart on change`,
    files: [...files, { path: REDIS_AUTH_FILE, content: p.password, mode: "0600", owner: "root", group: "root" }],
    script: [`PORTS=${q(ports.join(" "))}`, `BIND_IP=${q(p.privateIp)}`, NODES_SCRIPT.trim()].join("\n"),
  };
}

/** `ip:port` list for `redis-cli --cluster create`: every host's master port first, then the replicas. */
export function redisClusterNodeOrder(hostIps: readonly string[], ports: readonly number[] = REDIS_PORTS): string[] {
  return ports.flatMap((port) => hostIps.map((ip) => `${ip}:${port}`));
}

/**
 * Idempotent cluster formation, run on one host after all nodes are up: a formed cluster is left
 * alone; fresh nodes form it (or join it as replicas, e.g. a replaced data volume); placement is
 * fixed (one master per host, each replica on another host); then it waits until healthy.
 * Its last output line is `opsfleet-redis-cluster: unchanged|created|joined|placement-fixed`.
 */
export function renderRedisClusterStep(p: RedisClusterParams): RenderedStep {
  const ports = p.ports ?? REDIS_PORTS;
  if (p.hostIps.length < 3) {
    throw new Error(`redis cluster hosts: got ${p.hostIps.length}; allowed: at least 3 (a cluster needs 3 masters, one per host)`);
  }
  if (new Set(p.hostIps).size !== p.hostIps.length) throw new Error(`redis cluster hosts: duplicate IPs in [${p.hostIps.join(", ")}]`);
  if (ports.length < 2) throw new Error(`redis cluster ports: got [${ports.join(", ")}]; allowed: a master and at least one replica port`);
  for (const ip of p.hostIps) {
    validateRedisNodeConfig({ port: ports[0], bindIp: ip, password: "x".repeat(16), maxmemoryMb: 32 });
  }
  const nodes = redisClusterNodeOrder(p.hostIps, ports);
  return {
    name: "redis-cluster",
    description: `form the Redis Cluster (${p.hostIps.length} masters, ${ports.length - 1} replica each on another host) if needed; wait until healthy`,
    files: [],
    script: [
      `NODES=${q(nodes.join(" "))}`,
      ...clusterScriptBody(ports.length - 1),
    ].join("\n"),
  };
}

/** The cluster script with its awk helpers; both the cluster step and the health gate run it. */
function clusterScriptBody(replicas: number): string[] {
  return [
    `REPLICAS=${replicas}`,
    `PLACEMENT_AWK=${q(PLACEMENT_AWK.trim())}`,
    `PICK_MASTER_AWK=${q(PICK_MASTER_AWK.trim())}`,
    `STAY_MASTERS_AWK=${q(STAY_MASTERS_AWK.trim())}`,
    `SURPLUS_AWK=${q(SURPLUS_AWK.trim())}`,
    CLUSTER_SCRIPT.trim(),
  ];
}

/** Where a host's health gate looks for the cluster when its own nodes know none. */
export interface RedisHealthParams {
  /** This host's private IP. */
  hostIp: string;
  /**
   * Other hosts of the cluster to ask (the component gives the first three hosts except this one:
   * every cluster has them, so a host-count change leaves the gate alone).
   */
  peerIps: readonly string[];
  /**
   * This host's gate may take "no other host's node answers" for a first creation: only the first host
   * of the creation chain while no other host's instance exists yet (`redisCreatedFirst`). A
   * `CREATED_FIRST=0|1` line run before the script (the component's step context) overrides it.
   * @default false
   */
  createdFirst?: boolean;
  /** @default [7000, 7001] */
  ports?: readonly number[];
  /** How long to wait for the other hosts' nodes to answer, seconds. @default 20 */
  peerWaitSeconds?: number;
}

/**
 * A host's health gate, after its own nodes are up; the next host of the cluster is (re)placed only
 * after it passes, and it passes only on positive evidence:
 * - this host's nodes are members of a cluster: it does what the cluster step does for an existing
 *   cluster (restores one master per host) and waits until the cluster, as its members know it, is
 *   healthy: every member answers and is not failed, all 16384 slots ok, every replica's link up;
 * - they know no cluster: the other hosts' nodes decide. One of them is in a cluster that knows this
 *   host's address: the host came back empty (a lost volume), so its nodes are added back as the
 *   cluster step would, then the same wait. In a cluster that does not know it: a new host, passed
 *   when that cluster has all slots covered and no failed node (placement drift, e.g. two masters on
 *   one host after a failover, is left to the cluster step, which adds the host and fixes it). Every one that answers is in no cluster: the first creation (the cluster step forms it
 *   after the last host). None answers: a failure, except for the first host of the creation chain.
 * Last line: `opsfleet-redis-cluster: not-formed|new-host|unchanged|joined|placement-fixed`.
 */
export function renderRedisHealthStep(p: RedisHealthParams): RenderedStep {
  const ports = p.ports ?? REDIS_PORTS;
  if (ports.length < 2) throw new Error(`redis health ports: got [${ports.join(", ")}]; allowed: a master and at least one replica port`);
  validateRedisNodeConfig({ port: ports[0], bindIp: p.hostIp, password: "x".repeat(16), maxmemoryMb: 32 });
  if (p.peerIps.length === 0 || new Set([p.hostIp, ...p.peerIps]).size !== p.peerIps.length + 1) {
    throw new Error(`redis health peers: got [${p.peerIps.join(", ")}] for ${p.hostIp}; allowed: other hosts' IPs, distinct, at least one`);
  }
  for (const ip of p.peerIps) validateRedisNodeConfig({ port: ports[0], bindIp: ip, password: "x".repeat(16), maxmemoryMb: 32 });
  return {
    name: "redis-healthy",
    description: `wait until the Redis Cluster is healthy with ${p.hostIp}'s nodes back (passes before the cluster is first formed)`,
    files: [],
    script: [
      `MODE=health`,
      `HOST_IP=${q(p.hostIp)}`,
      `LOCAL=${q(ports.map((port) => `${p.hostIp}:${port}`).join(" "))}`,
      `PEERS=${q(p.peerIps.flatMap((ip) => ports.map((port) => `${ip}:${port}`)).join(" "))}`,
      `CREATED_FIRST=\${CREATED_FIRST:-${p.createdFirst ? 1 : 0}}`,
      `PEER_WAIT=${p.peerWaitSeconds ?? 20}`,
      `NODES=''`,
      ...clusterScriptBody(ports.length - 1),
    ].join("\n"),
  };
}

/**
 * Whether host `hostIndex`'s gate may take silent peers for a first creation: it is the first host of
 * the creation chain AND none of the other hosts' instances exists (`peerInstanceIds`: what EC2 has
 * attached to their network interfaces before this `up`). On a first `up` they cannot exist yet (each
 * waits for this gate); on any later one they do, and silent peers are then a failure, never a first
 * creation (a host back with an empty volume while the others hang must not pass).
 */
export function redisCreatedFirst(hostIndex: number, peerInstanceIds: readonly string[]): boolean {
  return hostIndex === 0 && peerInstanceIds.length === 0;
}

/** The per-host steps in order. */
export function renderRedisHostSteps(p: RedisHostParams): RenderedStep[] {
  return [renderRedisInstallStep(), renderRedisOsTuningStep(), renderRedisNodesStep(p)];
}
