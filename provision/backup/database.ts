/**
 * Database backups with point-in-time recovery, for both engines:
 *   - full physical backup on a schedule: mariadb-backup (MariaDB) / Percona XtraBackup 8.4 (MySQL),
 *     streamed as xbstream, zstd-compressed, straight to s3://<bucket>/<prefix>/full/<ts>/;
 *   - binary logs shipped every `recoveryPointMinutes` (closed files only, copied as they are on
 *     disk: still encrypted) to .../binlog/;
 *   - the key material to the key store (SSM SecureString under its own KMS key), never to S3;
 *   - `restore`: on a new host, from bucket + key store, to the latest point or to a given time.
 * Pages in the backup stream and the binlogs stay encrypted: the key is needed to prepare them.
 */
import type { RenderedFile, RenderedStep } from "../common/types";
import { LINEAGE_FILE, PATHS, resolveDatabaseOptions, type DatabaseEngine, type DatabaseProvisionOptions } from "../database/options";
import { MARIADB_CONF_DIR } from "../database/mariadb";
import { MYSQL_KEYRING_CONFIG } from "../database/mysql";
import { shellPrelude } from "../database/shell";
import { AWS_HELPERS, renderTargetEnv, type BackupTarget } from "./target";
import { renderJobFiles, type BackupJob, type IntervalSchedule } from "./schedule";
import { installTimerJobsScript } from "../common/timer-job";

export interface DatabaseBackupOptions {
  /** The database's own provisioning options (engine, keyDir). */
  database: DatabaseProvisionOptions;
  target: BackupTarget;
  /** SSM parameter (SecureString) that holds the key bundle, e.g. /opsfleet/dev/database/keys. */
  keyParameter: string;
  /** KMS key (id, ARN or alias/...) the key store encrypts the bundle with. */
  keyStoreKmsKeyId: string;
  /** Full backups. */
  schedule: IntervalSchedule;
  /** Binary logs are shipped this often (minutes, 1 to 60): the recovery point objective. */
  recoveryPointMinutes: number;
}

export const BACKUP_DIR = `${PATHS.opsDir}/backup`;
export const DB_BACKUP_PATHS = {
  conf: `${BACKUP_DIR}/backup.conf`,
  fullBackup: `${BACKUP_DIR}/full-backup`,
  shipBinlogs: `${BACKUP_DIR}/ship-binlogs`,
  backupKey: `${BACKUP_DIR}/backup-key`,
  restore: `${BACKUP_DIR}/restore`,
  state: `${BACKUP_DIR}/state`,
  scheduleDir: `${BACKUP_DIR}/schedule`,
  log: "/var/log/mysql/backup.log",
  /** MariaDB: directories the restore leaves in the datadir are never shown as databases. */
  ignoreDirsCnf: `${MARIADB_CONF_DIR}/97-opsfleet-backup.cnf`,
} as const;
export const RESTORE_DIRS = { stage: ".opsfleet-restore", previous: ".opsfleet-pre-restore" } as const;

interface EngineBackup {
  /** Install the backup tool if missing. */
  install: string;
  /** Streams an xbstream of the running server to stdout; `$work` is its scratch dir, `$work/info` gets xtrabackup_info. */
  backup: string;
  extract: string;
  prepare: string;
  binlogTool: string;
  /** The current binlog file and position (MySQL 8.4 removed SHOW MASTER STATUS). */
  binlogStatus: string;
  /** Files of the key dir that make up the key bundle. */
  keyFiles: string[];
}

function engineBackup(engine: DatabaseEngine): EngineBackup {
  if (engine === "mariadb") {
    return {
      install: `command -v mariadb-backup >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q mariadb-backup; }`,
      backup: `mariadb-backup --backup --stream=xbstream --target-dir="$work" --extra-lsndir="$work/info"`,
      extract: "mbstream -x",
      // backup-my.cnf in the backup names the key plugin and the key file paths: the key must be in place
      prepare: `mariadb-backup --prepare --target-dir="$stage"`,
      binlogTool: "mariadb-binlog",
      binlogStatus: "SHOW MASTER STATUS",
      keyFiles: ["keyfile.enc", "keyfile.key"],
    };
  }
  return {
    // Percona XtraBackup 8.4 backs up MySQL 8.4 (Oracle ships no physical backup tool in the community edition)
    install: `if ! command -v xtrabackup >/dev/null 2>&1; then
  apt-get update -q && apt-get install -y -q curl gnupg lsb-release
  curl -fsSLo /tmp/percona-release.deb https://repo.percona.com/apt/percona-release_latest.generic_all.deb
  apt-get install -y -q /tmp/percona-release.deb && rm -f /tmp/percona-release.deb
  percona-release enable-only pxb-84-lts release && apt-get update -q && apt-get install -y -q percona-xtrabackup-84
fi`,
    backup: `xtrabackup --backup --stream=xbstream --target-dir="$work" --extra-lsndir="$work/info" --component-keyring-config=${MYSQL_KEYRING_CONFIG}`,
    extract: "xbstream -x",
    prepare: `xtrabackup --prepare --target-dir="$stage" --component-keyring-config=${MYSQL_KEYRING_CONFIG}`,
    binlogTool: "mysqlbinlog",
    binlogStatus: "SHOW BINARY LOG STATUS",
    keyFiles: ["component_keyring_file"], // mysqlKeyringFile() in the key dir
  };
}

