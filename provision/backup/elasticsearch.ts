/**
 * Elasticsearch snapshots: the S3 repository (the `repository-s3` module built into Elasticsearch 8;
 * on EC2 it uses the instance profile's credentials, so no keystore entries), a snapshot lifecycle
 * (SLM) policy, and the restore calls. Plain `EsRequest`s: the provisioning step renders them to
 * curl, the tests send them through the official client, so the two cannot drift.
 */
import type { RenderedFile, RenderedStep } from "../common/types";
import { ES_OPS } from "../elasticsearch/node-config";
import { renderCurlScript, type EsRequest } from "../elasticsearch/es-requests";
import { renderJobFiles, slmCron, type BackupJob, type IntervalSchedule } from "./schedule";
import { AWS_HELPERS, renderTargetEnv, type BackupEndpoints } from "./target";
import { installTimerJobsScript } from "../common/timer-job";

export const ES_REPOSITORY = "opsfleet-s3";
export const ES_SLM_POLICY = "opsfleet-snapshots";

export interface EsSnapshotOptions {
  bucket: string;
  /** Key prefix of the repository, e.g. "elasticsearch/dev-es" (S3 must not expire it: SLM does). */
  basePath: string;
  schedule: IntervalSchedule;
  /** SLM deletes snapshots older than this. */
  expireAfterDays: number;
  minCount: number;
  maxCount: number;
  /**
   * Where the snapshot status goes: a job on this node reads the SLM policy's last success and
   * failure and publishes BackupSuccess and LastGoodBackupAgeSeconds (System=elasticsearch, Job=slm)
   * like every backup job, so the overdue and failed alarms cover snapshots too.
   */
  status?: { region: string; hostLabel: string; metricNamespace: string; endpoints?: BackupEndpoints };
}

export const ES_BACKUP_DIR = `${ES_OPS}/backup`;
export const ES_BACKUP_PATHS = {
  conf: `${ES_BACKUP_DIR}/backup.conf`,
  slmStatus: `${ES_BACKUP_DIR}/slm-status`,
  scheduleDir: `${ES_BACKUP_DIR}/schedule`,
  log: "/var/log/elasticsearch/opsfleet-slm-status.log",
} as const;
/** The status job runs this often (minutes): well inside any snapshot interval plus its late margin. */
export const SLM_STATUS_EVERY_MINUTES = 15;

export function checkEsSnapshotOptions(o: EsSnapshotOptions): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(o.bucket)) throw new Error(`elasticsearch snapshots bucket: invalid value ${JSON.stringify(o.bucket)} (allowed: an S3 bucket name)`);
  if (!/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/i.test(o.basePath)) throw new Error(`elasticsearch snapshots basePath: invalid value ${JSON.stringify(o.basePath)} (allowed: a key prefix without leading or trailing slash)`);
  if (!Number.isInteger(o.minCount) || !Number.isInteger(o.maxCount) || o.minCount < 1 || o.minCount > o.maxCount) {
    throw new Error(`backup.elasticsearch.minCount: ${o.minCount} must be a whole number from 1 to maxCount (${o.maxCount}); SLM rejects it`);
  }
  if (!Number.isInteger(o.expireAfterDays) || o.expireAfterDays < 1) throw new Error(`backup.elasticsearch.expireAfterDays: invalid value ${o.expireAfterDays} (allowed: whole days >= 1)`);
}

/** Register (idempotent PUT) and verify the repository, then the SLM policy. */
export function snapshotSetupRequests(o: EsSnapshotOptions): EsRequest[] {
  checkEsSnapshotOptions(o);
  return [
    {
      method: "PUT", path: `/_snapshot/${ES_REPOSITORY}`, summary: `S3 snapshot repository in s3://${o.bucket}/${o.basePath}`,
      // compress: metadata files; the bucket's default SSE-KMS encrypts every object
      body: { type: "s3", settings: { bucket: o.bucket, base_path: o.basePath, compress: true } },
    },
    { method: "POST", path: `/_snapshot/${ES_REPOSITORY}/_verify`, summary: "every node can write to the repository" },
    {
      method: "PUT", path: `/_slm/policy/${ES_SLM_POLICY}`, summary: `snapshot every ${o.schedule.intervalHours} h from ${o.schedule.startTime} UTC`,
      body: {
        schedule: slmCron("backup.elasticsearch", o.schedule),
        name: "<opsfleet-{now/d}-{now{HH.mm}}>",
        repository: ES_REPOSITORY,
        config: { indices: ["*"], include_global_state: true, ignore_unavailable: false, partial: false },
        retention: { expire_after: `${o.expireAfterDays}d`, min_count: o.minCount, max_count: o.maxCount },
      },
    },
  ];
}

/** An operator's snapshot now (the SLM policy run on demand) and the listing. */
export function snapshotNowRequests(): EsRequest[] {
  return [
    { method: "POST", path: `/_slm/policy/${ES_SLM_POLICY}/_execute`, summary: "take a snapshot now (the policy, on demand)" },
    { method: "GET", path: `/_snapshot/${ES_REPOSITORY}/_all`, summary: "list the snapshots" },
  ];
}

/**
 * Restore: indices from a snapshot into a cluster where they do not exist (a new cluster, or after
 * closing/deleting them). `renamePrefix` restores beside the live indices instead.
 */
