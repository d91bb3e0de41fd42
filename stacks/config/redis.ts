/** `opsfleet:redis`: the Redis Cluster (3 hosts x {master :7000, replica :7001}). The password is the secret redisPassword. */
import { z } from "zod";
import { instanceType, intBetween } from "./common";
import { MAXMEMORY_POLICIES } from "../../provision/redis/conf";

/** Memory (MiB) of common instance types, for the maxmemory sanity check; other types are not checked. */
const SIZES_GIB: Record<string, number> = { nano: 0.5, micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, "2xlarge": 32, "4xlarge": 64, "8xlarge": 128 };
export function instanceMemoryMiB(type: string): number | undefined {
  const [family, size] = type.split(".");
  const gib = SIZES_GIB[size];
  if (gib === undefined) return undefined;
  if (/^t(3a?|4g)$/.test(family)) return gib * 1024;
  if (/^m(5|6[ig]|7[ig])$/.test(family) && gib >= 8) return gib * 1024;
  if (/^r(5|6[ig]|7[ig])$/.test(family) && gib >= 8) return gib * 2 * 1024;
  return undefined;
}

export const redisConfigSchema = z
  .strictObject({
    instanceType: instanceType.default("t3.small").describe("EC2 instance type of each Redis host (each runs two Redis instances)."),
    hostCount: intBetween(3, 15).default(3)
      .describe("Hosts, each with one master (:7000) and one replica (:7001) of a master on another host. Spread round-robin over the private subnets. Change it on a running stack to scale out or in: slots are moved evenly, data kept (docs/redis.md, Scaling)."),
    maxmemoryMb: intBetween(32, 1_048_576).default(512)
      .describe("maxmemory of each Redis instance in MiB. Two instances per host, and a fork for AOF rewrite / replica sync can double memory: keep 2 x maxmemoryMb <= half the host's RAM."),
    maxmemoryPolicy: z.enum(MAXMEMORY_POLICIES).default("noeviction")
      .describe("What Redis does at maxmemory: noeviction (writes fail; for data) or an eviction policy such as allkeys-lru (for caches)."),
    nodeTimeoutMs: intBetween(1000, 60000).default(5000)
      .describe("cluster-node-timeout: a master unreachable this long is failed over to its replica (expect ~1.5-2x this as write outage for its slots)."),
    dataVolumeSizeGb: intBetween(1, 16384).default(20).describe("Encrypted gp3 EBS volume per host for /var/lib/redis (AOF, RDB, nodes.conf), GiB."),
  })
  .superRefine((c, ctx) => {
    const mem = typeof c.instanceType === "string" ? instanceMemoryMiB(c.instanceType) : undefined;
    if (mem !== undefined && typeof c.maxmemoryMb === "number" && 2 * c.maxmemoryMb > mem / 2) {
      ctx.addIssue({
        code: "custom", path: ["maxmemoryMb"], input: c.maxmemoryMb,
        message: `2 instances x ${c.maxmemoryMb} MiB exceed half of ${c.instanceType}'s ${mem} MiB (AOF rewrites and replica syncs fork and can double memory); use at most ${Math.floor(mem / 4)} or a bigger instanceType`,
      });
    }
  })
  .describe("Redis Cluster on three (or more) hosts.");

export type RedisConfig = z.infer<typeof redisConfigSchema>;
