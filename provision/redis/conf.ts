/**
 * Redis Cluster node configuration (one redis-server per port), following Debian's
 * `redis-server@.service` template conventions: instance name = port, config
 * `/etc/redis/redis-<port>.conf`, pidfile `/run/redis-<port>/redis-server.pid`, data under
 * `/var/lib/redis`, logs under `/var/log/redis` (the template's ProtectSystem=strict allows only these).
 */

/** Eviction policies Redis 7 accepts. */
export const MAXMEMORY_POLICIES = [
  "noeviction",
  "allkeys-lru",
  "allkeys-lfu",
  "allkeys-random",
  "volatile-lru",
  "volatile-lfu",
  "volatile-random",
  "volatile-ttl",
] as const;
export type MaxmemoryPolicy = (typeof MAXMEMORY_POLICIES)[number];

/** Client ports per host: the master and the replica (of a master on another host). */
export const REDIS_PORTS = [7000, 7001] as const;
/** Redis Cluster's bus port is the client port + 10000. */
export const BUS_PORT_OFFSET = 10000;

export interface RedisNodeConfig {
  /** Client port; the cluster bus uses port + 10000. */
  port: number;
  /** The host's private IPv4 address: bound, and announced to the cluster. */
  bindIp: string;
  /** `requirepass` and `masterauth` (replicas authenticate to masters with it). */
  password: string;
  /** Memory limit of this instance in MiB (two instances per host: keep 2x this well under RAM/2). */
  maxmemoryMb: number;
  /** What happens at `maxmemory`. @default "noeviction" */
  maxmemoryPolicy?: MaxmemoryPolicy;
  /** Milliseconds without a reply before a node is considered failing. @default 5000 */
  nodeTimeoutMs?: number;
  /** AOF fsync policy. @default "everysec" */
  appendfsync?: "always" | "everysec";
}

export interface RedisNodePaths {
  conf: string;
  dir: string;
  runDir: string;
  pidfile: string;
  logfile: string;
  nodesFile: string;
}

export function redisPaths(port: number): RedisNodePaths {
  return {
    conf: `/etc/redis/redis-${port}.conf`,
    dir: `/var/lib/redis/${port}`,
    runDir: `/run/redis-${port}`,
    pidfile: `/run/redis-${port}/redis-server.pid`,
    logfile: `/var/log/redis/redis-server-${port}.log`,
    nodesFile: `nodes-${port}.conf`,
  };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Throws naming the field, the value and what is allowed. */
export function validateRedisNodeConfig(c: RedisNodeConfig): void {
  if (!Number.isInteger(c.port) || c.port < 1024 || c.port > 55535) {
    throw new Error(`redis port: got ${c.port}; allowed: integer 1024-55535 (the bus port is port+10000)`);
  }
  if (!IPV4.test(c.bindIp)) throw new Error(`redis bindIp: got ${JSON.stringify(c.bindIp)}; allowed: an IPv4 address`);
  validateRedisPassword(c.password);
  if (!Number.isInteger(c.maxmemoryMb) || c.maxmemoryMb < 32) {
    throw new Error(`redis maxmemoryMb: got ${c.maxmemoryMb}; allowed: integer >= 32`);
  }
  const policy = c.maxmemoryPolicy ?? "noeviction";
  if (!(MAXMEMORY_POLICIES as readonly string[]).includes(policy)) {
    throw new Error(`redis maxmemoryPolicy: got ${JSON.stringify(policy)}; allowed: ${MAXMEMORY_POLICIES.join(", ")}`);
  }
  const t = c.nodeTimeoutMs ?? 5000;
  if (!Number.isInteger(t) || t < 1000 || t > 60000) {
    throw new Error(`redis nodeTimeoutMs: got ${t}; allowed: integer 1000-60000`);
  }
}

/** The secret's value is never echoed in the message. */
export function validateRedisPassword(pw: string): void {
  if (typeof pw !== "string" || pw.length < 16 || pw.length > 512 || !/^[\x20-\x7e]+$/.test(pw)) {
    throw new Error(
      `redis password: got ${typeof pw === "string" ? `${pw.length} characters` : typeof pw}; allowed: 16-512 printable ASCII characters`,
    );
  }
}

/** Double-quoted Redis config string (sdssplitargs rules): only `\` and `"` need escaping. */
export function redisQuote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The full `redis-<port>.conf`. Contains the password: install it redis:redis 0640. */
export function renderRedisConf(c: RedisNodeConfig): string {
  validateRedisNodeConfig(c);
  const p = redisPaths(c.port);
  const pw = redisQuote(c.password);
  return [
    `# managed by opsfleet (provision/redis): changes are overwritten`,
    `port ${c.port}`,
    `bind ${c.bindIp} 127.0.0.1`,
    `protected-mode yes`,
    `tcp-backlog 511`,
    `timeout 0`,
    `tcp-keepalive 300`,
    // systemd's unit passes --supervised systemd; the no-systemd start passes --daemonize yes
    `daemonize no`,
    `supervised auto`,
    `pidfile ${p.pidfile}`,
    `loglevel notice`,
    `logfile ${p.logfile}`,
    `dir ${p.dir}`,
    `dbfilename dump.rdb`,
    `appendonly yes`,
    `appendfilename "appendonly.aof"`,
    `appendfsync ${c.appendfsync ?? "everysec"}`,
    `repl-diskless-sync yes`,
    // each master has exactly one replica, so waiting to batch several syncs only delays the first
    // sync (and a master lost before it cannot fail over)
    `repl-diskless-sync-delay 0`,
    `cluster-enabled yes`,
    `cluster-config-file ${p.nodesFile}`,
    `cluster-node-timeout ${c.nodeTimeoutMs ?? 5000}`,
    `cluster-announce-ip ${c.bindIp}`,
    `cluster-replica-validity-factor 10`,
    `cluster-require-full-coverage yes`,
    `cluster-allow-reads-when-down no`,
    `maxmemory ${c.maxmemoryMb}mb`,
    `maxmemory-policy ${c.maxmemoryPolicy ?? "noeviction"}`,
    `requirepass ${pw}`,
    `masterauth ${pw}`,
    ``,
  ].join("\n");
}
