/**
 * Redis Cluster backups: on a schedule every host snapshots each master it runs (BGSAVE), and
 * uploads the RDB (zstd) with a record of the slots that master served under ITS OWN prefix (its
 * role may write nowhere else), into one "set" named by the schedule slot, so the hosts' uploads of
 * one run share the set's name:
 *   s3://<bucket>/<cluster prefix>/<host>/<set>/<ip>-<port>.rdb.zst + <ip>-<port>.meta
 * `restore-rdb` rebuilds any healthy, EMPTY cluster — same or another host count — from a set
 * (gathered from every host's prefix, including hosts since removed, and from sets written before
 * per-host prefixes, `<cluster prefix>/<set>/`) whose slot records cover all 16384 slots: each RDB
 * is loaded into a temporary standalone redis-server on 127.0.0.1 and
 * `redis-cli --cluster import --cluster-copy` MIGRATEs every key (TTL kept) to the master that owns
 * its slot in the new cluster.
 */
import type { RenderedFile, RenderedStep } from "../common/types";
import { REDIS_AUTH_FILE } from "../redis/steps";
import { REDIS_PORTS, redisPaths } from "../redis/conf";
import { AWS_HELPERS, renderTargetEnv, type BackupTarget } from "./target";
import { renderJobFiles, scheduledRunBash, type BackupJob, type IntervalSchedule } from "./schedule";
import { installTimerJobsScript } from "../common/timer-job";

export interface RedisBackupOptions {
  /** `target.prefix` is this host's own prefix, `redisHostBackupPrefix(clusterPrefix, host)`. */
  target: BackupTarget;
  /** The cluster's prefix, e.g. "redis/dev-redis": a restore reads every host's sets under it. */
  clusterPrefix: string;
  /** The host's private IP (names its files in a set, and is where its nodes listen). */
  privateIp: string;
  schedule: IntervalSchedule;
}

/** A Redis host's own prefix (the only one its role may write): `<cluster prefix>/<host name>`. */
export function redisHostBackupPrefix(clusterPrefix: string, hostName: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(hostName)) throw new Error(`Redis backup host name ${JSON.stringify(hostName)}: allowed: letters, digits, . _ - (it names a prefix level)`);
  return `${clusterPrefix}/${hostName}`;
}

export const REDIS_BACKUP_DIR = "/etc/redis/opsfleet-backup";
export const REDIS_BACKUP_PATHS = {
  conf: `${REDIS_BACKUP_DIR}/backup.conf`,
  backup: `${REDIS_BACKUP_DIR}/backup-rdb`,
  restore: `${REDIS_BACKUP_DIR}/restore-rdb`,
  scheduleDir: `${REDIS_BACKUP_DIR}/schedule`,
  log: "/var/log/redis/backup.log",
  /** Scratch space for restores, on the data volume. */
  work: "/var/lib/redis/opsfleet-restore",
} as const;

const header = (what: string) => `#!/usr/bin/env bash
# opsfleet (provision/backup): ${what}
set -euo pipefail
umask 077
. ${REDIS_BACKUP_PATHS.conf}
${AWS_HELPERS}
REDISCLI_AUTH=$(cat ${REDIS_AUTH_FILE}); export REDISCLI_AUTH
rcli() { local a=$1; shift; redis-cli --no-auth-warning -h "\${a%:*}" -p "\${a##*:}" "$@" | tr -d '\\r'; }
field() { awk -F: -v k="$1" '$1 == k { print $2; exit }'; }`;

