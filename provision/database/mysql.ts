/**
 * MySQL 8.4 LTS from Oracle's apt repository (Debian 12 has no MySQL): InnoDB encryption with the
 * `component_keyring_file` keyring component (the `keyring_file` plugin was removed in 8.4). The
 * component is loaded from the global manifest next to mysqld, never via early-plugin-load or
 * INSTALL COMPONENT (too late for redo/undo encryption).
 */
import type { RenderedFile } from "../common/types";
import { PATHS, type ResolvedDatabaseOptions } from "./options";

export const MYSQL_MANIFEST = "/usr/sbin/mysqld.my";
export const MYSQL_KEYRING_CONFIG = "/usr/lib/mysql/plugin/component_keyring_file.cnf";
export const MYSQL_ENCRYPTION_CNF = "/etc/mysql/mysql.conf.d/zz-opsfleet-encryption.cnf";
export const MYSQL_APPARMOR_LOCAL = "/etc/apparmor.d/local/usr.sbin.mysqld";
export const MYSQL_APT_SOURCE = "/etc/apt/sources.list.d/mysql-8.4-lts.list";
export const MYSQL_APT_KEYRING = "/usr/share/keyrings/mysql-apt.gpg";
/** Oracle's MySQL build key (mysql-build@oss.oracle.com) for MySQL 8.4.7+ packages: long key id. */
export const MYSQL_BUILD_KEY_ID = "B7B3B788A8D3785C";
export const MYSQL_BUILD_KEY_URL = "https://repo.mysql.com/RPM-GPG-KEY-mysql-2023";

export const mysqlKeyringFile = (o: ResolvedDatabaseOptions) => `${o.keyDir}/component_keyring_file`;

export function mysqlInstallScript(): string {
  return `if command -v mysqld >/dev/null 2>&1; then
  echo "mysql already installed: $(mysqld --version)"
else
  if command -v mariadbd >/dev/null 2>&1; then echo "ERROR: MariaDB is installed; refusing to install MySQL over it" >&2; exit 1; fi
  . /etc/os-release
  apt-get update -q
  apt-get install -y -q ca-certificates curl gnupg
  key_tmp=$(mktemp)
  curl -fsSL ${MYSQL_BUILD_KEY_URL} | gpg --dearmor > "$key_tmp"
  # pin the signing key: refuse the repository if the downloaded key is not Oracle's build key
  if ! gpg --show-keys --with-colons "$key_tmp" | awk -F: '$1 == "fpr" { print $10 }' | grep -qi '${MYSQL_BUILD_KEY_ID}$'; then
    rm -f "$key_tmp"; echo "ERROR: ${MYSQL_BUILD_KEY_URL} is not the MySQL build key ${MYSQL_BUILD_KEY_ID}" >&2; exit 1
  fi
  install -m 0644 "$key_tmp" ${MYSQL_APT_KEYRING}; rm -f "$key_tmp"
  echo "deb [signed-by=${MYSQL_APT_KEYRING}] https://repo.mysql.com/apt/debian $VERSION_CODENAME mysql-8.4-lts" > ${MYSQL_APT_SOURCE}
  apt-get update -q
  # no root-pass preseed: root starts with auth_socket; the users step sets its password
  apt-get install -y -q mysql-server
fi
mysqld --version | grep -q ' 8\\.4\\.' || { echo "ERROR: expected MySQL 8.4, got: $(mysqld --version)" >&2; exit 1; }`;
}

export function mysqlConfigFiles(o: ResolvedDatabaseOptions): RenderedFile[] {
  return [
    {
      path: MYSQL_MANIFEST,
      content: JSON.stringify({ components: "file://component_keyring_file" }) + "\n",
      mode: "0644",
    },
    {
      path: MYSQL_KEYRING_CONFIG,
      // read_only must stay false, or keys can be neither generated nor rotated
      content: JSON.stringify({ path: mysqlKeyringFile(o), read_only: false }) + "\n",
      mode: "0640",
      owner: "root",
      group: "mysql",
    },
    {
      path: MYSQL_ENCRYPTION_CNF,
      content: [
        "# opsfleet (provision/database): rendered, do not edit on the host",
        "[mysqld]",
        `bind_address = ${o.bindAddress}`,
        `server_id = ${o.serverId}`,
        "log_bin = mysql-bin",
        `binlog_expire_logs_seconds = ${o.binlogExpireDays * 86400}`,
        `log_error = ${PATHS.errorLog}`,
        "innodb_file_per_table = ON",
        "# new schemas and tables are encrypted; opting out needs TABLE_ENCRYPTION_ADMIN",
        "default_table_encryption = ON",
        "table_encryption_privilege_check = ON",
        "innodb_redo_log_encrypt = ON",
        "innodb_undo_log_encrypt = ON",
        "binlog_encryption = ON",
        "",
      ].join("\n"),
    },
    {
      // Oracle's profile allows /var/lib/mysql-keyring/** but not the manifest or a custom key dir.
      path: MYSQL_APPARMOR_LOCAL,
      content: [
        "# opsfleet: component_keyring_file",
        `${MYSQL_MANIFEST} r,`,
        `${MYSQL_KEYRING_CONFIG} r,`,
        `${o.keyDir}/ r,`,
        `${o.keyDir}/** rwk,`,
        "",
      ].join("\n"),
    },
  ];
}

