/**
 * MariaDB 10.11 (Debian 12's own package): data-at-rest encryption with the `file_key_management`
 * plugin. Keys live in `<keyDir>/keyfile.enc` (lines `<id>;<256-bit hex key>`, AES-256-CBC
 * encrypted with the password in `<keyDir>/keyfile.key`), both owned by mysql, mode 0400.
 */
import type { RenderedFile } from "../common/types";
import { PATHS, SCRIPT_PATHS, type ResolvedDatabaseOptions } from "./options";

export const MARIADB_CONF_DIR = "/etc/mysql/mariadb.conf.d";
export const MARIADB_ENCRYPTION_CNF = `${MARIADB_CONF_DIR}/99-opsfleet-encryption.cnf`;
export const MARIADB_ERROR_LOG_CNF = `${MARIADB_CONF_DIR}/98-opsfleet-error-log.cnf`;
/** Written by the rotation script (not by provisioning), so a redeploy keeps the current key id. */
export const MARIADB_KEY_ID_CNF = `${MARIADB_CONF_DIR}/99-opsfleet-key-id.cnf`;

export const mariadbKeyFiles = (o: ResolvedDatabaseOptions) => ({
  keyFile: `${o.keyDir}/keyfile.enc`,
  passwordFile: `${o.keyDir}/keyfile.key`,
});

/** openssl invocation MariaDB 10.11 can decrypt: legacy EVP_BytesToKey KDF with SHA1 (no -pbkdf2). */
const opensslEnc = (o: ResolvedDatabaseOptions, direction: "-e" | "-d") =>
  `openssl enc ${direction} -aes-256-cbc -md sha1 -pass "file:${mariadbKeyFiles(o).passwordFile}"`;

export function mariadbConfigFiles(o: ResolvedDatabaseOptions): RenderedFile[] {
  const k = mariadbKeyFiles(o);
  const common = [
    `bind_address = ${o.bindAddress}`,
    `server_id = ${o.serverId}`,
    "log_bin = mysql-bin",
    `binlog_expire_logs_seconds = ${o.binlogExpireDays * 86400}`,
    "innodb_file_per_table = ON",
  ];
  const encryption = o.encryption
    ? [
        "plugin_load_add = file_key_management",
        "# refuse to start at all if the key plugin cannot load (never run unencrypted by accident)",
        "file_key_management = FORCE_PLUS_PERMANENT",
        `file_key_management_filename = ${k.keyFile}`,
        `file_key_management_filekey = FILE:${k.passwordFile}`,
        "# chosen once: data written with one algorithm cannot be read with the other",
        "file_key_management_encryption_algorithm = AES_CTR",
        "# FORCE: tables created with ENCRYPTED=NO are refused",
        "innodb_encrypt_tables = FORCE",
        "innodb_encrypt_log = ON",
        "innodb_encrypt_temporary_tables = ON",
        "# threads > 0 and key age > 0, or existing tablespaces are never encrypted",
        `innodb_encryption_threads = ${o.encryptionThreads}`,
        `innodb_encryption_rotate_key_age = ${o.rotateKeyAge}`,
        "encrypt_binlog = ON",
        "encrypt_tmp_files = ON",
        "encrypt_tmp_disk_tables = ON",
        "aria_encrypt_tables = ON",
        "# only InnoDB can be encrypted with a key id: MyISAM, CSV, MEMORY and non-PAGE Aria tables would hold",
        "# plaintext rows. CREATE/ALTER to another engine fails (NO_ENGINE_SUBSTITUTION) or becomes InnoDB",
        "enforce_storage_engine = InnoDB",
      ]
    : [
        "# UNENCRYPTED: negative control / benchmark baseline only",
        "innodb_encrypt_tables = OFF",
        "innodb_encrypt_log = OFF",
        "encrypt_binlog = OFF",
        "encrypt_tmp_files = OFF",
      ];
  return [
    {
      path: MARIADB_ENCRYPTION_CNF,
      content: ["# opsfleet (provision/database): rendered, do not edit on the host", "[mariadb]", ...common, ...encryption, ""].join("\n"),
    },
    {
      // Without systemd, mysqld_safe passes --skip-log-error (Debian's 50-mysqld_safe.cnf) and the
      // messages go to a syslog that may not exist; a later [mysqld_safe] log_error wins.
      path: MARIADB_ERROR_LOG_CNF,
      content: [
        "# opsfleet: keep the error log in a file with and without systemd",
        "[mysqld_safe]",
        "skip_syslog",
        `log_error = ${PATHS.errorLog}`,
        "[mariadb]",
        `log_error = ${PATHS.errorLog}`,
        "",
      ].join("\n"),
    },
  ];
}

