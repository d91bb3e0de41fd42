/**
 * The health-check step of a host: the checker script, the host's config file and the schedule
 * (a systemd timer every minute on EC2; a cron file on other hosts without systemd; nothing is
 * installed on a local test host, whose /etc/systemd and /etc/cron.d belong to the real machine).
 * Everything lands in a root-only directory beside the system's own configuration.
 */
import { installTimerJobsScript, renderTimerJobFiles, type TimerJob } from "../common/timer-job";
import type { RenderedFile, RenderedStep } from "../common/types";
import { REDIS_AUTH_FILE } from "../redis/steps";
import { ES_OPS } from "../elasticsearch/node-config";
import { PATHS, SCRIPT_PATHS, type DatabaseEngine } from "../database/options";
import { HEALTH_CHECKER_SCRIPT } from "./checker-script";
import { hostMetricsNamespace } from "./namespace";
import type { CheckSection } from "./metrics";

export type HealthGroup = "redis" | "elasticsearch" | "logstash" | "database" | "bastion";

/** Where each group keeps its checker (a directory that is private to a local test host as well). */
export const HEALTH_DIRS: Record<HealthGroup, string> = {
  redis: "/etc/redis/opsfleet-health",
  elasticsearch: "/etc/elasticsearch/opsfleet-health",
  logstash: "/etc/logstash/opsfleet-health",
  database: `${PATHS.opsDir}/health`,
  // the bastion runs only sshd: beside its configuration
  bastion: "/etc/ssh/opsfleet-health",
};

export const HEALTH_UNIT = "opsfleet-health";
/** Without a dot: cron ignores /etc/cron.d files whose names contain one. */
export const HEALTH_CRON_FILE = `/etc/cron.d/${HEALTH_UNIT}`;
export const HEALTH_LOG = "/var/log/opsfleet-health.log";

export interface HealthCheckParams {
  group: HealthGroup;
  /** Stack name: the `Stack` dimension, and the namespace `hostMetricsNamespace(stack)`. */
  stack: string;
  /** The host's resource name: the `Host` dimension. */
  host: string;
  region: string;
  /** CloudWatch endpoint override (tests: a local stand-in). @default the region's endpoint */
  endpointUrl?: string;
  /** File systems whose use is published. */
  diskMounts: string[];
  redis?: { cluster: string; ports: readonly number[]; authFile?: string };
  elasticsearch?: { cluster: string; url: string; curlrc?: string };
  database?: { engine: DatabaseEngine; keyFile: string; clientCnf?: string };
}

const DIMENSION_VALUE = /^[A-Za-z0-9._:/@+=-]{1,255}$/;
const PATH = /^\/[A-Za-z0-9._/@+-]*$/;
const URL_RE = /^https?:\/\/[A-Za-z0-9.:[\]-]+(:\d+)?(\/[A-Za-z0-9._/-]*)?$/;

/** Validates what ends up in the config file (sourced by bash): names, paths, URLs only. */
function check(p: HealthCheckParams): void {
  const fail = (key: string, got: unknown, allowed: string) => {
    throw new Error(`health check ${p.host}: ${key}: got ${JSON.stringify(got)}; allowed: ${allowed}`);
  };
  for (const [k, v] of [["stack", p.stack], ["host", p.host], ["redis.cluster", p.redis?.cluster], ["elasticsearch.cluster", p.elasticsearch?.cluster]] as const) {
    if (v !== undefined && !DIMENSION_VALUE.test(v)) fail(k, v, "letters, digits and ._:/@+=- (a CloudWatch dimension value)");
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(p.region)) fail("region", p.region, "an AWS region such as eu-west-1");
  if (p.endpointUrl !== undefined && !URL_RE.test(p.endpointUrl)) fail("endpointUrl", p.endpointUrl, "an http(s) URL");
  if (p.elasticsearch && !URL_RE.test(p.elasticsearch.url)) fail("elasticsearch.url", p.elasticsearch.url, "an http(s) URL");
  for (const m of p.diskMounts) if (!PATH.test(m)) fail("diskMounts", m, "absolute paths");
  for (const f of [p.redis?.authFile, p.elasticsearch?.curlrc, p.database?.keyFile, p.database?.clientCnf]) {
    if (f !== undefined && !PATH.test(f)) fail("file", f, "an absolute path");
  }
}