export function mysqlKeySetupScript(o: ResolvedDatabaseOptions): string {
  return `KEY_DIR=${o.keyDir}
install -d -o mysql -g mysql -m 0750 "$KEY_DIR"
keys_created=0
if [ -e ${PATHS.encryptedMarker} ] && [ ! -s ${mysqlKeyringFile(o)} ]; then
  echo "ERROR: keyring ${mysqlKeyringFile(o)} is missing, but ${PATHS.dataDir} holds data encrypted with it." >&2
  echo "       Restore it from the key backup, then re-run (a new keyring could not read the data)." >&2
  exit 1
fi
case " $OPSFLEET_CHANGED " in
  *" ${MYSQL_APPARMOR_LOCAL} "*)
    if command -v apparmor_parser >/dev/null 2>&1 && [ -f /etc/apparmor.d/usr.sbin.mysqld ]; then
      apparmor_parser -r /etc/apparmor.d/usr.sbin.mysqld
    fi ;;
esac`;
}

export function mysqlPostStartScript(o: ResolvedDatabaseOptions): string {
  return `status=$(sql -e "SELECT STATUS_VALUE FROM performance_schema.keyring_component_status WHERE STATUS_KEY = 'Component_status'")
[ "$status" = Active ] || db_fail "component_keyring_file status is '\${status:-absent}', expected Active (check the manifest, and AppArmor: journalctl -k | grep DENIED)"
# tablespaces created before the keyring existed (mysql system tablespace, sys schema, earlier data)
sql -e "ALTER TABLESPACE mysql ENCRYPTION = 'Y'"
alters=$(sql -e "SET @q = CHAR(96 USING utf8mb4); SELECT CONCAT('ALTER TABLE ', @q, REPLACE(TABLE_SCHEMA, @q, CONCAT(@q, @q)), @q, '.', @q, REPLACE(TABLE_NAME, @q, CONCAT(@q, @q)), @q, ' ENCRYPTION = ''Y'';')
  FROM information_schema.TABLES WHERE ENGINE = 'InnoDB' AND TABLE_TYPE = 'BASE TABLE'
  AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema')
  AND CREATE_OPTIONS NOT LIKE '%ENCRYPTION=''Y''%'")
if [ -n "$alters" ]; then printf '%s\\n' "$alters" | sql; fi
sql -e "SET @q = CHAR(96 USING utf8mb4); SELECT CONCAT('ALTER SCHEMA ', @q, REPLACE(SCHEMA_NAME, @q, CONCAT(@q, @q)), @q, ' DEFAULT ENCRYPTION = ''Y'';') FROM information_schema.SCHEMATA
  WHERE DEFAULT_ENCRYPTION = 'NO' AND SCHEMA_NAME NOT IN ('mysql', 'information_schema', 'performance_schema')" | sql
echo "keys: ${o.keyDir}" > ${PATHS.encryptedMarker}; chown mysql:mysql ${PATHS.encryptedMarker}
echo "encryption: component_keyring_file Active"`;
}

export function mysqlRotateScript(): string {
  return `sql -e "ALTER INSTANCE ROTATE INNODB MASTER KEY; ALTER INSTANCE ROTATE BINLOG MASTER KEY"
echo "rotated the InnoDB and binary log master keys (tablespace keys re-wrapped, no table rebuild)"`;
}

export function mysqlVerifyScript(): string {
  return `rows=$(sql -e "SELECT NAME, SPACE_TYPE, ENCRYPTION FROM information_schema.INNODB_TABLESPACES ORDER BY NAME")
while IFS=$'\\t' read -r name type enc; do
  [ -n "$name" ] || continue
  total=$((total + 1))
  if [ "$enc" = Y ]; then echo "tablespace $name: encrypted"
  elif [ "$type" = System ] || [ "$name" = innodb_temporary ]; then
    echo "tablespace $name: not encryptable in MySQL (no table data with innodb_file_per_table)"
  else report_bad "tablespace $name: UNENCRYPTED"; fi
done <<< "$rows"
check_setting "component keyring_file" "$(sql -e "SELECT STATUS_VALUE FROM performance_schema.keyring_component_status WHERE STATUS_KEY = 'Component_status'")" Active
check_setting default_table_encryption "$(sql -e 'SELECT @@default_table_encryption')" 1
check_setting table_encryption_privilege_check "$(sql -e 'SELECT @@table_encryption_privilege_check')" 1
check_setting innodb_redo_log_encrypt "$(sql -e 'SELECT @@innodb_redo_log_encrypt')" 1
check_setting innodb_undo_log_encrypt "$(sql -e 'SELECT @@innodb_undo_log_encrypt')" 1
check_setting binlog_encryption "$(sql -e 'SELECT @@binlog_encryption')" 1
check_setting log_bin "$(sql -e 'SELECT @@log_bin')" 1`;
}