export function renderRedisBackupScript(o: RedisBackupOptions): string {
  return `${header("RDB snapshot of every master on this host to the backup bucket")}
usage() { echo "usage: $0 [--set NAME]" >&2; exit 2; }
set_name=""
case "\${1:-}" in --set) set_name=\${2:?--set needs a name} ;; "") ;; *) usage ;; esac
# one set per scheduled run: every host's run of it lands in the same set, however late its timer fired
${scheduledRunBash("backup.redis", o.schedule)}
[ -n "$set_name" ] || set_name=$(date -u -d "@$(scheduled_run "$(date +%s)")" +%Y%m%dT%H%MZ)
ok=0; now=$(date +%s)
work=$(mktemp -d /tmp/opsfleet-rdb.XXXXXX); trap 'rm -rf "$work"; [ "$ok" = 1 ] || metric redis rdb 0 ""' EXIT
saved=0
for port in ${REDIS_PORTS.join(" ")}; do
  a="$BIND_IP:$port"
  [ "$(rcli "$a" role | head -n 1)" = master ] || continue
  slots=$(rcli "$a" cluster nodes | awk '$3 ~ /myself/ { s = ""; for (i = 9; i <= NF; i++) if ($i !~ /^\\[/) s = s (s ? "," : "") $i; print s }')
  [ -n "$slots" ] || continue # a master without slots holds no data
  before=$(rcli "$a" info persistence | field rdb_saves)
  rcli "$a" bgsave schedule >/dev/null
  end=$((SECONDS + 600))
  until p=$(rcli "$a" info persistence) && [ "$(printf '%s\\n' "$p" | field rdb_saves)" -gt "$before" ] && [ "$(printf '%s\\n' "$p" | field rdb_bgsave_in_progress)" = 0 ]; do
    [ "$SECONDS" -lt "$end" ] || die "$a: BGSAVE did not finish within 600 s"
    sleep 0.2
  done
  [ "$(printf '%s\\n' "$p" | field rdb_last_bgsave_status)" = ok ] || die "$a: BGSAVE failed (see ${redisPaths(7000).logfile.replace("7000", "$port")})"
  dir=$(rcli "$a" config get dir | sed -n 2p)
  zstd -q -3 < "$dir/dump.rdb" > "$work/$BIND_IP-$port.rdb.zst"
  # keys at about the snapshot's time (informational: the restore counts what the RDB holds)
  { echo "keys=$(rcli "$a" dbsize)"; echo "slots=$slots"; echo "saved=$(date +%s)"; } > "$work/$BIND_IP-$port.meta"
  saved=$((saved + 1))
done
if [ "$saved" -gt 0 ]; then
  # one call for every file of this host (the AWS CLI starts slowly)
  s3 cp --recursive "$work/" "s3://$BUCKET/$PREFIX/$set_name/" --only-show-errors || die "upload to s3://$BUCKET/$PREFIX/$set_name/ failed"
fi
ok=1
metric redis rdb 1 "$now"
log "set $set_name: $saved master snapshot(s) of $BIND_IP uploaded"`;
}

/** Names of scheduled sets (the run's time, UTC): what a restore without --set chooses from, newest first. */
export const SCHEDULED_SET_ERE = "^[0-9]{8}T[0-9]{4}Z$";