export { LINEAGE_FILE };
/** What one SSM parameter value holds (Advanced tier; Intelligent-Tiering moves a value above 4096 bytes there). */
export const KEY_BUNDLE_MAX_BYTES = 8192;
/** Exit code of backup-key when the key store holds another lineage's key (a new host before its restore). */
export const KEY_STORE_MISMATCH = 3;
const bundleFiles = (engine: DatabaseEngine) => [...engineBackup(engine).keyFiles, LINEAGE_FILE];

export function checkDatabaseBackupOptions(o: DatabaseBackupOptions): void {
  if (!/^\/[A-Za-z0-9_.\/-]{1,1010}$/.test(o.keyParameter)) {
    throw new Error(`database backup keyParameter: invalid value ${JSON.stringify(o.keyParameter)} (allowed: an SSM parameter path such as /opsfleet/dev/database/keys)`);
  }
  if (!/^[A-Za-z0-9:\/_-]{1,2048}$/.test(o.keyStoreKmsKeyId)) {
    throw new Error(`database backup keyStoreKmsKeyId: invalid value ${JSON.stringify(o.keyStoreKmsKeyId)} (allowed: a KMS key id, ARN or alias/name)`);
  }
  if (!Number.isInteger(o.recoveryPointMinutes) || o.recoveryPointMinutes < 1 || o.recoveryPointMinutes > 60) {
    throw new Error(`database backup recoveryPointMinutes: invalid value ${JSON.stringify(o.recoveryPointMinutes)} (allowed: a whole number of minutes from 1 to 60)`);
  }
}

const header = (what: string) => `#!/usr/bin/env bash
# opsfleet (provision/backup): ${what}
set -euo pipefail
umask 077`;

function prelude(o: DatabaseBackupOptions): string {
  const db = resolveDatabaseOptions(o.database);
  return `. ${DB_BACKUP_PATHS.conf}
${shellPrelude(db)}
${AWS_HELPERS}
KEY_DIR=${db.keyDir}
DATA_DIR=${PATHS.dataDir}
STATE=${DB_BACKUP_PATHS.state}
install -d -m 0700 "$STATE"
# "<name> <base64>" per key file: the whole key material, for the key store only
key_bundle() { local f; printf 'opsfleet-key-bundle v1\\n'; for f in ${bundleFiles(db.engine).join(" ")}; do printf '%s %s\\n' "$f" "$(base64 -w0 "$KEY_DIR/$f")"; done; }
# the lineage names the data these keys encrypt: backups and binlogs of one lineage go together
lineage() { cat "$KEY_DIR/${LINEAGE_FILE}" 2>/dev/null || true; }
# the lineage of the key bundle in the key store (empty when it cannot be read)
stored_lineage() { ssm get-parameter --name "$KEY_PARAMETER" --with-decryption --query Parameter.Value --output text 2>/dev/null \\
  | awk '$1 == "${LINEAGE_FILE}" { print $2 }' | base64 -d 2>/dev/null || true; }`;
}

/** `backup-key [--force|--replace]`: puts the key bundle into the key store when it changed (after a
 * rotation); refuses (exit 3) to overwrite the key of another lineage (a new host before its restore). */
