/** Composes the Redis area from `opsfleet:redis`: one RedisCluster in the private subnets. */
import { hostMetricsNamespace } from "../provision/monitoring/namespace";
import type * as pulumi from "@pulumi/pulumi";
import { RedisCluster, type RedisBackupArgs } from "../components/redis-cluster";
import type { BackupContext } from "./backup";
import type { RedisConfig } from "./config/redis";
import { hostAccessArgs, type StackContext } from "./context";

export interface RedisOutputs {
  /** Every node as `ip:port` (masters at creation first, then replicas). */
  nodeEndpoints: pulumi.Output<string[]>;
  /** `ip:7000,ip:7000,...`: seed list for cluster clients (they discover the rest). */
  seedList: pulumi.Output<string>;
  /** Private IPs of the Redis hosts. */
  privateIps: pulumi.Output<string[]>;
  /** The cluster's security group (members, client SGs on 7000-7001, bastion on 22). */
  securityGroupId: pulumi.Output<string>;
}

/** The role's "backup" concern (the cluster's prefix) and the schedule. */
function redisBackup(b: BackupContext, ctx: StackContext): RedisBackupArgs {
  const prefix = b.prefix("redis", `${ctx.prefix}-redis`);
  ctx.hostRoles?.for("redis").allow("backup", b.store.hostStatements({ prefix, region: b.region }));
  return { bucket: b.store.bucketName, prefix, region: b.region, metricNamespace: hostMetricsNamespace(ctx.prefix), schedule: { intervalHours: b.config.redis.intervalHours, startTime: b.config.redis.startTime } };
}

export function composeRedis(cfg: RedisConfig, ctx: StackContext): RedisOutputs {
  const password = ctx.secrets.redisPassword;
  if (!password) throw new Error("opsfleet:redisPassword: missing secret (needed by redis)");
  if (ctx.privateSubnetIds.length === 0) throw new Error("opsfleet:redis: no private subnets to place the Redis hosts in");

  const cluster = new RedisCluster(`${ctx.prefix}-redis`, {
    ...hostAccessArgs(ctx, "redis"),
    subnetIds: ctx.privateSubnetIds,
    hostCount: cfg.hostCount,
    instanceType: cfg.instanceType,
    password,
    maxmemoryMb: cfg.maxmemoryMb,
    maxmemoryPolicy: cfg.maxmemoryPolicy,
    nodeTimeoutMs: cfg.nodeTimeoutMs,
    dataVolumeSizeGb: cfg.dataVolumeSizeGb,
    clientSecurityGroupIds: ctx.clientSecurityGroupIds,
    backup: ctx.backup ? redisBackup(ctx.backup, ctx) : undefined,
  }, ctx.opts);
  ctx.inventory?.add("redis", cluster.hosts, cfg.instanceType);
  ctx.inventory?.settledBy.set("redis", cluster.clusterStep);

  return {
    nodeEndpoints: cluster.nodeEndpoints,
    seedList: cluster.seedList,
    privateIps: cluster.privateIps,
    securityGroupId: cluster.securityGroupId,
  };
}