export function renderRedisRestoreScript(): string {
  return `${header("rebuild an empty Redis Cluster from an RDB set in the backup bucket")}
usage() { echo "usage: $0 [--set NAME] --yes   (run on one host of a healthy, empty cluster)" >&2; exit 2; }
set_name=""; yes=0
while [ $# -gt 0 ]; do case "$1" in --set) set_name=\${2:?}; shift 2 ;; --yes) yes=1; shift ;; *) usage ;; esac; done
[ "$yes" = 1 ] || usage
entry="$BIND_IP:${REDIS_PORTS[0]}"
[ "$(rcli "$entry" cluster info | field cluster_state)" = ok ] || die "the cluster is not healthy (cluster_state != ok): create it first (provisioning does)"
masters=$(rcli "$entry" cluster nodes | awk '$3 ~ /master/ && $3 !~ /fail/ && NF >= 9 { split($2, x, "@"); print x[1] }')
held=0; for m in $masters; do held=$((held + $(rcli "$m" dbsize))); done
# data is sacred: never mix a restore into live keys
[ "$held" = 0 ] || die "the cluster holds $held keys: a restore goes into an empty cluster only"
work=${REDIS_BACKUP_PATHS.work}
rm -rf "$work"; install -d -o redis -g redis -m 0700 "$work"; trap 'for f in "$work"/*/redis.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; rm -rf "$work"' EXIT
local_cli() { env -u REDISCLI_AUTH redis-cli -p "$port" "$@" | tr -d '\r'; }
# redis-cli 7.0's --cluster import pastes the password into a format string: refuse what it would mangle
case "$REDISCLI_AUTH" in *%*|*" "*|*'"'*|*"'"*|*\\\\*) die "the Redis password contains %, a space, a quote or a backslash, which redis-cli --cluster import (7.0) mangles; rotate it to one without them (opsfleet:redisPassword allows none but %), then restore" ;; esac
# the newest set whose slot records cover all 16384 slots (or the one named)
covered() { awk -F'[=,]' '/^slots=/ { for (i = 2; i <= NF; i++) { n = split($i, r, "-"); a = r[1]; b = (n > 1 ? r[2] : r[1]); for (s = a; s <= b; s++) seen[s] = 1 } } END { c = 0; for (s in seen) c++; print c }' "$@"; }
# one listing of the cluster's prefix: <host>/<set>/<file> (and <set>/<file> from before per-host prefixes)
listing=$({ s3 ls --recursive "s3://$BUCKET/$CLUSTER_PREFIX/" || true; } | awk -v p="$CLUSTER_PREFIX/" 'index($4, p) == 1 { k = substr($4, length(p) + 1); n = split(k, a, "/"); if (n == 3) print a[2]; else if (n == 2) print a[1] }' | sort -ru)
candidates=$set_name
# without --set, only the scheduled sets (named by their run's time): a set named by hand
# (backup-rdb --set pre-upgrade) must never shadow newer scheduled ones; restore it with --set
if [ -z "$candidates" ]; then
  candidates=$(printf '%s\n' $listing | grep -E '${SCHEDULED_SET_ERE}' || true)
  hand=$(printf '%s\n' $listing | grep -vE '${SCHEDULED_SET_ERE}' | paste -sd' ' - || true)
  [ -z "$hand" ] || log "sets named by hand, restored only with --set NAME: $hand"
fi
chosen=""; newest=""
for c in $candidates; do
  [ -n "$newest" ] || newest=$c
  rm -rf "$work/set"; mkdir -p "$work/set"
  # every host's files of the set in one call (the AWS CLI starts slowly)
  s3 cp --recursive "s3://$BUCKET/$CLUSTER_PREFIX/" "$work/set/" --exclude "*" --include "$c/*" --include "*/$c/*" --only-show-errors || continue
  metas=$(find "$work/set" -name '*.meta' | sort)
  [ -n "$metas" ] || continue
  if [ "$(covered $metas)" = 16384 ]; then chosen=$c; break; fi
  log "set $c covers $(covered $metas) of 16384 slots: skipped"
done
[ -n "$chosen" ] || die "no complete RDB set in s3://$BUCKET/$CLUSTER_PREFIX/\${set_name:+ named $set_name}"
if [ "$chosen" != "$newest" ]; then
  log "WARNING: the newest set $newest is INCOMPLETE (a host's snapshot is missing): restoring the older set $chosen; writes after it are not in this restore" >&2
fi
# local ports away from the nodes' (7000-7001) and their cluster bus (17000-17001)
expected=0; port=26400
for meta in $metas; do
  name=$(basename "$meta" .meta)
  d="$work/n$port"; mkdir -p "$d"; chown redis:redis "$d"
  zstd -q -d < "\${meta%.meta}.rdb.zst" > "$d/dump.rdb"; chown redis:redis "$d/dump.rdb"
  # a standalone instance on 127.0.0.1 without a password that just loads the snapshot
  runuser -u redis -- redis-server --port "$port" --bind 127.0.0.1 --dir "$d" --dbfilename dump.rdb --appendonly no --save "" \
    --daemonize yes --pidfile "$d/redis.pid" --logfile "$d/redis.log" --cluster-enabled no
  end=$((SECONDS + 300))
  until [ "$(local_cli ping 2>/dev/null)" = PONG ] && [ "$(local_cli info persistence | field loading)" = 0 ]; do
    [ "$SECONDS" -lt "$end" ] || die "$name: the snapshot did not load (see $d/redis.log)"
    { [ -s "$d/redis.pid" ] && kill -0 "$(cat "$d/redis.pid")" 2>/dev/null; } || [ "$SECONDS" -lt $((end - 295)) ] || { tail -n 3 "$d/redis.log" >&2; die "$name: the temporary redis-server is not running"; }
    sleep 0.2
  done
  keys=$(local_cli dbsize); expected=$((expected + keys))
  # MIGRATE (COPY, REPLACE) of every key to the master owning its slot; TTLs travel with the keys
  redis-cli --no-auth-warning --cluster import "$entry" --cluster-from "127.0.0.1:$port" --cluster-copy --cluster-replace > "$d/import.log" 2>&1 \\
    || { tail -n 5 "$d/import.log" >&2; die "$name: import into the cluster failed"; }
  kill "$(cat "$d/redis.pid")"; rm -f "$d/dump.rdb"
  log "$name: $keys keys imported"
  port=$((port + 1))
done
total=0; for m in $masters; do total=$((total + $(rcli "$m" dbsize))); done
[ "$total" = "$expected" ] || die "the cluster holds $total keys after the restore, the snapshots held $expected"
log "restore done: set $chosen, $total keys, every key in the master that owns its slot"`;
}

