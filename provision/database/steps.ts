/**
 * The ordered provisioning steps of an encrypted database host, for both engines:
 *   db-install → db-encryption → db-users (secret) → db-key-rotation → db-verify
 * Each is a `RenderedStep`; `components/encrypted-database.ts` hands them to the Host building
 * block, and the host tests pipe the very same bytes over ssh to local test hosts.
 */
import type { RenderedFile, RenderedStep } from "../common/types";
import { LINEAGE_FILE, PATHS, SCRIPT_PATHS, resolveDatabaseOptions, type DatabaseProvisionOptions, type ResolvedDatabaseOptions } from "./options";
import { shellPrelude, SQL_QUOTE_FN } from "./shell";
import {
  mariadbConfigFiles, mariadbKeySetupScript, mariadbPostStartScript, mariadbRotateScript, mariadbVerifyScript,
} from "./mariadb";
import {
  mysqlConfigFiles, mysqlInstallScript, mysqlKeySetupScript, mysqlPostStartScript, mysqlRotateScript, mysqlVerifyScript,
} from "./mysql";
import { renderSchedule, scheduleInstallScript } from "./schedule";

function resolved(o: DatabaseProvisionOptions): ResolvedDatabaseOptions {
  const r = resolveDatabaseOptions(o);
  if (!r.encryption && r.engine !== "mariadb") {
    throw new Error(`database option encryption: false is only rendered for engine mariadb (the negative control); got engine ${r.engine}`);
  }
  return r;
}

const header = (what: string) => `# opsfleet (provision/database): ${what}`;

export function renderInstallStep(opts: DatabaseProvisionOptions): RenderedStep {
  const o = resolved(opts);
  const script =
    o.engine === "mariadb"
      ? `# test hosts have no internet: install only what is missing
if command -v mariadbd >/dev/null 2>&1; then
  echo "mariadb already installed: $(mariadbd --version)"
else
  apt-get update -q
  apt-get install -y -q mariadb-server mariadb-client
fi
command -v openssl >/dev/null 2>&1 || apt-get install -y -q openssl
# a new, empty data volume under an installed server (data volume lost, key volume kept): the
# package initialised the old one at install time; initialise this one the same way (db-encryption
# then encrypts it with the kept keys)
if [ ! -d ${PATHS.dataDir}/mysql ]; then
  echo "empty data directory ${PATHS.dataDir}: initialising it (mariadb-install-db)"
  ! "$(command -v mariadb-admin)" ping >/dev/null 2>&1 || /etc/init.d/mariadb stop </dev/null >/dev/null 2>&1 || systemctl stop mariadb || true
  out=$(mariadb-install-db --user=mysql --datadir=${PATHS.dataDir} --skip-test-db 2>&1) \\
    || { printf '%s\\n' "$out" >&2; echo "ERROR: mariadb-install-db failed (its output above)" >&2; exit 1; }
  # keys of a backed-up lineage, no data: this empty server is not that lineage's data
  if [ -s ${o.keyDir}/${LINEAGE_FILE} ]; then
    echo "the keys belong to backed-up data (lineage $(cat ${o.keyDir}/${LINEAGE_FILE})): no backups until it is restored"
    touch ${PATHS.needsRestoreMarker}
  fi
fi`
      : mysqlInstallScript();
  // The data volume is mounted before the install: its fresh filesystem's empty lost+found would
  // become a bogus database (MariaDB) or make mysqld --initialize refuse the directory (MySQL).
  const freshVolume = `if [ -d ${PATHS.dataDir}/lost+found ] && [ ! -d ${PATHS.dataDir}/mysql ]; then rmdir ${PATHS.dataDir}/lost+found; fi`;
  return {
    name: "db-install",
    description: o.engine === "mariadb" ? "install Debian's MariaDB 10.11 if missing" : "install MySQL 8.4 LTS from Oracle's apt repository if missing",
    files: [],
    script: `${freshVolume}
${script}
install -d -o root -g root -m 0700 ${PATHS.opsDir}`,
  };
}

