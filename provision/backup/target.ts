/**
 * Where a host's backups go and how its scripts talk to AWS: the stack's backup bucket (this
 * host's own prefix only), the key store (SSM Parameter Store), CloudWatch for the "last good
 * backup" metrics. Rendered into a root-only config file that every backup script sources; the
 * AWS CLI (Debian's `awscli`) uses the instance profile on EC2. `endpoints` exist for the host
 * tests, which point the same scripts at local stand-ins on the lab bridge.
 */

export interface BackupEndpoints {
  s3?: string;
  ssm?: string;
  cloudwatch?: string;
}

export interface BackupTarget {
  /** The stack's backup bucket. */
  bucket: string;
  /** This host's key prefix in the bucket, `<system>/<stack>-<name>`, e.g. "database/dev-db" (its role may write nowhere else). */
  prefix: string;
  region: string;
  /** Value of the `Host` metric dimension (the Pulumi host name). */
  hostLabel: string;
  /** CloudWatch namespace of the backup metrics: the stack's `hostMetricsNamespace`, the only one its host roles may write to. */
  metricNamespace: string;
  /** Endpoint URLs of local stand-ins (tests only); unset on AWS. */
  endpoints?: BackupEndpoints;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/i;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const LABEL = /^[A-Za-z0-9._-]{1,128}$/;
const URL_RE = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;

function fail(key: string, value: unknown, allowed: string): never {
  throw new Error(`backup target ${key}: invalid value ${JSON.stringify(value)} (allowed: ${allowed})`);
}

export function checkBackupTarget(t: BackupTarget): Required<Omit<BackupTarget, "endpoints">> & { endpoints: BackupEndpoints } {
  if (!BUCKET.test(t.bucket)) fail("bucket", t.bucket, "an S3 bucket name: 3-63 lower-case letters, digits, . and -");
  if (!PREFIX.test(t.prefix)) fail("prefix", t.prefix, "a key prefix without leading or trailing slash, e.g. database/dev-db");
  if (!REGION.test(t.region)) fail("region", t.region, "an AWS region such as eu-west-1");
  if (!LABEL.test(t.hostLabel)) fail("hostLabel", t.hostLabel, "letters, digits, . _ -");
  const ns = t.metricNamespace;
  if (!/^[A-Za-z0-9./_#:-]{1,255}$/.test(ns)) fail("metricNamespace", ns, "a CloudWatch namespace such as Opsfleet/Hosts/dev");
  for (const [k, v] of Object.entries(t.endpoints ?? {})) {
    if (v !== undefined && !URL_RE.test(v)) fail(`endpoints.${k}`, v, "http(s)://host[:port]");
  }
  return { ...t, metricNamespace: ns, endpoints: t.endpoints ?? {} };
}

/** The root-only `KEY=value` file the scripts source (values are validated: no quoting needed). */
export function renderTargetEnv(t: BackupTarget, extra: Record<string, string | number> = {}): string {
  const c = checkBackupTarget(t);
  const vars: Record<string, string | number> = {
    BUCKET: c.bucket,
    PREFIX: c.prefix,
    AWS_DEFAULT_REGION: c.region,
    HOST_LABEL: c.hostLabel,
    METRIC_NAMESPACE: c.metricNamespace,
    S3_ENDPOINT: c.endpoints.s3 ?? "",
    SSM_ENDPOINT: c.endpoints.ssm ?? "",
    CLOUDWATCH_ENDPOINT: c.endpoints.cloudwatch ?? "",
    ...extra,
  };
  for (const [k, v] of Object.entries(vars)) {
    if (!/^[A-Za-z0-9_./:@+,=-]*$/.test(String(v))) throw new Error(`backup setting ${k}: value ${JSON.stringify(v)} has characters a config file cannot carry unquoted`);
  }
  return ["# opsfleet (provision/backup): rendered, do not edit on the host", ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ""].join("\n");
}

/**
 * Bash helpers every backup script starts with (after sourcing its config): the AWS CLI per
 * service (with the test endpoint when one is set), and the metrics each run publishes:
 * `BackupSuccess` (1/0) and `LastGoodBackupAgeSeconds`, dimensions System/Job/Host, so an alarm
 * on a missing or old value fires when backups stop.
 */
export const AWS_HELPERS = String.raw`export AWS_DEFAULT_REGION AWS_PAGER=""
s3() { aws ${"$"}{S3_ENDPOINT:+--endpoint-url "$S3_ENDPOINT"} s3 "$@"; }
s3api() { aws ${"$"}{S3_ENDPOINT:+--endpoint-url "$S3_ENDPOINT"} s3api "$@"; }
ssm() { aws ${"$"}{SSM_ENDPOINT:+--endpoint-url "$SSM_ENDPOINT"} ssm "$@"; }
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*"; }
die() { log "ERROR: $*" >&2; exit 1; }
# metric SYSTEM JOB SUCCESS(1|0, or empty: no run to report) LAST_GOOD_EPOCH(or empty): never fails the run that calls it
metric() {
  local now age dims data=""
  now=$(date +%s)
  dims="[{\"Name\":\"System\",\"Value\":\"$1\"},{\"Name\":\"Job\",\"Value\":\"$2\"},{\"Name\":\"Host\",\"Value\":\"$HOST_LABEL\"}]"
  [ -z "$3" ] || data="{\"MetricName\":\"BackupSuccess\",\"Dimensions\":$dims,\"Value\":$3,\"Unit\":\"Count\"}"
  if [ -n "${"$"}{4:-}" ]; then age=$((now - $4)); data="${"$"}{data:+$data,}{\"MetricName\":\"LastGoodBackupAgeSeconds\",\"Dimensions\":$dims,\"Value\":$age,\"Unit\":\"Seconds\"}"; fi
  [ -n "$data" ] || return 0
  data="[$data]"
  aws ${"$"}{CLOUDWATCH_ENDPOINT:+--endpoint-url "$CLOUDWATCH_ENDPOINT"} cloudwatch put-metric-data --namespace "$METRIC_NAMESPACE" --metric-data "$data" >/dev/null 2>&1 \
    || log "WARNING: could not publish the backup metrics to CloudWatch"
}`;
