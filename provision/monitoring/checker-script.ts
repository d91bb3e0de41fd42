/**
 * The host health checker: one bash script for every host, its sections switched on by the host's
 * config file (see `renderHealthConf`). It needs only bash, coreutils, awk, python3 (JSON) and the
 * Debian `awscli` package, plus each system's own client (redis-cli, curl, mariadb/mysql).
 */
import { ROTATED_TABLE_TYPES, SYSTEM_SCHEMAS, UNMOVABLE_TABLESPACE_SQL } from "../database/mariadb";

const TEMPLATE = `#!/bin/bash
# opsfleet host health checker (rendered by provision/monitoring; run every minute by a systemd
# timer). Collects the values of the sections in $SECTIONS, prints them, then publishes them with
# one \`aws cloudwatch put-metric-data\` call per 20 values. Secrets are read from root-only files
# into the environment of the client that needs them (REDISCLI_AUTH, curl -K, --defaults-extra-file):
# none is ever a command-line word.
set -uo pipefail
export LC_ALL=C
CONF=\${1:-\${OPSFLEET_HEALTH_CONF:-/etc/opsfleet-health.conf}}
# shellcheck source=/dev/null
. "$CONF" || { echo "opsfleet-health: cannot read $CONF" >&2; exit 2; }
AWS=\${AWS_CLI:-/usr/bin/aws}
# every query shares one budget, well below the unit's TimeoutStartSec=50, so a slow run still
# publishes what it collected (10 s are left for put-metric-data)
DEADLINE=$(( $(date +%s) + \${CHECK_BUDGET_SECONDS:-35} ))
OUT_OF_TIME=
# limit <seconds>: the per-call timeout, cut to what is left of the budget; fails when nothing is left
limit() {
  local left=$(( DEADLINE - $(date +%s) ))
  if [ "$left" -le 0 ]; then OUT_OF_TIME=1; return 1; fi
  echo $(( left < $1 ? left : $1 ))
}

DATA=()
# metric <name> <unit> <value> <dimension=value>...: Stack and (unless Cluster= is given) Host come first
metric() {
  local name=$1 unit=$2 value=$3 d dims
  shift 3
  # out of time: a failed query says nothing about the system, so publish nothing more for it
  # (calls run in command substitutions, so the clock, not only the flag, says the budget is spent;
  # a call cut by the budget ends at the deadline)
  [ "$(date +%s)" -lt "$DEADLINE" ] || OUT_OF_TIME=1
  if [ -n "$OUT_OF_TIME" ] && [ "$name" != HostCheckerUp ]; then echo "opsfleet-health: $name: skipped (out of time)" >&2; return 0; fi
  case "$value" in ''|*[!0-9.]*) echo "opsfleet-health: $name: no value (\${value:-empty})" >&2; return 0;; esac
  dims="{\\"Name\\":\\"Stack\\",\\"Value\\":\\"$STACK\\"}"
  case " $* " in *" Cluster="*) ;; *) dims+=",{\\"Name\\":\\"Host\\",\\"Value\\":\\"$HOST\\"}";; esac
  for d in "$@"; do dims+=",{\\"Name\\":\\"\${d%%=*}\\",\\"Value\\":\\"\${d#*=}\\"}"; done
  DATA+=("{\\"MetricName\\":\\"$name\\",\\"Unit\\":\\"$unit\\",\\"Value\\":$value,\\"Dimensions\\":[$dims]}")
  echo "$name $value $*"
}
percent() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b }'; }
field() { awk -F: -v k="$1" '$1 == k { sub(/\\r$/, "", $2); print $2; exit }'; }

# failed <what>: a query that failed (not timed out) publishes nothing made up: only its own
# "up = 0" metric where it has one, the rest of its values are left out and the reason is logged
failed() { echo "opsfleet-health: $1 failed: its values are not published" >&2; }

check_disk() {
  local m df_out pct
  for m in $DISK_MOUNTS; do
    # df of a path that is not a mount point reports the file system beneath it (e.g. the root
    # volume when the data volume is not mounted): only the mount point itself is measured
    if ! df_out=$(df -P "$m" 2>/dev/null) || [ "$(awk 'NR == 2 { print $NF }' <<<"$df_out")" != "$m" ]; then failed "df $m (not a mounted file system)"; continue; fi
    pct=$(awk 'NR == 2 { sub(/%/, "", $5); print $5 }' <<<"$df_out")
    metric DiskUsedPercent Percent "$pct" "MountPoint=$m"
  done
}

# redis_q <port> <command...>: the reply, or failure on no reply, a timeout or an error reply
# (redis-cli prints "ERR ...", "NOAUTH ...", "LOADING ..." and may still exit 0)
REDIS_ERROR='^([A-Z]+ |\\(error\\))'
redis_q() {
  local port=$1 t out; shift
  t=$(limit 5) || { OUT_OF_TIME=1; return 1; }
  out=$(timeout "$t" redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning "$@" 2>/dev/null | tr -d '\\r') || return 1
  [ -n "$out" ] || return 1
  if [[ "$out" =~ $REDIS_ERROR ]]; then return 1; fi
  printf '%s\\n' "$out"
}
check_redis() {
  local port view="" in_sync=0 unreplicated=0 complete=1 info repl own nodes used max myip state
  if [ -r "$REDIS_AUTH_FILE" ]; then REDISCLI_AUTH=$(cat "$REDIS_AUTH_FILE"); export REDISCLI_AUTH; fi
  for port in $REDIS_PORTS; do
    # the one "check failed" value: a node that does not answer PING is down
    if [ "$(redis_q "$port" PING)" != PONG ]; then metric RedisNodeUp None 0 "Port=$port"; continue; fi
    metric RedisNodeUp None 1 "Port=$port"
    view=\${view:-$port}
    used="" max=""
    if info=$(redis_q "$port" INFO memory); then used=$(field used_memory <<<"$info"); max=$(field maxmemory <<<"$info"); fi
    if [[ "$used" =~ ^[0-9]+$ && "$max" =~ ^[0-9]+$ ]]; then
      [ "$max" -gt 0 ] && metric RedisMemoryUsedPercent Percent "$(percent "$used" "$max")" "Port=$port"
    else failed "INFO memory on :$port"; fi
    # the replica counts need every answering node's view: one failed query leaves them out
    if ! repl=$(redis_q "$port" INFO replication); then failed "INFO replication on :$port"; complete=; continue; fi
    case "$(field role <<<"$repl")" in
      slave) [ "$(field master_link_status <<<"$repl")" = up ] && in_sync=$((in_sync + 1)) ;;
      master)
        if ! own=$(redis_q "$port" CLUSTER NODES); then failed "CLUSTER NODES on :$port"; complete=; continue; fi
        if awk '$3 ~ /myself/ && NF > 8 { found = 1 } END { exit !found }' <<<"$own"; then
          # a master serving slots needs a replica that is online (synced)
          grep -q '^slave[0-9]*:.*state=online' <<<"$repl" || unreplicated=$((unreplicated + 1))
        fi ;;
      *) failed "INFO replication on :$port (no role)"; complete= ;;
    esac
  done
  # no local node answers: the other hosts report the cluster
  [ -n "$view" ] || { unset REDISCLI_AUTH; return 0; }
  # a node in no cluster (a new host the cluster step has not added yet, or a leaving host's node
  # reset by a scale-in before Pulumi deletes the host) says nothing about the stack's cluster
  if info=$(redis_q "$view" CLUSTER INFO) && [ "$(field cluster_known_nodes <<<"$info")" = 1 ] && [ "$(field cluster_slots_assigned <<<"$info")" = 0 ]; then
    unset REDISCLI_AUTH; echo "redis :$view is in no cluster (joining or leaving): no cluster values"; return 0
  fi
  if [ -n "$complete" ]; then
    metric RedisReplicasInSync Count "$in_sync"
    metric RedisUnreplicatedMasters Count "$unreplicated" "Cluster=$REDIS_CLUSTER"
  fi
  myip=""
  if nodes=$(redis_q "$view" CLUSTER NODES); then myip=$(awk '$3 ~ /myself/ { split($2, a, ":"); print a[1]; exit }' <<<"$nodes"); fi
  if [ -n "$myip" ]; then
    metric RedisMastersOnHost Count "$(awk -v ip="$myip" '$3 ~ /master/ && $3 !~ /fail/ { split($2, a, ":"); if (a[1] == ip) n++ } END { print n + 0 }' <<<"$nodes")"
  else failed "CLUSTER NODES on :$view"; fi
  state=""
  if info=$(redis_q "$view" CLUSTER INFO); then state=$(field cluster_state <<<"$info"); fi
  unset REDISCLI_AUTH
  # only a reply that names the state says anything about the cluster (empty or error: unknown)
  if [ -z "$state" ]; then failed "CLUSTER INFO on :$view"; return 0; fi
  metric RedisClusterStateOk None "$([ "$state" = ok ] && echo 1 || echo 0)" "Cluster=$REDIS_CLUSTER"
  metric RedisSlotsAssigned Count "$(field cluster_slots_assigned <<<"$info")" "Cluster=$REDIS_CLUSTER"
  metric RedisSlotsOk Count "$(field cluster_slots_ok <<<"$info")" "Cluster=$REDIS_CLUSTER"
  metric RedisKnownNodes Count "$(field cluster_known_nodes <<<"$info")" "Cluster=$REDIS_CLUSTER"
}

# es_req <path>: the body, then the HTTP status on a line of its own (000: the node did not answer)
es_req() { local t; t=$(limit 10) || { OUT_OF_TIME=1; return 1; }; curl -sS -g --max-time "$t" -K "$ES_CURLRC" -w '\\n%{http_code}' "$ES_URL$1" 2>/dev/null; }
# sets ES_CODE and ES_BODY from an es_req answer
es_split() { ES_CODE=\${1##*$'\\n'}; ES_BODY=\${1%$'\\n'*}; [[ "$ES_CODE" =~ ^[0-9]{3}$ ]] || ES_CODE=000; }
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
check_elasticsearch() {
  local ES_CODE ES_BODY
  # the node's own stats need no elected master: any HTTP answer means the node is up
  es_split "$(es_req '/_nodes/_local/stats/jvm,fs?filter_path=nodes.*.jvm.mem.heap_used_percent,nodes.*.fs.total')"
  # the one "check failed" value: a node that does not answer HTTP is down
  if [ "$ES_CODE" = 000 ]; then metric EsNodeUp None 0; return 0; fi
  metric EsNodeUp None 1
  # the node answers but refuses the checker: up, and the check itself is broken (its own alarm)
  case "$ES_CODE" in 401|403) metric EsCheckRejected None 1; failed "Elasticsearch refused the checker's credentials (HTTP $ES_CODE)"; return 0;; esac
  metric EsCheckRejected None 0
  if [ "$ES_CODE" = 200 ]; then
    metric EsHeapUsedPercent Percent "$(json 'list(d["nodes"].values())[0]["jvm"]["mem"]["heap_used_percent"]' <<<"$ES_BODY")"
    metric EsDiskUsedPercent Percent "$(json '(lambda t: round(100 * (t["total_in_bytes"] - t["available_in_bytes"]) / t["total_in_bytes"], 1))(list(d["nodes"].values())[0]["fs"]["total"])' <<<"$ES_BODY")"
  else failed "node stats (HTTP $ES_CODE)"; fi
  es_split "$(es_req '/_cluster/health?timeout=5s')"
  case "$ES_CODE" in
    200)
      metric EsClusterStatus None "$(json '{"green": 0, "yellow": 1, "red": 2}[d["status"]]' <<<"$ES_BODY")" "Cluster=$ES_CLUSTER"
      metric EsUnassignedShards Count "$(json 'd["unassigned_shards"]' <<<"$ES_BODY")" "Cluster=$ES_CLUSTER" ;;
    503)
      # no elected master: nothing can be searched or written, as bad as red (the red alarm fires)
      if grep -q master_not_discovered_exception <<<"$ES_BODY"; then
        echo "elasticsearch: no elected master: cluster status red"
        metric EsClusterStatus None 2 "Cluster=$ES_CLUSTER"
      else failed "cluster health (HTTP 503)"; fi ;;
    *) failed "cluster health (HTTP $ES_CODE)" ;;
  esac
}

db_sql() {
  local auth=() t
  [ -r "$DB_CLIENT_CNF" ] && auth=("--defaults-extra-file=$DB_CLIENT_CNF")
  t=$(limit 20) || { OUT_OF_TIME=1; return 1; }
  timeout "$t" "$DB_CLIENT" "\${auth[@]}" --connect-timeout=5 --batch --skip-column-names -e "$1" 2>/dev/null
}
check_database() {
  local up changed
  # the one "check failed" value: a server that does not answer SELECT 1 is down
  up=$(db_sql 'SELECT 1') || up=0
  [ "$up" = 1 ] || up=0
  metric DbUp None "$up"
  if [ "$up" = 1 ]; then
    if [ "$DB_ENGINE" = mariadb ]; then
      # the same definitions as the host's verify-encryption script (provision/database)
      metric DbUnencryptedTables Count "$(db_sql "SELECT
        (SELECT COUNT(*) FROM information_schema.INNODB_SYS_TABLESPACES s
          LEFT JOIN information_schema.INNODB_TABLESPACES_ENCRYPTION e ON e.SPACE = s.SPACE
          WHERE s.NAME <> 'innodb_temporary' AND COALESCE(e.ENCRYPTION_SCHEME, 0) <> 1)
      + (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_TYPE IN (@@ROTATED_TABLE_TYPES@@)
          AND ENGINE <> 'InnoDB' AND TABLE_SCHEMA NOT IN (@@SYSTEM_SCHEMAS@@))")"
      metric DbTablespacesOnOldKey Count "$(db_sql "SELECT COUNT(*) FROM information_schema.INNODB_SYS_TABLESPACES s
        JOIN information_schema.INNODB_TABLESPACES_ENCRYPTION e ON e.SPACE = s.SPACE
        WHERE e.ENCRYPTION_SCHEME = 1 AND e.CURRENT_KEY_ID < @@innodb_default_encryption_key_id
        AND NOT @@UNMOVABLE_TABLESPACE_SQL@@")"
    else
      metric DbUnencryptedTables Count "$(db_sql "SELECT
        (SELECT COUNT(*) FROM information_schema.INNODB_TABLESPACES WHERE ENCRYPTION <> 'Y' AND NAME NOT LIKE 'innodb\\\\_%')
      + (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND ENGINE <> 'InnoDB'
          AND TABLE_SCHEMA NOT IN (@@SYSTEM_SCHEMAS@@))")"
    fi
  fi
  # rotation rewrites the key file: its age is the current key's age
  if changed=$(stat -c %Y "$DB_KEY_FILE" 2>/dev/null); then
    metric DbKeyAgeDays Count "$(( ($(date +%s) - changed) / 86400 ))"
  fi
}

for section in $SECTIONS; do "check_$section"; done
# the heartbeat: every run publishes it, so a silent host or checker trips its alarm
metric HostCheckerUp None 1

[ "\${#DATA[@]}" -gt 0 ] || { echo "opsfleet-health: nothing to publish" >&2; exit 1; }
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
rc=0
for ((i = 0; i < \${#DATA[@]}; i += 20)); do
  batch=("\${DATA[@]:i:20}")
  (IFS=,; printf '[%s]\\n' "\${batch[*]}") > "$tmp"
  "$AWS" cloudwatch put-metric-data --region "$REGION" \${ENDPOINT_URL:+--endpoint-url "$ENDPOINT_URL"} \\
    --namespace "$NAMESPACE" --metric-data "file://$tmp" --cli-read-timeout 5 --cli-connect-timeout 3 || rc=1
done
exit "$rc"
`;

const sqlList = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(", ");

/** The checker with the database definitions shared with provision/database filled in. */
export const HEALTH_CHECKER_SCRIPT = TEMPLATE
  .replaceAll("@@ROTATED_TABLE_TYPES@@", sqlList(ROTATED_TABLE_TYPES))
  .replaceAll("@@SYSTEM_SCHEMAS@@", sqlList(SYSTEM_SCHEMAS))
  .replaceAll("@@UNMOVABLE_TABLESPACE_SQL@@", UNMOVABLE_TABLESPACE_SQL);