/** Config + keys; restarts the server only when a rendered file changed, keys were created, or it is down. */
export function renderEncryptionStep(opts: DatabaseProvisionOptions): RenderedStep {
  const o = resolved(opts);
  const files = o.engine === "mariadb" ? mariadbConfigFiles(o) : mysqlConfigFiles(o);
  const keySetup = o.encryption ? (o.engine === "mariadb" ? mariadbKeySetupScript(o) : mysqlKeySetupScript(o)) : "keys_created=0";
  const postStart = o.engine === "mariadb" ? mariadbPostStartScript(o) : mysqlPostStartScript(o);
  return {
    name: "db-encryption",
    description: o.encryption
      ? `${o.engine}: encryption config and key material in ${o.keyDir}; restart only on change`
      : `${o.engine}: UNENCRYPTED config (negative control / benchmark baseline)`,
    files,
    script: `${shellPrelude(o)}
${keySetup}
install -d -o mysql -g adm -m 2750 ${PATHS.errorLog.replace(/\/[^/]+$/, "")}
if [ -n "$OPSFLEET_CHANGED" ] || [ "$keys_created" = 1 ] || ! db_running; then
  echo "restarting $DB_SERVICE (changed:\${OPSFLEET_CHANGED:- none}; keys created: $keys_created)"
  db_restart
else
  echo "configuration unchanged; $DB_SERVICE not restarted"
fi
${postStart}`,
  };
}

export interface DatabasePasswords<T> {
  rootPassword: T;
  appPassword: T;
}

/** A step's file whose content is a secret of type T (a string here, a Pulumi Output in the component). */
export type SecretFile<T> = Omit<RenderedFile, "content"> & { content: T };

/**
 * The application database and user, and the root password. Passwords arrive only as root-only
 * files (on stdin over ssh) and reach the server on the client's stdin: never in command text.
 * Generic over the content type so the component passes Pulumi secrets through the same renderer.
 */
export function renderUsersStep<T>(
  opts: DatabaseProvisionOptions,
  passwords: DatabasePasswords<T>,
): { name: string; description: string; files: SecretFile<T>[]; script: string } {
  const o = resolved(opts);
  const account = `'${o.appUser}'@'${o.appUserHost}'`;
  const createDb = `CREATE DATABASE IF NOT EXISTS \\\`${o.databaseName}\\\` CHARACTER SET utf8mb4${o.engine === "mysql" ? " DEFAULT ENCRYPTION = 'Y'" : ""}`;
  const rootAuthPrefix =
    o.engine === "mariadb"
      ? // socket auth stays (Debian's maintenance scripts rely on it); the password works too
        "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD("
      : "ALTER USER 'root'@'localhost' IDENTIFIED WITH caching_sha2_password BY ";
  const rootAuthSuffix = o.engine === "mariadb" ? ")" : "";
  return {
    name: "db-users",
    description: `create database ${o.databaseName} and user ${o.appUser}@${o.appUserHost}; set the root password`,
    files: [
      { path: SCRIPT_PATHS.rootPassword, content: passwords.rootPassword, mode: "0600" },
      { path: SCRIPT_PATHS.appPassword, content: passwords.appPassword, mode: "0600" },
    ],
    script: `${shellPrelude(o)}
${SQL_QUOTE_FN}
chmod 0700 "$OPS_DIR"
root_pw=$(cat ${SCRIPT_PATHS.rootPassword}); app_pw=$(cat ${SCRIPT_PATHS.appPassword})
for v in root_pw app_pw; do
  [ -n "\${!v}" ] || { echo "ERROR: \${v%_pw} password is empty" >&2; exit 1; }
  case "\${!v}" in *$'\\n'*) echo "ERROR: \${v%_pw} password contains a newline" >&2; exit 1 ;; esac
done
db_start_if_down
# printf is a shell builtin: the SQL (with the passwords) goes to the client's stdin only
app_account="${account}"
{
  printf '%s;\\n' "${createDb}"
  printf 'CREATE USER IF NOT EXISTS %s IDENTIFIED BY %s;\\n' "$app_account" "$(sql_quote "$app_pw")"
  printf 'ALTER USER %s IDENTIFIED BY %s;\\n' "$app_account" "$(sql_quote "$app_pw")"
  printf 'GRANT ALL PRIVILEGES ON %s.* TO %s;\\n' "\\\`${o.databaseName}\\\`" "$app_account"
  printf '%s%s%s;\\n' "${rootAuthPrefix}" "$(sql_quote "$root_pw")" "${rootAuthSuffix}"
} | sql
# root's option file for the scripts on this host, replaced only after the password change worked
cnf_tmp=$(mktemp "$OPS_DIR/.root-client.XXXXXX")
esc=\${root_pw//\\\\/\\\\\\\\}; esc=\${esc//\\"/\\\\\\"}
printf '[client]\\nuser = root\\npassword = "%s"\\n' "$esc" > "$cnf_tmp"
mv -f "$cnf_tmp" "$ROOT_CNF"
unset root_pw app_pw esc
sql -e "SELECT 1" >/dev/null || db_fail "root login with the new option file failed"
echo "database ${o.databaseName} and user ${o.appUser}@${o.appUserHost} ready"`,
  };
}