export function renderBackupKeyScript(o: DatabaseBackupOptions): string {
  return `${header("copy the database key material to the key store (SSM SecureString), never to S3")}
${prelude(o)}
mode=\${1:-}; replace=0
[ "$mode" != --replace ] || replace=1
if [ -z "$(lineage)" ] || [ "$replace" = 1 ]; then
  # no lineage yet: a new host. Its keys must not overwrite the key of data that is still backed up.
  theirs=$(stored_lineage)
  if [ -n "$theirs" ] && [ "$mode" != --replace ]; then
    log "ERROR: the key store $KEY_PARAMETER holds the key of backed-up data (lineage $theirs) and this host has new keys." >&2
    log "       Restore that data here: ${DB_BACKUP_PATHS.restore} --yes   (or, if it is no longer needed: ${DB_BACKUP_PATHS.backupKey} --replace)" >&2
    log "       Until then nothing of this host is backed up." >&2
    exit ${KEY_STORE_MISMATCH}
  fi
  tmp=$(mktemp "$KEY_DIR/.lineage.XXXXXX"); od -An -N16 -tx1 /dev/urandom | tr -d ' \\n' > "$tmp"
  chown mysql:mysql "$tmp"; chmod 0400 "$tmp"; mv -f "$tmp" "$KEY_DIR/${LINEAGE_FILE}"
  log "new backup lineage $(lineage)"
  mode=--force
fi
hash=$(key_bundle | sha256sum | cut -c1-64)
if [ "$mode" != --force ] && [ "$hash" = "$(cat "$STATE/key.sha256" 2>/dev/null || true)" ]; then exit 0; fi
stored=$(ssm get-parameter --name "$KEY_PARAMETER" --with-decryption --query Parameter.Value --output text 2>/dev/null || true)
if [ "$(printf '%s\\n' "$stored" | sha256sum | cut -c1-64)" = "$hash" ]; then echo "$hash" > "$STATE/key.sha256"; exit 0; fi
theirs=$(printf '%s\\n' "$stored" | awk '$1 == "${LINEAGE_FILE}" { print $2 }' | base64 -d 2>/dev/null || true)
if [ "$replace" = 0 ] && [ -n "$theirs" ] && [ "$theirs" != "$(lineage)" ]; then
  log "ERROR: the key store $KEY_PARAMETER holds lineage $theirs, this host has $(lineage): refusing to overwrite it (${DB_BACKUP_PATHS.backupKey} --replace abandons it)" >&2
  exit ${KEY_STORE_MISMATCH}
fi
# the bundle only ever exists in a pipe and in tmpfs (/run), never on a disk
tmpd=$(mktemp -d /run/opsfleet-key.XXXXXX)
trap 'rm -rf "$tmpd"' EXIT
key_bundle > "$tmpd/value"
# SSM holds at most 8192 bytes (Advanced, which Intelligent-Tiering switches to above 4096); every
# key rotation adds a key id (old ones must stay: older data and backups use them)
bytes=$(wc -c < "$tmpd/value")
if [ "$bytes" -gt ${KEY_BUNDLE_MAX_BYTES} ]; then
  die "the key bundle is $bytes bytes, more than the ${KEY_BUNDLE_MAX_BYTES} an SSM parameter holds: the key cannot be backed up, so the full backups and binlog shipments that need it fail (alarm: backup-failed). See docs/database.md, 'Key bundle size'"
fi
[ "$bytes" -le $((${KEY_BUNDLE_MAX_BYTES} * 3 / 4)) ] || log "WARNING: the key bundle is $bytes of ${KEY_BUNDLE_MAX_BYTES} bytes the key store holds (see docs/database.md, 'Key bundle size')" >&2
ssm put-parameter --name "$KEY_PARAMETER" --type SecureString --key-id "$KEY_KMS_KEY" --tier Intelligent-Tiering \\
  --overwrite --value "file://$tmpd/value" >/dev/null || die "could not store the key bundle in $KEY_PARAMETER"
echo "$hash" > "$STATE/key.sha256"
log "key bundle stored in the key store: $KEY_PARAMETER"`;
}