export function restoreRequests(snapshot: string, o: { indices?: string; renamePrefix?: string } = {}): EsRequest[] {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(snapshot)) throw new Error(`snapshot: invalid name ${JSON.stringify(snapshot)}`);
  return [
    {
      method: "POST", path: `/_snapshot/${ES_REPOSITORY}/${snapshot}/_restore`, querystring: { wait_for_completion: "true" },
      summary: `restore ${o.indices ?? "every data stream and index"} from ${snapshot}`, timeoutSeconds: 3600,
      body: {
        indices: o.indices ?? "*,-.*", include_global_state: false, include_aliases: true,
        ...(o.renamePrefix ? { rename_pattern: "(.+)", rename_replacement: `${o.renamePrefix}$1` } : {}),
      },
    },
    { method: "GET", path: "/_cluster/health", querystring: { wait_for_status: "green", timeout: "30m" }, summary: "restored shards allocated", timeoutSeconds: 1900, expectGreen: true },
  ];
}

/**
 * `slm-status`: GET _slm/policy/<id> and publish the last snapshot's outcome and the age of the last
 * good one (SLM's last_success / last_failure times, epoch ms). Nothing before the first run.
 */
export function renderSlmStatusScript(esUrl: string): string {
  return `#!/usr/bin/env bash
# opsfleet (provision/backup): publish the Elasticsearch snapshot (SLM) status as backup metrics
set -euo pipefail
umask 077
. ${ES_BACKUP_PATHS.conf}
${AWS_HELPERS}
body=$(curl -sS --fail -K ${ES_OPS}/elastic.curlrc "${esUrl}/_slm/policy/${ES_SLM_POLICY}") || { metric elasticsearch slm 0 ""; die "cannot read SLM policy ${ES_SLM_POLICY}"; }
# "last_success":{"snapshot_name":"...","start_time":...,"time":<ms>}: the time of the outcome
when() { printf '%s' "$body" | tr -d '\\n ' | grep -o "\\"$1\\":{[^}]*}" | grep -o '"time":[0-9]*' | head -n 1 | cut -d: -f2 || true; }
ok_ms=$(when last_success); fail_ms=$(when last_failure)
last_good=""; [ -z "$ok_ms" ] || last_good=$((ok_ms / 1000))
if [ -z "$ok_ms" ] && [ -z "$fail_ms" ]; then
  # no snapshot yet: the overdue clock runs from the policy's creation (no run to report), and the
  # first snapshot is taken now rather than at the first scheduled slot
  mod_ms=$(printf '%s' "$body" | tr -d '\n ' | grep -o '"modified_date_millis":[0-9]*' | head -n 1 | cut -d: -f2 || true)
  [ -z "$mod_ms" ] || metric elasticsearch slm "" "$((mod_ms / 1000))"
  if [ ! -e ${ES_BACKUP_PATHS.scheduleDir}/first-snapshot ]; then
    curl -sS --fail -K ${ES_OPS}/elastic.curlrc -X POST "${esUrl}/_slm/policy/${ES_SLM_POLICY}/_execute" >/dev/null && date +%s > ${ES_BACKUP_PATHS.scheduleDir}/first-snapshot && log "no snapshot yet: first snapshot started"
  else
    log "no snapshot yet (first one started $(date -u -d "@$(cat ${ES_BACKUP_PATHS.scheduleDir}/first-snapshot)" +%FT%TZ))"
  fi
  exit 0
fi
if [ -n "$ok_ms" ] && { [ -z "$fail_ms" ] || [ "$fail_ms" -lt "$ok_ms" ]; }; then
  metric elasticsearch slm 1 "$last_good"
  log "last snapshot good ($(date -u -d "@$last_good" +%FT%TZ))"
else
  metric elasticsearch slm 0 "$last_good"
  log "ERROR: the last snapshot failed ($(date -u -d "@$((fail_ms / 1000))" +%FT%TZ)); see GET _slm/policy/${ES_SLM_POLICY}" >&2
fi`;
}

export function slmStatusJob(): BackupJob {
  return { unit: "opsfleet-es-slm-status", description: "publish the snapshot (SLM) status", command: ES_BACKUP_PATHS.slmStatus, log: ES_BACKUP_PATHS.log,
    after: "elasticsearch.service", when: { everyMinutes: SLM_STATUS_EVERY_MINUTES } };
}

/** First master, once the cluster is secured: repository + SLM policy (+ the status job). */
export function renderEsSnapshotStep(o: EsSnapshotOptions, esUrl: string): RenderedStep {
  const calls = renderCurlScript(snapshotSetupRequests(o), { bodyDir: `${ES_OPS}/requests/snapshots`, esUrl, curlrc: `${ES_OPS}/elastic.curlrc` });
  const status: RenderedFile[] = o.status
    ? [
        { path: ES_BACKUP_PATHS.conf, mode: "0600", content: renderTargetEnv({ bucket: o.bucket, prefix: o.basePath, ...o.status }) },
        { path: ES_BACKUP_PATHS.slmStatus, mode: "0700", content: `${renderSlmStatusScript(esUrl)}\n` },
        ...renderJobFiles(ES_BACKUP_PATHS.scheduleDir, slmStatusJob()),
      ]
    : [];
  return {
    name: "elasticsearch-snapshots",
    description: `snapshot repository ${ES_REPOSITORY} (s3://${o.bucket}/${o.basePath}) and SLM policy ${ES_SLM_POLICY} (every ${o.schedule.intervalHours} h from ${o.schedule.startTime} UTC, ${o.expireAfterDays} days, ${o.minCount}-${o.maxCount} snapshots)${o.status ? `; status metrics every ${SLM_STATUS_EVERY_MINUTES} min` : ""}`,
    files: [...calls.files, ...status],
    script: o.status
      ? `${calls.script}
command -v aws >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q awscli; }
chmod 0700 ${ES_BACKUP_DIR}
${installTimerJobsScript(ES_BACKUP_PATHS.scheduleDir, [slmStatusJob()])}`
      : calls.script,
  };
}
