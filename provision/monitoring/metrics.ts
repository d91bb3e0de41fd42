/**
 * Every metric the host checkers publish (namespace `HOST_METRICS_NAMESPACE`): name, unit and
 * dimension names. The checker script, the alarms and the dashboard all read this one table, and
 * a test checks that the script publishes exactly these.
 */

/** What a metric describes; the section of the checker that publishes it. */
export type CheckSection = "disk" | "redis" | "elasticsearch" | "database";

export interface HostMetric {
  section: CheckSection;
  unit: "Percent" | "Count" | "None";
  /** Dimension names, in the order the checker writes them. */
  dimensions: readonly string[];
  /** One line: what the value is. */
  description: string;
}

const HOST = ["Stack", "Host"] as const;
const CLUSTER = ["Stack", "Cluster"] as const;

export const HOST_METRICS = {
  HostCheckerUp: { section: "disk", unit: "None", dimensions: HOST, description: "1 after every run of the checker: its absence means the host or the checker is silent" },
  DiskUsedPercent: { section: "disk", unit: "Percent", dimensions: [...HOST, "MountPoint"], description: "used share of the file system at MountPoint (as df shows it)" },

  RedisNodeUp: { section: "redis", unit: "None", dimensions: [...HOST, "Port"], description: "1 when the Redis instance on Port answers PING with the password, else 0" },
  RedisMemoryUsedPercent: { section: "redis", unit: "Percent", dimensions: [...HOST, "Port"], description: "used_memory as a share of maxmemory" },
  RedisMastersOnHost: { section: "redis", unit: "Count", dimensions: HOST, description: "masters (not failed) on this host in the cluster's view: 1 is the intended placement" },
  RedisReplicasInSync: { section: "redis", unit: "Count", dimensions: HOST, description: "replicas on this host whose link to their master is up" },
  RedisClusterStateOk: { section: "redis", unit: "None", dimensions: CLUSTER, description: "1 when cluster_state is ok (in this host's view), else 0" },
  RedisSlotsAssigned: { section: "redis", unit: "Count", dimensions: CLUSTER, description: "cluster_slots_assigned (16384 when every slot has a master)" },
  RedisSlotsOk: { section: "redis", unit: "Count", dimensions: CLUSTER, description: "cluster_slots_ok (slots whose master is not failing)" },
  RedisKnownNodes: { section: "redis", unit: "Count", dimensions: CLUSTER, description: "cluster_known_nodes" },
  RedisUnreplicatedMasters: { section: "redis", unit: "Count", dimensions: CLUSTER, description: "masters with slots on this host that have no replica online (in sync) — a lost replica, or a failover that left a master alone" },

  EsNodeUp: { section: "elasticsearch", unit: "None", dimensions: HOST, description: "1 when this host's Elasticsearch node answers HTTP at all (even with an error), else 0" },
  EsCheckRejected: { section: "elasticsearch", unit: "None", dimensions: HOST, description: "1 when the node answers but refuses the checker's credentials (HTTP 401/403): up, but unchecked; else 0" },
  EsClusterStatus: { section: "elasticsearch", unit: "None", dimensions: CLUSTER, description: "cluster health: 0 green, 1 yellow, 2 red or no elected master (503 master_not_discovered_exception)" },
  EsUnassignedShards: { section: "elasticsearch", unit: "Count", dimensions: CLUSTER, description: "unassigned_shards of the cluster health" },
  EsHeapUsedPercent: { section: "elasticsearch", unit: "Percent", dimensions: HOST, description: "JVM heap used by this host's node" },
  EsDiskUsedPercent: { section: "elasticsearch", unit: "Percent", dimensions: HOST, description: "used share of this node's data paths (Elasticsearch's own view)" },

  DbUp: { section: "database", unit: "None", dimensions: HOST, description: "1 when the database server answers, else 0" },
  DbUnencryptedTables: { section: "database", unit: "Count", dimensions: HOST, description: "InnoDB tablespaces not encrypted, plus tables of other engines in application schemas" },
  DbTablespacesOnOldKey: { section: "database", unit: "Count", dimensions: HOST, description: "encrypted tablespaces (except the system ones) on a key id older than the current one (MariaDB)" },
  DbKeyAgeDays: { section: "database", unit: "Count", dimensions: HOST, description: "days since the key material last changed (rotation adds a key)" },
} as const satisfies Record<string, HostMetric>;

export type HostMetricName = keyof typeof HOST_METRICS;

export const REDIS_TOTAL_SLOTS = 16384;
