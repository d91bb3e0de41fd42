/**
 * Composes monitoring from `opsfleet:alerts` after the areas: the health-check step on every host
 * the areas registered, then the topic, alarms and dashboard for what this stack runs.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Host } from "../components/host";
import { liftFiles } from "../components/lift-files";
import { supportsRecovery } from "../components/instance-recovery";
import { Monitoring } from "../components/monitoring";
import { KEY_MAX_AGE_DAYS, type MonitoredStack, type Thresholds } from "../components/monitoring/alarms";
import { REDIS_PORTS } from "../provision/redis/conf";
import { ES_HTTP_PORT } from "../provision/elasticsearch/node-config";
import { mariadbKeyFiles, mysqlKeyringFile, resolveDatabaseOptions } from "../provision/database";
import { renderHealthStep, type HealthCheckParams, type HealthGroup } from "../provision/monitoring/steps";
import type { OpsfleetConfig } from "./config/schema";
import type { StackContext } from "./context";
import type { SpotOutputs } from "./spot";
import type { DatabaseOutputs } from "./database";
import { backupJobs } from "../provision/backup/metrics";

/** Hosts the areas created, by group (areas add theirs with `ctx.inventory?.add`). */
export class HostInventory {
  readonly groups = new Map<HealthGroup, Host[]>();
  /** Each host's instance type (plain: it decides whether the host gets an EC2 recovery alarm). */
  readonly instanceTypes = new Map<Host, string>();
  /**
   * Per group, the cluster-wide step after which the cluster's members match its host list (Redis:
   * the cluster step). Alarms whose threshold follows the host count wait for it.
   */
  readonly settledBy = new Map<HealthGroup, pulumi.Resource>();
  add(group: HealthGroup, hosts: Host[], instanceType: string): void {
    this.groups.set(group, [...(this.groups.get(group) ?? []), ...hosts]);
    for (const h of hosts) this.instanceTypes.set(h, instanceType);
  }
}

/** Hosts as monitoring sees them (pure): EC2 recovery only where the instance type supports it. */
export function monitoredHosts(hosts: { name: string; instanceId: pulumi.Input<string>; mounts: string[]; instanceType: string }[]): MonitoredStack["hosts"] {
  return hosts.map(({ instanceType, ...h }) => ({ ...h, recover: supportsRecovery(instanceType) }));
}

export interface MonitoringOutputs {
  /** SNS topic every alarm notifies (ALARM and OK). */
  alertsTopicArn: pulumi.Output<string>;
  dashboardName: pulumi.Output<string>;
  /** Names of the alarms, sorted. */
  alarmNames: string[];
}

/** CloudWatch's QueueName: the last part of the queue URL. */
const queueName = (url: pulumi.Output<string>) => url.apply((u) => u.split("/").pop() ?? u);

export const clusterNames = (prefix: string) => ({ redis: `${prefix}-redis`, elasticsearch: `${prefix}-es` });

/** Thresholds with the defaults that depend on other settings (pure). */
export function resolveThresholds(c: Pick<OpsfleetConfig, "alerts" | "database">): Thresholds {
  const t = c.alerts.thresholds;
  return { ...t, dbKeyMaxAgeDays: t.dbKeyMaxAgeDays ?? KEY_MAX_AGE_DAYS[c.database.keyRotationSchedule] };
}