/**
 * Key material: created only when absent, and never when the data directory has already run
 * encrypted (new keys could not read the old data; the operator must restore the key backup).
 */
export function mariadbKeySetupScript(o: ResolvedDatabaseOptions): string {
  const k = mariadbKeyFiles(o);
  return `KEY_DIR=${o.keyDir}
install -d -o mysql -g mysql -m 0750 "$KEY_DIR"
keys_created=0
if [ ! -s ${k.keyFile} ] || [ ! -s ${k.passwordFile} ]; then
  if [ -e ${PATHS.encryptedMarker} ] || [ -e ${k.keyFile} ] || [ -e ${k.passwordFile} ]; then
    echo "ERROR: encryption key material is missing or incomplete in $KEY_DIR (need keyfile.enc and keyfile.key)," >&2
    echo "       but ${PATHS.dataDir} holds data encrypted with it. Refusing to generate new keys: that would make" >&2
    echo "       the data unreadable. Restore keyfile.enc and keyfile.key from the key backup, then re-run." >&2
    exit 1
  fi
  tmp_pw=$(mktemp "$KEY_DIR/.keyfile.key.XXXXXX"); tmp_keys=$(mktemp "$KEY_DIR/.keyfile.enc.XXXXXX")
  openssl rand -hex 128 > "$tmp_pw"
  # the plaintext key list only ever exists in a pipe
  if ! err=$(printf '1;%s\\n' "$(openssl rand -hex 32)" | openssl enc -e -aes-256-cbc -md sha1 -pass "file:$tmp_pw" -out "$tmp_keys" 2>&1); then
    rm -f "$tmp_pw" "$tmp_keys"; echo "ERROR: encrypting the key file failed: $err" >&2; exit 1
  fi
  chown mysql:mysql "$tmp_pw" "$tmp_keys"; chmod 0400 "$tmp_pw" "$tmp_keys"
  mv -f "$tmp_pw" ${k.passwordFile}; mv -f "$tmp_keys" ${k.keyFile}
  keys_created=1
  echo "generated encryption key id 1 in $KEY_DIR (back this directory up: without it the data is lost)"
fi
chown mysql:mysql ${k.keyFile} ${k.passwordFile}; chmod 0400 ${k.keyFile} ${k.passwordFile}`;
}