/** `full-backup`: one streamed, compressed physical backup plus its `backup.done` record. */
export function renderFullBackupScript(o: DatabaseBackupOptions): string {
  const e = engineBackup(resolveDatabaseOptions(o.database).engine);
  return `${header("full physical backup, streamed and compressed to the backup bucket")}
${prelude(o)}
exec 9>/run/opsfleet-db-backup.lock
flock -w 600 9 || die "another full backup or restore is running"
ok=0
last_good=$(cat "$STATE/full.good" 2>/dev/null || true)
work=$(mktemp -d /tmp/opsfleet-backup.XXXXXX)
trap 'rm -rf "$work"; [ "$ok" = 1 ] || metric database full 0 "$last_good"' EXIT
[ ! -e ${PATHS.needsRestoreMarker} ] || die "this host's data directory was re-initialised under the keys of backed-up data (${PATHS.needsRestoreMarker}): no backup or binlog shipment until it is restored (${DB_BACKUP_PATHS.restore} --keep-host-key --yes)"
db_running || die "$DB_SERVICE is not running"
${DB_BACKUP_PATHS.backupKey}
started=$(date +%s); ts=$(date -u -d "@$started" +%Y%m%dT%H%M%SZ)
dest="s3://$BUCKET/$PREFIX/full/$ts"
datadir_bytes=$(du -sb "$DATA_DIR" | cut -f1)
log "full backup $ts: $datadir_bytes bytes in $DATA_DIR -> $dest/backup.xb.zst"
mkdir -p "$work/info"
${e.backup} 2>"$work/tool.log" \\
  | zstd -q -T0 -3 \\
  | tee >(wc -c > "$work/bytes") \\
  | s3 cp - "$dest/backup.xb.zst" --only-show-errors --expected-size "$datadir_bytes" \\
  || { tail -n 20 "$work/tool.log" >&2; die "full backup $ts failed"; }
pos=$(sed -n "s/^binlog_pos = filename '\\([^']*\\)', position '\\([0-9]*\\)'.*/\\1 \\2/p" "$work/info/xtrabackup_info")
[ -n "$pos" ] || die "no binlog position in the backup's xtrabackup_info (is log_bin on?)"
gtid=$(sed -n "s/^binlog_pos = .*GTID of the last change '\\([^']*\\)'.*/\\1/p" "$work/info/xtrabackup_info")
finished=$(date +%s)
for _ in $(seq 1 50); do [ -s "$work/bytes" ] && break; sleep 0.1; done
stream_bytes=$(cat "$work/bytes")
printf 'lineage=%s\\nstarted=%s\\nfinished=%s\\nbinlog_file=%s\\nbinlog_pos=%s\\ngtid=%s\\ndatadir_bytes=%s\\nstream_bytes=%s\\n' \\
  "$(lineage)" "$started" "$finished" "\${pos% *}" "\${pos#* }" "$gtid" "$datadir_bytes" "$stream_bytes" > "$work/backup.done"
# written last: a backup without its .done record is incomplete and never restored
s3 cp "$work/backup.done" "$dest/backup.done" --only-show-errors
echo "$finished" > "$STATE/full.good"
ok=1
metric database full 1 "$finished"
log "full backup $ts done in $((finished - started)) s: $stream_bytes bytes stored, binlog position \${pos% *}:\${pos#* }"`;
}

/** `ship-binlogs`: closes the current binlog (if anything was written) and uploads every closed one not shipped yet. */
export function renderShipBinlogsScript(o: DatabaseBackupOptions): string {
  const e = engineBackup(resolveDatabaseOptions(o.database).engine);
  return `${header("ship closed binary logs (encrypted as on disk) to the backup bucket")}
${prelude(o)}
exec 9>/run/opsfleet-db-binlog-ship.lock
flock -n 9 || exit 0
ok=0
last_good=$(cat "$STATE/binlog.good" 2>/dev/null || true)
trap '[ "$ok" = 1 ] || metric database binlog 0 "$last_good"' EXIT
[ ! -e ${PATHS.needsRestoreMarker} ] || die "this host's data directory was re-initialised under the keys of backed-up data (${PATHS.needsRestoreMarker}): no backup or binlog shipment until it is restored (${DB_BACKUP_PATHS.restore} --keep-host-key --yes)"
db_running || die "$DB_SERVICE is not running"
# a rotated key must reach the key store before binlogs encrypted with it are needed
${DB_BACKUP_PATHS.backupKey}
status() { sql -e "${e.binlogStatus}" | cut -f1,2; }
if [ "$(status)" != "$(cat "$STATE/binlog.position" 2>/dev/null || true)" ]; then sql -e "FLUSH BINARY LOGS"; fi
status > "$STATE/binlog.position"
active=$(cut -f1 "$STATE/binlog.position")
touch "$STATE/binlog.shipped"
new=()
while IFS= read -r f; do
  name=\${f##*/}
  [ -n "$name" ] && [ "$name" != "$active" ] || continue
  size=$(stat -c %s "$DATA_DIR/$name" 2>/dev/null) || continue
  grep -qxF "$name $size" "$STATE/binlog.shipped" || new+=("$name")
done < "$DATA_DIR/mysql-bin.index"
dest="s3://$BUCKET/$PREFIX/binlog/$(lineage)/"
upload=()
if [ \${#new[@]} -gt 0 ]; then
  # a shipped binlog is history: never overwrite it. The same name with the same size is this
  # file shipped before (state lost); another size is another history under this lineage: refuse.
  listing=$(s3 ls "$dest" 2>/dev/null || true)
  for name in "\${new[@]}"; do
    size=$(stat -c %s "$DATA_DIR/$name")
    theirs=$(printf '%s\n' "$listing" | awk -v n="$name" '$4 == n { print $3 }')
    if [ -z "$theirs" ]; then upload+=("$name")
    elif [ "$theirs" = "$size" ]; then echo "$name $size" >> "$STATE/binlog.shipped"
    else die "refusing to overwrite $dest$name ($theirs bytes) with this host's $name ($size bytes): another history uses this lineage"
    fi
  done
fi
if [ \${#upload[@]} -gt 0 ]; then
  includes=(); for name in "\${upload[@]}"; do includes+=(--include "$name"); done
  # one call for all of them (the AWS CLI starts slowly)
  s3 sync "$DATA_DIR" "$dest" --exclude '*' "\${includes[@]}" --only-show-errors || die "could not ship \${upload[*]}"
  for name in "\${upload[@]}"; do echo "$name $(stat -c %s "$DATA_DIR/$name")" >> "$STATE/binlog.shipped"; done
fi
shipped=\${#upload[@]}
now=$(date +%s); echo "$now" > "$STATE/binlog.good"
ok=1
metric database binlog 1 "$now"
[ "$shipped" = 0 ] || log "shipped $shipped binary logs (active: $active)"`;
}

