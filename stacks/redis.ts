/** Composes the Redis area from `opsfleet:redis`: one RedisCluster in the private subnets. */
import { hostMetricsNamespace } from "../provision/monitoring/namespace";
import type * as pulumi from "@pulumi/pulumi";
import { RedisCluster, redisHostName, type RedisBackupArgs } from "../components/redis-cluster";
import { redisHostBackupPrefix } from "../provision/backup/redis";
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

/**
 * One role per Redis host (metrics, and with backups a "backup" concern that may write only the
 * host's own prefix and read the cluster's, for a restore on any host); their instance profiles in host order.
 */
function redisHostProfiles(ctx: StackContext, cluster: string, hostCount: number): pulumi.Output<string>[] | undefined {
  const roles = ctx.hostRoles;
  if (!roles) return undefined;
  const b = ctx.backup;
  return Array.from({ length: hostCount }, (_, i) => {
    const host = redisHostName(cluster, i);
    const role = roles.forHost("redis", host);
    if (b) {
      const clusterPrefix = redisClusterPrefix(b, ctx);
      role.allow("backup", b.store.hostStatements({ prefix: redisHostBackupPrefix(clusterPrefix, host), readPrefix: clusterPrefix, region: b.region }));
    }
    return role.instanceProfileName;
  });
}

const redisClusterPrefix = (b: BackupContext, ctx: StackContext) => b.prefix("redis", `${ctx.prefix}-redis`);

/** Where and when the hosts back up (their roles' grants: `redisHostProfiles`). */
function redisBackup(b: BackupContext, ctx: StackContext): RedisBackupArgs {
  const prefix = redisClusterPrefix(b, ctx);
  return { bucket: b.store.bucketName, prefix, region: b.region, metricNamespace: hostMetricsNamespace(ctx.prefix), schedule: { intervalHours: b.config.redis.intervalHours, startTime: b.config.redis.startTime } };
}

export function composeRedis(cfg: RedisConfig, ctx: StackContext): RedisOutputs {
  const password = ctx.secrets.redisPassword;
  if (!password) throw new Error("opsfleet:redisPassword: missing secret (needed by redis)");
  if (ctx.privateSubnetIds.length === 0) throw new Error("opsfleet:redis: no private subnets to place the Redis hosts in");

  const name = `${ctx.prefix}-redis`;
  const cluster = new RedisCluster(name, {
    ...hostAccessArgs(ctx),
    hostInstanceProfiles: redisHostProfiles(ctx, name, cfg.hostCount),
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
