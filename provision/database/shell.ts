/**
 * Bash shared by every database step and by the scripts installed on the host (rotation,
 * verification): service control that works with systemd (EC2) and without it (the init script,
 * as on the local test hosts), root SQL access, and loud failure with the error log's tail.
 */
import { PATHS, SCRIPT_PATHS, type ResolvedDatabaseOptions } from "./options";

interface EngineShell {
  service: string;
  client: string;
  admin: string;
}

const ENGINE_SHELL: Record<ResolvedDatabaseOptions["engine"], EngineShell> = {
  mariadb: { service: "mariadb", client: "mariadb", admin: "mariadb-admin" },
  mysql: { service: "mysql", client: "mysql", admin: "mysqladmin" },
};

export function engineShell(o: ResolvedDatabaseOptions): EngineShell {
  return ENGINE_SHELL[o.engine];
}

/** Function definitions (no side effects) sourced at the top of every script. */
export function shellPrelude(o: ResolvedDatabaseOptions): string {
  const e = engineShell(o);
  return `DB_SERVICE=${e.service}
DB_CLIENT=${e.client}
DB_ADMIN=${e.admin}
OPS_DIR=${PATHS.opsDir}
ROOT_CNF=${SCRIPT_PATHS.rootClientCnf}
ERROR_LOG=${PATHS.errorLog}
have_systemd() { [ -d /run/systemd/system ]; }
# root's client options: the root-only option file once the root password is set, else socket auth
db_auth() { if [ -r "$ROOT_CNF" ]; then printf -- '--defaults-extra-file=%s' "$ROOT_CNF"; fi; }
sql() { "$DB_CLIENT" $(db_auth) --batch --skip-column-names "$@"; }
# 0 while the server answers (even "access denied" means it is up)
db_running() { "$DB_ADMIN" $(db_auth) --connect-timeout=2 ping >/dev/null 2>&1; }
db_fail() {
  echo "ERROR: $*" >&2
  if [ -s "$ERROR_LOG" ]; then echo "--- last lines of $ERROR_LOG:" >&2; tail -n 30 "$ERROR_LOG" >&2; fi
  exit 1
}
db_wait_up() {
  local i
  for i in $(seq 1 120); do db_running && return 0; sleep 0.5; done
  db_fail "$DB_SERVICE did not answer within 60 s after starting"
}
# (re)start: systemd on EC2; without systemd the package's init script (mysqld_safe)
db_restart() {
  local out rc=0
  out=$(mktemp)
  if have_systemd; then
    systemctl restart "$DB_SERVICE" >"$out" 2>&1 || rc=$?
    [ "$rc" = 0 ] || journalctl -u "$DB_SERVICE" -n 30 --no-pager >>"$out" 2>&1 || true
  else
    install -d -o mysql -g root -m 0755 /run/mysqld
    # the daemon inherits descriptors: output to a file (an ssh session would never end), and
    # fd 9 (the rotation lock) closed so the server does not hold the lock forever
    /etc/init.d/"$DB_SERVICE" restart </dev/null >"$out" 2>&1 9>&- || rc=$?
  fi
  if [ "$rc" != 0 ]; then cat "$out" >&2; rm -f "$out"; db_fail "$DB_SERVICE failed to start (exit $rc)"; fi
  rm -f "$out"
  db_wait_up
}
db_start_if_down() { db_running || db_restart; }`;
}

/**
 * Bash function that prints its argument as an SQL string literal. Runs in the shell (builtins
 * only), so a password passed through it never appears in any process's command line.
 */
export const SQL_QUOTE_FN = `sql_quote() { local s=$1; s=\${s//\\\\/\\\\\\\\}; s=\${s//\\'/\\'\\'}; printf "'%s'" "$s"; }`;