/** Checks run right after the server came up (the step fails if encryption is not live). */
export function mariadbPostStartScript(o: ResolvedDatabaseOptions): string {
  if (!o.encryption) {
    return `if [ -e ${PATHS.encryptedMarker} ]; then
  db_fail "${PATHS.dataDir} was encrypted; an unencrypted configuration cannot read it"
fi
echo "encryption: OFF (negative control / benchmark baseline)"`;
  }
  return `status=$(sql -e "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME='FILE_KEY_MANAGEMENT'")
[ "$status" = ACTIVE ] || db_fail "plugin file_key_management is '\${status:-not loaded}', expected ACTIVE"
if [ ! -e ${PATHS.encryptedMarker} ]; then
  # Aria tables written before encryption was on (mysql.* with the password hashes, sys.*) are
  # encrypted only when rebuilt; InnoDB's background threads do not touch them
  aria=$(sql -e "SET @q = CHAR(96 USING utf8mb4); SELECT CONCAT(@q, REPLACE(TABLE_SCHEMA, @q, CONCAT(@q, @q)), @q, '.', @q, REPLACE(TABLE_NAME, @q, CONCAT(@q, @q)), @q)
    FROM information_schema.TABLES WHERE ENGINE = 'Aria' AND TABLE_TYPE = 'BASE TABLE'
    AND TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema')")
  rebuilt=0
  while IFS= read -r t; do
    [ -n "$t" ] || continue
    sql -e "ALTER TABLE $t FORCE" || db_fail "rebuilding Aria table $t encrypted failed"
    rebuilt=$((rebuilt + 1))
  done <<< "$aria"
  echo "rebuilt $rebuilt Aria tables (now encrypted)"
fi
echo "keys: ${o.keyDir}" > ${PATHS.encryptedMarker}; chown mysql:mysql ${PATHS.encryptedMarker}
echo "encryption: file_key_management ACTIVE, innodb_encrypt_tables=$(sql -e 'SELECT @@innodb_encrypt_tables')"`;
}

/** Rotation body: new key id, restart (the plugin reads keys only at startup), move every table. */
export function mariadbRotateScript(o: ResolvedDatabaseOptions): string {
  const k = mariadbKeyFiles(o);
  return `KEY_DIR=${o.keyDir}
[ -s ${k.keyFile} ] && [ -s ${k.passwordFile} ] || db_fail "key material missing in $KEY_DIR"
keys=$(${opensslEnc(o, "-d")} -in ${k.keyFile} 2>/dev/null) || db_fail "cannot decrypt ${k.keyFile}"
last=$(printf '%s\\n' "$keys" | awk -F';' '/^[0-9]+;[0-9A-Fa-f]+$/ { if ($1 + 0 > m) m = $1 + 0 } END { print m + 0 }')
[ "$last" -ge 1 ] || db_fail "no key ids found in ${k.keyFile}"
new=$((last + 1))
tmp=$(mktemp "$KEY_DIR/.keyfile.enc.XXXXXX")
# old ids stay: the system tablespace, redo log and binary logs keep using key id 1
if ! { printf '%s\\n' "$keys"; printf '%s;%s\\n' "$new" "$(openssl rand -hex 32)"; } | ${opensslEnc(o, "-e")} -out "$tmp" 2>/dev/null; then
  rm -f "$tmp"; db_fail "encrypting the new key file failed"
fi
unset keys
chown mysql:mysql "$tmp"; chmod 0400 "$tmp"; mv -f "$tmp" ${k.keyFile}
echo "added key id $new to ${k.keyFile}"
cnf_tmp=$(mktemp ${MARIADB_CONF_DIR}/.opsfleet-key-id.XXXXXX)
printf '# opsfleet: written by %s\\n[mariadb]\\ninnodb_default_encryption_key_id = %s\\n' "${SCRIPT_PATHS.rotate}" "$new" > "$cnf_tmp"
chmod 0644 "$cnf_tmp"; mv -f "$cnf_tmp" ${MARIADB_KEY_ID_CNF}
db_restart
moved=0
# every InnoDB table: also SYSTEM VERSIONED ones (with their history) and sequences, which an
# in-place ALTER leaves on the old key id (a copy moves them; cached values are skipped, as after a restart)
tables=$(sql -e "SET @q = CHAR(96 USING utf8mb4); SELECT CONCAT(@q, REPLACE(TABLE_SCHEMA, @q, CONCAT(@q, @q)), @q, '.', @q, REPLACE(TABLE_NAME, @q, CONCAT(@q, @q)), @q), TABLE_TYPE
  FROM information_schema.TABLES WHERE ENGINE = 'InnoDB' AND TABLE_TYPE IN (${sqlList(ROTATED_TABLE_TYPES)})
  AND TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema')")
while IFS=$'\\t' read -r t type; do
  [ -n "$t" ] || continue
  if [ "$type" = SEQUENCE ]; then how=", ALGORITHM = COPY"; else how=""; fi
  sql -e "ALTER TABLE $t ENCRYPTION_KEY_ID = $new$how" || db_fail "moving $t to key id $new failed"
  moved=$((moved + 1))
done <<< "$tables"
echo "moved $moved tables to key id $new"`;
}