export function composeMonitoring(
  c: OpsfleetConfig,
  ctx: StackContext,
  areas: { web?: SpotOutputs; database?: DatabaseOutputs },
  inventory: HostInventory,
  region: string,
): MonitoringOutputs {
  const clusters = clusterNames(ctx.prefix);
  const db = areas.database ? resolveDatabaseOptions({ engine: c.database.engine, keyDir: areas.database.keyDir }) : undefined;

  // per host, the step that starts its checker: breaching-on-silence alarms wait for it
  const hostsReady: Record<string, pulumi.Resource> = {};
  for (const [group, hosts] of inventory.groups) {
    for (const host of hosts) {
      const params = (ip: string): HealthCheckParams => ({
        group, stack: ctx.prefix, host: host.hostName, region, diskMounts: ["/", ...host.mountPoints],
        ...(group === "redis" ? { redis: { cluster: clusters.redis, ports: REDIS_PORTS } } : {}),
        ...(group === "elasticsearch" ? { elasticsearch: { cluster: clusters.elasticsearch, url: `https://${ip}:${ES_HTTP_PORT}` } } : {}),
        ...(group === "database" && db ? { database: { engine: db.engine, keyFile: db.engine === "mariadb" ? mariadbKeyFiles(db).keyFile : mysqlKeyringFile(db) } } : {}),
      });
      const shape = renderHealthStep(params("192.0.2.1"));
      hostsReady[host.hostName] = host.addStep({
        name: shape.name,
        description: shape.description,
        // only the Elasticsearch URL depends on the host's address
        files: liftFiles(shape.files, host.privateIp.apply((ip) => renderHealthStep(params(ip)).files)),
        script: shape.script,
      });
    }
  }

  const hostsOf = (g: HealthGroup) => inventory.groups.get(g) ?? [];
  const all = [...inventory.groups.values()].flat();
  const monitored: MonitoredStack = {
    stack: ctx.prefix,
    ...(areas.web ? {
      web: {
        onDemandAsgName: areas.web.onDemandAsgName,
        functionName: areas.web.reconcilerFunctionName,
        deadLetterQueueNames: { events: queueName(areas.web.deadLetterQueueUrl), reconcile: queueName(areas.web.reconcileDeadLetterQueueUrl) },
        reconcileQueueName: queueName(areas.web.reconcileQueueUrl),
        loadBalancerArnSuffix: areas.web.albArnSuffix,
        targetGroupArnSuffix: areas.web.targetGroupArnSuffix,
      },
    } : {}),
    ...(hostsOf("redis").length ? { redis: { cluster: clusters.redis, hosts: hostsOf("redis").map((h) => h.hostName), ports: REDIS_PORTS } } : {}),
    ...(hostsOf("elasticsearch").length ? { elasticsearch: { cluster: clusters.elasticsearch, hosts: hostsOf("elasticsearch").map((h) => h.hostName) } } : {}),
    ...(hostsOf("database").length && db ? { database: { host: hostsOf("database")[0].hostName, engine: db.engine } } : {}),
    // the areas add their backup steps exactly when ctx.backup is set (stacks/database.ts, redis.ts)
    ...(ctx.backup ? {
      backups: backupJobs({
        ...(hostsOf("database").length && db ? { database: { host: hostsOf("database")[0].hostName, intervalHours: ctx.backup.config.database.intervalHours, recoveryPointMinutes: ctx.backup.config.database.recoveryPointMinutes } } : {}),
        ...(hostsOf("redis").length ? { redis: { hosts: hostsOf("redis").map((h) => h.hostName), intervalHours: ctx.backup.config.redis.intervalHours } } : {}),
        // the first master (stacks/elk.ts adds the masters first) publishes the SLM status
        ...(hostsOf("elasticsearch").length ? { elasticsearch: { host: hostsOf("elasticsearch")[0].hostName, intervalHours: ctx.backup.config.elasticsearch.intervalHours } } : {}),
      }),
    } : {}),
    // hosts keep data on EBS volumes: EC2 recovers them in place on a system failure, where the type allows it
    hosts: monitoredHosts(all.map((h) => ({ name: h.hostName, instanceId: h.instance.id, mounts: ["/", ...h.mountPoints], instanceType: inventory.instanceTypes.get(h)! }))),
  };

  const monitoring = new Monitoring(`${ctx.prefix}-monitoring`, {
    monitored,
    thresholds: resolveThresholds(c),
    region,
    emails: c.alerts.emails,
    httpsEndpoints: c.alerts.httpsEndpoints,
    tags: ctx.tags,
    // the known-nodes threshold follows the cluster step: raised once new nodes have joined (a failed step keeps the old one)
    // (the cluster state and slot counts are not ok before the cluster step formed the cluster)
    alarmsAfter: inventory.settledBy.has("redis")
      ? Object.fromEntries((["redis-known-nodes", "redis-cluster-state", "redis-slots-unassigned"] as const).map((k) => [k, [inventory.settledBy.get("redis")!]]))
      : {},
    hostsReady,
  }, ctx.opts);
  return {
    alertsTopicArn: monitoring.topicArn,
    dashboardName: monitoring.dashboardName,
    alarmNames: monitoring.alarmSpecs.map((a) => a.name).sort(),
  };
}
