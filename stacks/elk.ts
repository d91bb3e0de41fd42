/** Composes the ELK area from `opsfleet:elk`: the Elasticsearch cluster and the Logstash (+Kibana) host. */
import * as pulumi from "@pulumi/pulumi";
import { ElasticsearchCluster, type ElasticsearchClusterArgs } from "../components/elasticsearch-cluster";
import type { BackupContext } from "./backup";
import { hostMetricsNamespace } from "../provision/monitoring/namespace";
import { LogstashHost } from "../components/logstash-host";
import { derivePassword } from "../provision/elasticsearch/passwords";
import type { ElkConfig } from "./config/elk";
import { hostAccessArgs, type StackContext } from "./context";

export const LOGSTASH_USER = "logstash_internal";

export interface ElkOutputs {
  clusterName: pulumi.Output<string>;
  /** `https://<data node>:9200` for clients. */
  httpEndpoints: pulumi.Output<string[]>;
  masterIps: pulumi.Output<string[]>;
  dataNodeIps: pulumi.Output<string[]>;
  /** The cluster CA: `npm run es:profile -- ... --ca <file>` and other clients verify with it. */
  caCertPem: pulumi.Output<string>;
  /** `<ip>:5044`. */
  logstashBeatsEndpoint: pulumi.Output<string>;
  kibanaUrl?: pulumi.Output<string>;
  /** The index profile this `pulumi up` applied. */
  indexProfile: string;
}

/** The role's "backup" concern (the repository's prefix; Elasticsearch deletes its own stale blobs) and SLM. */
function esSnapshots(b: BackupContext, ctx: StackContext): NonNullable<ElasticsearchClusterArgs["snapshots"]> {
  const basePath = b.prefix("elasticsearch", `${ctx.prefix}-es`);
  ctx.hostRoles?.for("elasticsearch").allow("backup", b.store.hostStatements({ prefix: basePath, region: b.region, snapshotRepository: true }));
  const es = b.config.elasticsearch;
  return {
    bucket: b.store.bucketName, basePath, schedule: { intervalHours: es.intervalHours, startTime: es.startTime },
    expireAfterDays: es.expireAfterDays ?? b.config.retentionDays, minCount: es.minCount, maxCount: es.maxCount,
    status: { region: b.region, metricNamespace: hostMetricsNamespace(ctx.prefix) },
  };
}

export function composeElk(cfg: ElkConfig, ctx: StackContext): ElkOutputs {
  const elasticPassword = ctx.secrets.elasticPassword;
  if (!elasticPassword) throw new Error("opsfleet:elasticPassword: missing secret (needed by elk)");
  const derive = (label: string) => pulumi.secret(elasticPassword.apply((pw) => derivePassword(pw, label)));
  const logstashPassword = derive(LOGSTASH_USER);
  const kibanaSystemPassword = cfg.kibana.enabled ? derive("kibana_system") : undefined;

  const cluster = new ElasticsearchCluster(`${ctx.prefix}-es`, {
    ...hostAccessArgs(ctx, "elasticsearch"),
    subnetIds: ctx.privateSubnetIds,
    clusterName: cfg.clusterName ?? `${ctx.prefix}-logs`,
    version: cfg.version,
    masters: cfg.masters,
    data: cfg.data,
    elasticPassword,
    clientSecurityGroupIds: ctx.clientSecurityGroupIds,
    index: cfg.index,
    logstashUser: { username: LOGSTASH_USER, password: logstashPassword },
    kibanaSystemPassword,
    snapshots: ctx.backup ? esSnapshots(ctx.backup, ctx) : undefined,
  }, ctx.opts);

  const logstash = new LogstashHost(`${ctx.prefix}-logstash`, {
    ...hostAccessArgs(ctx, "logstash"),
    subnetId: ctx.privateSubnetIds[0],
    instanceType: cfg.logstash.instanceType,
    version: cfg.version,
    workers: cfg.logstash.workers,
    batchSize: cfg.logstash.batchSize,
    batchDelayMs: cfg.logstash.batchDelayMs,
    heapMb: cfg.logstash.heapMb,
    queueType: cfg.logstash.queueType,
    queueMaxGb: cfg.logstash.queueMaxGb,
    volumeSizeGb: cfg.logstash.volumeSizeGb,
    elasticsearch: {
      dataNodeIps: cluster.dataNodeIps,
      caCertPem: cluster.caCertPem,
      user: LOGSTASH_USER,
      password: logstashPassword,
      indexPrefix: cfg.index.prefix,
      readyAfter: [cluster.usersReady],
    },
    kibana: kibanaSystemPassword ? { kibanaSystemPassword, encryptionKey: derive("kibana-encrypted-saved-objects") } : undefined,
    beatsClientSecurityGroupIds: ctx.clientSecurityGroupIds,
    elasticsearchSecurityGroupId: cluster.securityGroupId,
  }, ctx.opts);
  cluster.allowHttpFrom("logstash", logstash.securityGroupId);
  ctx.inventory?.add("elasticsearch", cluster.masters, cfg.masters.instanceType);
  ctx.inventory?.add("elasticsearch", cluster.dataNodes, cfg.data.instanceType);
  ctx.inventory?.add("logstash", [logstash.host], cfg.logstash.instanceType);

  return {
    clusterName: cluster.clusterName,
    httpEndpoints: cluster.httpEndpoints,
    masterIps: cluster.masterIps,
    dataNodeIps: cluster.dataNodeIps,
    caCertPem: cluster.caCertPem,
    logstashBeatsEndpoint: logstash.beatsEndpoint,
    kibanaUrl: logstash.kibanaUrl,
    indexProfile: cfg.index.profile,
  };
}
