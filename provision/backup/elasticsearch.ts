/**
 * Elasticsearch snapshots: the S3 repository (the `repository-s3` module built into Elasticsearch 8;
 * on EC2 it uses the instance profile's credentials, so no keystore entries), a snapshot lifecycle
 * (SLM) policy, and the restore calls. Plain `EsRequest`s: the provisioning step renders them to
 * curl, the tests send them through the official client, so the two cannot drift.
 */
import type { RenderedStep } from "../common/types";
import { ES_OPS } from "../elasticsearch/node-config";
import { renderCurlScript, type EsRequest } from "../elasticsearch/es-requests";
import { slmCron, type IntervalSchedule } from "./schedule";

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
}

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

/** First master, once the cluster is secured: repository + SLM policy. */
export function renderEsSnapshotStep(o: EsSnapshotOptions, esUrl: string): RenderedStep {
  const calls = renderCurlScript(snapshotSetupRequests(o), { bodyDir: `${ES_OPS}/requests/snapshots`, esUrl, curlrc: `${ES_OPS}/elastic.curlrc` });
  return {
    name: "elasticsearch-snapshots",
    description: `snapshot repository ${ES_REPOSITORY} (s3://${o.bucket}/${o.basePath}) and SLM policy ${ES_SLM_POLICY} (every ${o.schedule.intervalHours} h from ${o.schedule.startTime} UTC, ${o.expireAfterDays} days, ${o.minCount}-${o.maxCount} snapshots)`,
    files: calls.files,
    script: calls.script,
  };
}