/**
 * `restore [--to "YYYY-MM-DD HH:MM:SS"] [--keep-host-key] --yes`: newest full backup that finished
 * before the target, the key from the key store, the shipped binlogs replayed up to the target.
 * The host's previous data and keys are kept aside (never deleted); any failure before the new
 * data is in place puts them back and restarts the server as it was.
 */
export function renderRestoreScript(o: DatabaseBackupOptions): string {
  const db = resolveDatabaseOptions(o.database);
  const e = engineBackup(db.engine);
  const keyFiles = e.keyFiles.join(" ");
  const allKeyFiles = bundleFiles(db.engine).join(" ");
  return `${header("restore the database from the backup bucket and the key store, to the latest point or to a time")}
usage() { echo "usage: $0 [--to 'YYYY-MM-DD HH:MM:SS' (UTC)] [--keep-host-key] [--no-backup] --yes" >&2; exit 2; }
to=""; keep_key=0; yes=0; after_backup=1
while [ $# -gt 0 ]; do
  case "$1" in
    --to) to=\${2:?--to needs a time}; shift 2 ;;
    --keep-host-key) keep_key=1; shift ;;
    --no-backup) after_backup=0; shift ;;
    --yes) yes=1; shift ;;
    *) usage ;;
  esac
done
[ "$yes" = 1 ] || usage
${prelude(o)}
exec 9>/run/opsfleet-db-backup.lock
flock -w 600 9 || die "a backup or another restore is running"
# no binlog shipping while the data changes under it (it would ship under the old lineage)
exec 8>/run/opsfleet-db-binlog-ship.lock
flock -w 600 8 || die "binlog shipping is still running"
target=""
if [ -n "$to" ]; then
  # one form that date and the binlog tool both read: any time date understands, as UTC, checked
  # before anything is touched
  given=$to
  to=$(TZ=UTC date -u -d "$given" '+%F %T' 2>/dev/null) || die "--to: cannot parse '$given' (use 'YYYY-MM-DD HH:MM:SS', UTC)"
  target=$(TZ=UTC date -u -d "$to" +%s)
  [ "$target" -le "$(date +%s)" ] || die "--to: $to UTC is in the future"
  [ "$to" = "$given" ] || log "--to '$given' is $to UTC"
fi
started=$(date +%s)
pre="$DATA_DIR/${RESTORE_DIRS.previous}"; stage="$DATA_DIR/${RESTORE_DIRS.stage}"
[ ! -e "$pre" ] || die "$pre exists (data kept aside by an earlier restore): move or remove it first"
rm -rf "$stage"

# 1. the key: without it nothing below can be decrypted
keys=$(mktemp -d /run/opsfleet-restore-key.XXXXXX)
trap 'rm -rf "$keys"' EXIT
if [ "$keep_key" = 0 ]; then
  ssm get-parameter --name "$KEY_PARAMETER" --with-decryption --query Parameter.Value --output text > "$keys/bundle" 2>"$keys/err" \\
    || die "cannot read the key bundle $KEY_PARAMETER from the key store ($(tr '\\n' ' ' < "$keys/err")): without the key the backup cannot be decrypted"
  [ "$(head -n 1 "$keys/bundle")" = "opsfleet-key-bundle v1" ] || die "$KEY_PARAMETER holds no key bundle (never backed up?)"
  for f in ${allKeyFiles}; do
    awk -v f="$f" '$1 == f { print $2 }' "$keys/bundle" | base64 -d > "$keys/$f" 2>/dev/null && [ -s "$keys/$f" ] || die "key bundle $KEY_PARAMETER has no valid $f"
  done
  log "key bundle read from $KEY_PARAMETER"
else
  for f in ${keyFiles}; do [ -s "$KEY_DIR/$f" ] || die "--keep-host-key: $KEY_DIR/$f is missing"; done
fi

# 2. the lineage the key store is on (the data these keys encrypt now), and the newest complete full
#    backup of that lineage that finished before the target. A lineage made by a restore records its
#    parent and fork time (lineage/<id>); a target before the fork is in the parent's history.
if [ "$keep_key" = 0 ]; then cur=$(cat "$keys/${LINEAGE_FILE}")
else
  # the host's key material, the key store's lineage (the host's own when the store cannot be read)
  cur=$(stored_lineage); [ -n "$cur" ] || cur=$(lineage)
fi
[ -n "$cur" ] || die "the key bundle names no lineage: cannot tell which backups belong to these keys"
# (the AWS CLI exits 1 with nothing on stderr when there is nothing to list)
listing=$(s3 ls --recursive "s3://$BUCKET/$PREFIX/full/" 2>"$keys/err") || [ ! -s "$keys/err" ] \\
  || die "cannot list s3://$BUCKET/$PREFIX/full/: $(tr '\\n' ' ' < "$keys/err")"
done_ts=$(printf '%s\\n' "$listing" | awk '$4 ~ "/full/[^/]+/backup[.]done$" { n = split($4, p, "/"); print p[n - 1] }' | sort -r)
backup=""; info=""
while [ -z "$backup" ]; do
  for ts in $done_ts; do
    # a finished backup whose record cannot be read is an error, never a reason to take an older one
    i=$(s3 cp "s3://$BUCKET/$PREFIX/full/$ts/backup.done" -) || die "cannot read s3://$BUCKET/$PREFIX/full/$ts/backup.done"
    [ "$(printf '%s\\n' "$i" | sed -n 's/^lineage=//p')" = "$cur" ] || continue
    fin=$(printf '%s\\n' "$i" | sed -n 's/^finished=//p')
    if [ -z "$target" ] || [ "$fin" -le "$target" ]; then backup=$ts; info=$i; break; fi
  done
  [ -z "$backup" ] || break
  rec=$(s3 cp "s3://$BUCKET/$PREFIX/lineage/$cur" - 2>/dev/null || true)
  parent=$(printf '%s\\n' "$rec" | sed -n 's/^parent=//p'); fork=$(printf '%s\\n' "$rec" | sed -n 's/^fork=//p')
  if [ -n "$target" ] && [ -n "$parent" ] && [ -n "$fork" ] && [ "$target" -le "$fork" ]; then
    log "--to $to UTC is before lineage $cur forked from lineage $parent: restoring from $parent"
    cur=$parent; continue
  fi
  # never an older lineage's data in place of this one's: what was written since its fork would be lost
  die "lineage $cur (the key store's) has no complete full backup\${to:+ that finished before $to}\${parent:+ (it forked from lineage $parent)}: restoring an older lineage would silently lose what was written since. Take a full backup on the host that runs lineage $cur (${DB_BACKUP_PATHS.fullBackup}), or restore with --to a time before the fork"
done
val() { printf '%s\\n' "$info" | sed -n "s/^$1=//p"; }
start_file=$(val binlog_file); start_pos=$(val binlog_pos); line=$(val lineage)
# 3. the binlogs of the backup's lineage (downloaded once the server is stopped, below)
log "restoring full backup $backup (binlog position $start_file:$start_pos)\${to:+, then binlogs up to $to UTC}"

# 4. stop the server; keep the current data and keys aside (a failure below puts them back)
db_stop() { if have_systemd; then systemctl stop "$DB_SERVICE"; else /etc/init.d/"$DB_SERVICE" stop </dev/null >/dev/null 2>&1 8>&- 9>&- || true; fi; }
log "stopping $DB_SERVICE"
db_stop
! db_running || die "$DB_SERVICE is still running"
mkdir -m 0700 "$pre" "$pre/keys"
find "$DATA_DIR" -mindepth 1 -maxdepth 1 ! -name ${RESTORE_DIRS.previous} ! -name lost+found -exec mv -t "$pre" {} +
for f in ${allKeyFiles}; do [ ! -e "$KEY_DIR/$f" ] || cp -p "$KEY_DIR/$f" "$pre/keys/"; done
rollback() {
  # the caller's terminal may be gone (SIGHUP, a closed pipe): rollback must not die writing to it
  trap '' PIPE HUP
  log "restore failed: putting the previous data and keys back" 2>/dev/null || true
  log "restore failed: putting the previous data and keys back" >>${DB_BACKUP_PATHS.log} 2>/dev/null || true
  ! db_running || db_stop
  rm -rf "$stage"
  find "$DATA_DIR" -mindepth 1 -maxdepth 1 ! -name ${RESTORE_DIRS.previous} ! -name lost+found -exec rm -rf {} +
  find "$pre" -mindepth 1 -maxdepth 1 ! -name keys -exec mv -t "$DATA_DIR" {} +
  for f in ${allKeyFiles}; do rm -f "$KEY_DIR/$f"; [ ! -e "$pre/keys/$f" ] || cp -p "$pre/keys/$f" "$KEY_DIR/$f"; done
  rm -rf "$pre"
  db_restart >/dev/null 2>&1 8>&- || true
}
trap 'rc=$?; rm -rf "$keys"; if [ "$rc" != 0 ] && [ "\${restored:-0}" = 0 ]; then rollback; fi' EXIT
# bash runs no EXIT trap on an untrapped signal: a killed restore must roll back too
trap 'exit 143' TERM; trap 'exit 129' HUP; trap 'exit 130' INT
restored=0

# 5. download and unpack (still encrypted pages), put the key in place, prepare (decrypts what it must)
mkdir -m 0700 "$stage"
s3 cp "s3://$BUCKET/$PREFIX/full/$backup/backup.xb.zst" - | zstd -q -d | ${e.extract} -C "$stage" || die "downloading backup $backup failed"
if [ "$keep_key" = 0 ]; then
  for f in ${allKeyFiles}; do install -o mysql -g mysql -m 0400 "$keys/$f" "$KEY_DIR/$f"; done
fi
if ! ${e.prepare} >"$keys/prepare.log" 2>&1; then
  grep -iE 'error|encrypt|decrypt' "$keys/prepare.log" | tail -n 5 >&2 || true
  die "preparing backup $backup failed: the key does not decrypt it (wrong or missing key material)"
fi

# 6. the prepared backup becomes the data directory; the binlogs join it as its own
find "$stage" -mindepth 1 -maxdepth 1 -exec mv -t "$DATA_DIR" {} +
rmdir "$stage"
# the binlogs from the backup's position on, consecutive (or the gap is named)
fetched="$DATA_DIR/${RESTORE_DIRS.stage}"; mkdir -m 0700 "$fetched"
s3 sync "s3://$BUCKET/$PREFIX/binlog/$line/" "$fetched/" --exclude '*' --include 'mysql-bin.[0-9]*' --only-show-errors || die "downloading the binary logs failed"
binlogs=$(ls "$fetched" | grep -E '^mysql-bin\\.[0-9]{6}$' | sort | awk -v s="$start_file" '$0 >= s' || true)
prev=""
for b in $binlogs; do
  n=$((10#\${b##*.}))
  [ -z "$prev" ] || [ "$n" = $((prev + 1)) ] || die "binary log after number $prev is missing from the bucket: cannot replay past it"
  prev=$n
done
if [ -z "$binlogs" ] || [ "$(printf '%s\\n' "$binlogs" | head -n 1)" != "$start_file" ]; then
  [ -z "$target" ] || die "binary log $start_file (the backup's position) is not in the bucket: cannot recover to $to"
  log "WARNING: no shipped binary logs after the backup: restoring to the end of backup $backup only"
  binlogs=""
fi
: > "$DATA_DIR/mysql-bin.index"
for b in $binlogs; do mv "$fetched/$b" "$DATA_DIR/$b"; echo "./$b" >> "$DATA_DIR/mysql-bin.index"; done
rm -rf "$fetched"
chown -R mysql:mysql "$DATA_DIR"
echo "keys: $KEY_DIR" > ${PATHS.encryptedMarker}; chown mysql:mysql ${PATHS.encryptedMarker}
db_restart 8>&- # the server must not inherit the shipping lock

# 7. replay: the server decrypts its own binlogs for the replication protocol (-R); events stream
#    through a pipe into the server, never to a file
if [ -n "$binlogs" ]; then
  log "replaying $(echo $binlogs | wc -w) binary logs from $start_file:$start_pos\${to:+ up to $to UTC}"
  # --disable-log-bin: replayed events are history, not new writes of this server's binlogs
  TZ=UTC ${e.binlogTool} $(db_auth) --read-from-remote-server --host=localhost --disable-log-bin --start-position="$start_pos" \${to:+--stop-datetime="$to"} $binlogs | sql \\
    || die "replaying the binary logs failed"
  # the replayed files belong to the backup's lineage (they are in the bucket): not this server's to ship
  sql -e "FLUSH BINARY LOGS"
  sql -e "PURGE BINARY LOGS TO '$(sql -e "${e.binlogStatus}" | cut -f1)'"
fi
${PATHS.opsDir}/verify-encryption --wait 120 || die "restored data is not fully encrypted"
restored=1
# 8. a new lineage: this server's binlogs restart their numbering and must never overwrite the
#    shipped history they branched from (a later point-in-time restore needs it)
rm -f "$STATE/binlog.shipped" "$STATE/binlog.position" "$STATE/key.sha256"
${DB_BACKUP_PATHS.backupKey} --replace \\
  || log "WARNING: the key bundle could not be stored: nothing of this host is backed up until ${DB_BACKUP_PATHS.backupKey} --replace succeeds" >&2
# the new lineage's parent and fork time: a later restore to a time before the fork follows it back
printf 'parent=%s\\nfork=%s\\n' "$line" "\${target:-$started}" | s3 cp - "s3://$BUCKET/$PREFIX/lineage/$(lineage)" --only-show-errors \
  || log "WARNING: could not record lineage $(lineage)'s parent: a restore to a time before this one needs a full backup of $line" >&2
log "restore done: backup $backup\${binlogs:+ + binary logs}\${to:+ up to $to UTC}, new lineage $(lineage); the previous data and keys are kept in $pre (remove it when satisfied)"
# a new base for this host's point-in-time recovery
exec 8>&-
if [ "$after_backup" = 1 ]; then exec 9>&-; ${DB_BACKUP_PATHS.fullBackup}; fi`;
}