function scriptFile(path: string, body: string): RenderedFile {
  return { path, content: body.endsWith("\n") ? body : body + "\n", mode: "0700" };
}

/** `verify-encryption [--wait SECONDS]`: one line per tablespace and setting; exit 1 on any problem. */
export function renderVerifyScript(opts: DatabaseProvisionOptions): string {
  const o = resolved(opts);
  return `#!/usr/bin/env bash
${header("report every tablespace's encryption status; exit 1 if anything is unencrypted")}
# usage: ${SCRIPT_PATHS.verify} [--wait SECONDS]   (wait for background encryption to finish)
set -euo pipefail
${shellPrelude(o)}
wait_s=0
if [ "\${1:-}" = --wait ]; then wait_s=\${2:?--wait needs a number of seconds}; fi
total=0; bad=0
report_bad() { echo "$*"; bad=$((bad + 1)); }
check_setting() { if [ "$2" = "$3" ]; then echo "setting $1=$2: ok"; else report_bad "setting $1=\${2:-<unset>}: WRONG (want $3)"; fi; }
db_running || db_fail "$DB_SERVICE is not running"
${o.engine === "mariadb" ? mariadbVerifyScript() : mysqlVerifyScript()}
echo "verify: $total tablespaces, $bad problems"
[ "$bad" -eq 0 ]
`;
}

/** `rotate-keys`: run on demand or by the timer/cron file; ends with a verification. */
export function renderRotateScript(opts: DatabaseProvisionOptions): string {
  const o = resolved(opts);
  return `#!/usr/bin/env bash
${header(o.engine === "mariadb" ? "rotate keys: new key id, restart, move every table to it" : "rotate the InnoDB and binlog master keys")}
set -euo pipefail
umask 077
${shellPrelude(o)}
exec 9>/run/opsfleet-db-key-rotation.lock
flock -n 9 || { echo "ERROR: another key rotation is running" >&2; exit 1; }
echo "key rotation started $(date -u +%Y-%m-%dT%H:%M:%SZ)"
db_start_if_down
${o.engine === "mariadb" ? mariadbRotateScript(o) : mysqlRotateScript()}
${SCRIPT_PATHS.verify} --wait 300
`;
}

/** Installs the rotation and verification scripts and the rotation schedule. */
export function renderKeyRotationStep(opts: DatabaseProvisionOptions): RenderedStep {
  const o = resolved(opts);
  const schedule = o.encryption ? o.keyRotationSchedule : "off";
  return {
    name: "db-key-rotation",
    description: `install ${SCRIPT_PATHS.rotate} and ${SCRIPT_PATHS.verify}; key rotation schedule: ${schedule}`,
    files: [
      scriptFile(SCRIPT_PATHS.verify, renderVerifyScript(o)),
      scriptFile(SCRIPT_PATHS.rotate, renderRotateScript(o)),
      ...renderSchedule(o.engine, schedule),
    ],
    script: `chmod 0700 ${PATHS.opsDir}
${scheduleInstallScript(schedule)}`,
  };
}

export function renderVerifyStep(opts: DatabaseProvisionOptions): RenderedStep {
  resolved(opts);
  return {
    name: "db-verify",
    description: "every tablespace encrypted, logs and temp files encrypted (waits for background encryption)",
    files: [],
    script: `${SCRIPT_PATHS.verify} --wait 300`,
  };
}

/**
 * Every step except the users step (which needs the passwords): install, encryption, rotation,
 * verify. An unencrypted (negative-control) server gets no verify step: it would fail by design.
 */
export function renderDatabaseSteps(opts: DatabaseProvisionOptions): { before: RenderedStep[]; after: RenderedStep[] } {
  const o = resolved(opts);
  return {
    before: [renderInstallStep(o), renderEncryptionStep(o)],
    after: [renderKeyRotationStep(o), ...(o.encryption ? [renderVerifyStep(o)] : [])],
  };
}