export function redisBackupJob(o: RedisBackupOptions): BackupJob {
  return { unit: "opsfleet-redis-backup", description: "Redis RDB snapshots to S3", command: REDIS_BACKUP_PATHS.backup, log: REDIS_BACKUP_PATHS.log,
    after: "redis-server@7000.service", when: { schedule: o.schedule, key: "backup.redis" }, firstRun: true };
}

/** The `redis-backup` step of one host: config, scripts, schedule. */
export function renderRedisBackupStep(o: RedisBackupOptions): RenderedStep {
  if (!o.target.prefix.startsWith(`${o.clusterPrefix}/`) || o.target.prefix.slice(o.clusterPrefix.length + 1).includes("/")) {
    throw new Error(`Redis backup target.prefix ${JSON.stringify(o.target.prefix)}: allowed: the host's own prefix directly under clusterPrefix ${JSON.stringify(o.clusterPrefix)} (redisHostBackupPrefix)`);
  }
  const job = redisBackupJob(o);
  const script = (path: string, body: string): RenderedFile => ({ path, content: `${body}\n`, mode: "0700" });
  return {
    name: "redis-backup",
    description: `RDB snapshot of every master on this host to s3://${o.target.bucket}/${o.target.prefix}/ every ${o.schedule.intervalHours} h from ${o.schedule.startTime} UTC; restore: ${REDIS_BACKUP_PATHS.restore}`,
    files: [
      { path: REDIS_BACKUP_PATHS.conf, mode: "0600", content: renderTargetEnv(o.target, { BIND_IP: o.privateIp, CLUSTER_PREFIX: o.clusterPrefix }) },
      script(REDIS_BACKUP_PATHS.backup, renderRedisBackupScript(o)),
      script(REDIS_BACKUP_PATHS.restore, renderRedisRestoreScript()),
      ...renderJobFiles(REDIS_BACKUP_PATHS.scheduleDir, job),
    ],
    script: `command -v aws >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q awscli; }
command -v zstd >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q zstd; }
chmod 0700 ${REDIS_BACKUP_DIR}
${installTimerJobsScript(REDIS_BACKUP_PATHS.scheduleDir, [job])}`,
  };
}