function scriptFile(path: string, body: string): RenderedFile {
  return { path, content: body.endsWith("\n") ? body : `${body}\n`, mode: "0700" };
}

export function databaseBackupJobs(o: DatabaseBackupOptions): BackupJob[] {
  const after = `${resolveDatabaseOptions(o.database).engine === "mariadb" ? "mariadb" : "mysql"}.service`;
  return [
    { unit: "opsfleet-db-backup", description: "full database backup to S3", command: DB_BACKUP_PATHS.fullBackup, log: DB_BACKUP_PATHS.log, after,
      when: { schedule: o.schedule, key: "backup.database" }, firstRun: true },
    { unit: "opsfleet-db-binlog-ship", description: "ship database binary logs to S3", command: DB_BACKUP_PATHS.shipBinlogs, log: DB_BACKUP_PATHS.log, after,
      when: { everyMinutes: o.recoveryPointMinutes } },
  ];
}

/** The `db-backup` step: tools, config, scripts and schedules; a first key backup and binlog shipment right away. */
export function renderDatabaseBackupStep(o: DatabaseBackupOptions): RenderedStep {
  checkDatabaseBackupOptions(o);
  const db = resolveDatabaseOptions(o.database);
  const e = engineBackup(db.engine);
  const jobs = databaseBackupJobs(o);
  const files: RenderedFile[] = [
    { path: DB_BACKUP_PATHS.conf, mode: "0600", content: renderTargetEnv(o.target, { KEY_PARAMETER: o.keyParameter, KEY_KMS_KEY: o.keyStoreKmsKeyId }) },
    scriptFile(DB_BACKUP_PATHS.backupKey, renderBackupKeyScript(o)),
    scriptFile(DB_BACKUP_PATHS.fullBackup, renderFullBackupScript(o)),
    scriptFile(DB_BACKUP_PATHS.shipBinlogs, renderShipBinlogsScript(o)),
    scriptFile(DB_BACKUP_PATHS.restore, renderRestoreScript(o)),
    ...jobs.flatMap((j) => renderJobFiles(DB_BACKUP_PATHS.scheduleDir, j)),
    ...(db.engine === "mariadb"
      ? [{ path: DB_BACKUP_PATHS.ignoreDirsCnf, content: ["# opsfleet: what a restore leaves in the datadir is not a database", "[mariadb]",
          `ignore_db_dirs = ${RESTORE_DIRS.stage}`, `ignore_db_dirs = ${RESTORE_DIRS.previous}`, "ignore_db_dirs = lost+found", ""].join("\n") }]
      : []),
  ];
  return {
    name: "db-backup",
    description: `backups to s3://${o.target.bucket}/${o.target.prefix}/ (full every ${o.schedule.intervalHours} h from ${o.schedule.startTime} UTC, binlogs every ${o.recoveryPointMinutes} min), key to ${o.keyParameter}; restore: ${DB_BACKUP_PATHS.restore}`,
    files,
    script: `# test hosts have no internet: install only what is missing
command -v aws >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q awscli; }
command -v zstd >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q zstd; }
${e.install}
chmod 0700 ${PATHS.opsDir} ${BACKUP_DIR}
${installTimerJobsScript(DB_BACKUP_PATHS.scheduleDir, jobs)}
# the key leaves the host at once: losing the key volume must never lose the data
rc=0; ${DB_BACKUP_PATHS.backupKey} || rc=$?
if [ -e ${PATHS.needsRestoreMarker} ]; then
  echo "WARNING: this host waits for its restore (its data directory was re-initialised under kept keys); backups start once it is done"
elif [ "$rc" = ${KEY_STORE_MISMATCH} ]; then
  echo "WARNING: this host waits for its restore (see above); backups start once it is done"
elif [ "$rc" != 0 ]; then exit "$rc"
else ${DB_BACKUP_PATHS.shipBinlogs}
fi
echo "restore (new host, latest point or a time): ${DB_BACKUP_PATHS.restore} [--to 'YYYY-MM-DD HH:MM:SS'] --yes"`,
  };
}