export function healthSections(p: HealthCheckParams): CheckSection[] {
  return ["disk", ...(p.redis ? ["redis" as const] : []), ...(p.elasticsearch ? ["elasticsearch" as const] : []), ...(p.database ? ["database" as const] : [])];
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function renderHealthConf(p: HealthCheckParams): string {
  check(p);
  const lines = [
    "# opsfleet host health checker (provision/monitoring): rendered, do not edit on the host",
    `NAMESPACE=${q(hostMetricsNamespace(p.stack))}`,
    `REGION=${q(p.region)}`,
    `ENDPOINT_URL=${q(p.endpointUrl ?? "")}`,
    `STACK=${q(p.stack)}`,
    `HOST=${q(p.host)}`,
    `SECTIONS=${q(healthSections(p).join(" "))}`,
    `DISK_MOUNTS=${q(p.diskMounts.join(" "))}`,
  ];
  if (p.redis) {
    lines.push(`REDIS_CLUSTER=${q(p.redis.cluster)}`, `REDIS_PORTS=${q(p.redis.ports.join(" "))}`, `REDIS_AUTH_FILE=${q(p.redis.authFile ?? REDIS_AUTH_FILE)}`);
  }
  if (p.elasticsearch) {
    lines.push(`ES_CLUSTER=${q(p.elasticsearch.cluster)}`, `ES_URL=${q(p.elasticsearch.url)}`, `ES_CURLRC=${q(p.elasticsearch.curlrc ?? `${ES_OPS}/elastic.curlrc`)}`);
  }
  if (p.database) {
    lines.push(
      `DB_ENGINE=${q(p.database.engine)}`,
      `DB_CLIENT=${q(p.database.engine === "mariadb" ? "mariadb" : "mysql")}`,
      `DB_CLIENT_CNF=${q(p.database.clientCnf ?? SCRIPT_PATHS.rootClientCnf)}`,
      `DB_KEY_FILE=${q(p.database.keyFile)}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** The command the timer (and the cron file) runs every minute. */
export const healthCommand = (group: HealthGroup) => `${HEALTH_DIRS[group]}/check ${HEALTH_DIRS[group]}/health.conf`;

function healthJob(group: HealthGroup): TimerJob {
  return {
    unit: HEALTH_UNIT,
    description: "publish this host's health metrics to CloudWatch every minute",
    command: healthCommand(group),
    log: HEALTH_LOG,
    journal: true,
    after: "network-online.target",
    timer: ["OnBootSec=1min", "OnUnitActiveSec=1min", "AccuracySec=5s"],
    cron: "* * * * *",
    // one run must never overlap the next or pile up when CloudWatch is slow
    service: ["TimeoutStartSec=50", "Nice=5"],
  };
}

export function renderHealthFiles(p: HealthCheckParams): RenderedFile[] {
  const dir = HEALTH_DIRS[p.group];
  return [
    { path: `${dir}/check`, content: HEALTH_CHECKER_SCRIPT, mode: "0700" },
    { path: `${dir}/health.conf`, content: renderHealthConf(p), mode: "0600" },
    ...renderTimerJobFiles(dir, healthJob(p.group)),
  ];
}

export function renderHealthInstallScript(group: HealthGroup): string {
  return `chmod 0700 ${HEALTH_DIRS[group]}
if [ ! -x /usr/bin/aws ]; then
  for i in 1 2 3 4 5; do
    if apt-get update -q && apt-get install -y -q --no-install-recommends awscli; then break; fi
    [ "$i" -lt 5 ] || { echo "apt-get install awscli failed 5 times" >&2; exit 1; }
    sleep 10
  done
fi
${installTimerJobsScript(HEALTH_DIRS[group], [{ unit: HEALTH_UNIT }])}
echo "health checks every minute; on demand: ${healthCommand(group)}"`;
}

/** The step that installs and schedules the checker on a host. */
export function renderHealthStep(p: HealthCheckParams): RenderedStep {
  return {
    name: "health-checks",
    description: `health metrics every minute to CloudWatch (${healthSections(p).join(", ")})`,
    files: renderHealthFiles(p),
    script: renderHealthInstallScript(p.group),
  };
}