/** TABLE_TYPEs of tables with their own tablespace that rotation moves to the new key id. */
export const ROTATED_TABLE_TYPES = ["BASE TABLE", "SYSTEM VERSIONED", "SEQUENCE"] as const;
/** Schemas of the server itself; every other schema is an application schema (InnoDB only). */
export const SYSTEM_SCHEMAS = ["mysql", "sys", "information_schema", "performance_schema"] as const;
/** The common auxiliary tables of a table with FULLTEXT (they stay while its FTS_DOC_ID column does). */
const FTS_COMMON_TABLES = ["BEING_DELETED", "BEING_DELETED_CACHE", "CONFIG", "DELETED", "DELETED_CACHE"] as const;
const unionOf = (col: string, xs: readonly (string | number)[]) =>
  xs.map((x, i) => `SELECT ${typeof x === "number" ? x : `'${x}'`}${i === 0 ? ` ${col}` : ""}`).join(" UNION ALL ");
const ftsPrefix = "CONCAT(SUBSTRING_INDEX(t.NAME, '/', 1), '/FTS_', LPAD(LOWER(HEX(t.TABLE_ID)), 16, '0'), '_'";
/**
 * SQL condition on `s.NAME` (an INNODB_SYS_TABLESPACES row): a tablespace MariaDB 10.11 keeps on key id 1
 * whatever the table's ENCRYPTION_KEY_ID -- the system tablespace, and the FULLTEXT auxiliary tables
 * (re-created on key id 1 even by a table copy; seen on 10.11.19). An auxiliary table is recognised
 * exactly, never by its name's shape alone: `<db>/FTS_<parent table id>_<common table>` of a table in the
 * same schema that has an FTS_DOC_ID column, or `<db>/FTS_<parent table id>_<FULLTEXT index id>_INDEX_<1-6>`
 * of one of its FULLTEXT indexes (ids in 16 hex digits, from the InnoDB dictionary), and no table the SQL
 * layer knows has that name (auxiliary tables have no .frm). A user table named like one is checked like
 * any other. Verify names these tablespaces but does not count them as problems.
 */
export const UNMOVABLE_TABLESPACE_SQL = `(s.NAME = 'innodb_system' OR (s.NAME IN (
    SELECT ${ftsPrefix}, x.s) FROM information_schema.INNODB_SYS_TABLES t
      JOIN information_schema.INNODB_SYS_COLUMNS c ON c.TABLE_ID = t.TABLE_ID AND c.NAME = 'FTS_DOC_ID'
      JOIN (${unionOf("s", FTS_COMMON_TABLES)}) x
    UNION ALL
    SELECT ${ftsPrefix}, LPAD(LOWER(HEX(i.INDEX_ID)), 16, '0'), '_INDEX_', x.k) FROM information_schema.INNODB_SYS_TABLES t
      JOIN information_schema.INNODB_SYS_INDEXES i ON i.TABLE_ID = t.TABLE_ID AND (i.TYPE & 32) <> 0
      JOIN (${unionOf("k", [1, 2, 3, 4, 5, 6])}) x)
  AND SUBSTRING_INDEX(s.NAME, '/', -1) NOT IN (SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_NAME LIKE 'FTS\\_%')))`;

const sqlList = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(", ");

/**
 * Verification body: every InnoDB tablespace encrypted and on the current key id (except what MariaDB
 * cannot move), no table of an application schema on an engine that cannot be encrypted, and the
 * settings for logs and temp files.
 */
export function mariadbVerifyScript(): string {
  return `query="SELECT s.NAME, COALESCE(e.ENCRYPTION_SCHEME, 0), COALESCE(e.CURRENT_KEY_ID, 0),
  IF(e.KEY_ROTATION_PAGE_NUMBER IS NULL AND COALESCE(e.ROTATING_OR_FLUSHING, 0) = 0, 0, 1),
  IF(${UNMOVABLE_TABLESPACE_SQL}, 1, 0)
  FROM information_schema.INNODB_SYS_TABLESPACES s
  LEFT JOIN information_schema.INNODB_TABLESPACES_ENCRYPTION e ON e.SPACE = s.SPACE
  WHERE s.NAME <> 'innodb_temporary' ORDER BY s.NAME"
deadline=$((SECONDS + wait_s))
while :; do
  rows=$(sql -e "$query")
  pending=$(printf '%s\\n' "$rows" | awk -F'\\t' 'NF && ($2 == 0 || $4 == 1)' | wc -l)
  if [ "$pending" -eq 0 ] || [ "$SECONDS" -ge "$deadline" ]; then break; fi
  sleep 1
done
current_key=$(sql -e 'SELECT @@innodb_default_encryption_key_id')
while IFS=$'\\t' read -r name scheme key busy unmovable; do
  [ -n "$name" ] || continue
  total=$((total + 1))
  if [ "$busy" = 1 ]; then report_bad "tablespace $name: ENCRYPTING (not finished)"
  elif [ "$scheme" != 1 ]; then report_bad "tablespace $name: UNENCRYPTED"
  elif [ "$key" -ge "$current_key" ]; then echo "tablespace $name: encrypted (key id $key)"
  elif [ "$unmovable" = 1 ]; then echo "tablespace $name: encrypted (key id $key; MariaDB cannot move it to key id $current_key)"
  else report_bad "tablespace $name: on key id $key, older than the current key id $current_key (run ${SCRIPT_PATHS.rotate})"; fi
done <<< "$rows"
# tables no key protects: any engine but InnoDB in an application schema
plain=$(sql -e "SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME), ENGINE FROM information_schema.TABLES
  WHERE TABLE_TYPE IN (${sqlList(ROTATED_TABLE_TYPES)}) AND ENGINE <> 'InnoDB'
  AND TABLE_SCHEMA NOT IN (${sqlList(SYSTEM_SCHEMAS)}) ORDER BY 1")
while IFS=$'\\t' read -r t engine; do
  [ -n "$t" ] || continue
  report_bad "table $t: ENGINE=$engine cannot be encrypted (only InnoDB can); convert it: ALTER TABLE $t ENGINE=InnoDB"
done <<< "$plain"
echo "tablespace innodb_temporary: $( [ "$(sql -e 'SELECT @@innodb_encrypt_temporary_tables')" = 1 ] && echo 'encrypted (innodb_encrypt_temporary_tables)' || echo 'UNENCRYPTED')"
check_setting "plugin file_key_management" "$(sql -e "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'FILE_KEY_MANAGEMENT'")" ACTIVE
check_setting innodb_encrypt_tables "$(sql -e 'SELECT @@innodb_encrypt_tables')" FORCE
check_setting innodb_encrypt_log "$(sql -e 'SELECT @@innodb_encrypt_log')" 1
check_setting innodb_encrypt_temporary_tables "$(sql -e 'SELECT @@innodb_encrypt_temporary_tables')" 1
check_setting encrypt_binlog "$(sql -e 'SELECT @@encrypt_binlog')" 1
check_setting log_bin "$(sql -e 'SELECT @@log_bin')" 1
check_setting encrypt_tmp_files "$(sql -e 'SELECT @@encrypt_tmp_files')" 1
check_setting enforce_storage_engine "$(sql -e 'SELECT @@enforce_storage_engine')" InnoDB`;
}
