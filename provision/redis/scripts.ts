/**
 * Bash bodies of the Redis steps (see steps.ts for the parameters each one gets as a variable
 * header). They run as root under `set -euo pipefail`, on EC2 (systemd) and on hosts without
 * systemd (daemons started with start-stop-daemon, pidfile per port). Every one is idempotent.
 */

/** Shared helpers: redis-cli with the password from REDISCLI_AUTH (never on the command line). */
const HELPERS = String.raw`
have_systemd() { [ -d /run/systemd/system ]; }
cli_at() { local a=$1; shift; redis-cli --no-auth-warning -h "${"$"}{a%:*}" -p "${"$"}{a##*:}" "$@" 2>/dev/null | tr -d '\r' || true; }
field() { awk -F: -v k="$1" '$1==k {print $2; exit}'; }
nocolor() { sed 's/\x1b\[[0-9;]*m//g'; }
# wait_for SECONDS WHAT COMMAND...: bounded wait, says what it waited for when it gives up
wait_for() {
  local secs=$1 what=$2; shift 2; local end=$((SECONDS + secs)) said=""
  until "$@"; do
    [ -n "$said" ] || { echo "waiting for $what"; said=1; }
    [ "$SECONDS" -lt "$end" ] || { echo "timed out after $secs s waiting for $what" >&2; return 1; }
    sleep 0.2
  done
}
pong() { [ "$(cli_at "$1" ping)" = PONG ]; }
is_role() { [ "$(cli_at "$1" role | head -n 1)" = "$2" ]; }
state_ok() { [ "$(cli_at "$1" cluster info | field cluster_state)" = ok ]; }
# a node is settled when the cluster is ok from its view and, if it is a replica, its link is up
settled() { state_ok "$1" && { is_role "$1" master || [ "$(cli_at "$1" info replication | field master_link_status)" = up ]; }; }
# every node sees the same roles (gossip has converged after a failover) ...
views_agree() {
  local first="" v a
  for a in $(cli_at "$1" cluster nodes | awk '$3 !~ /(^|,)(fail|noaddr|handshake)(,|$)/ {split($2, x, "@"); print x[1]}'); do
    v=$(cli_at "$a" cluster nodes | awk '{split($2, x, "@"); print x[1], ($3 ~ /master/ ? "master" : "replica")}' | sort)
    [ -n "$v" ] || return 1
    if [ -z "$first" ]; then first=$v; elif [ "$v" != "$first" ]; then return 1; fi
  done
}
# ... and agrees on who serves which slot, with all 16384 covered
agreed() { views_agree "$1" && redis-cli --no-auth-warning --cluster check "$1" >/dev/null 2>&1; }
# failover_to REPLICA MASTER SECONDS: coordinated manual failover (the master pauses its clients
# until the replica has every write). Done only when the replica is master AND the old master a
# replica: a Redis 7.0 replica that won an election less than 4 x node-timeout ago can announce a
# stale win with an old epoch and revert at once; then it resyncs and the request is repeated.
failover_to() {
  local replica=$1 master=$2 end=$((SECONDS + $3)) t
  while [ "$SECONDS" -lt "$end" ]; do
    wait_for 60 "$replica to be in sync" settled "$replica" || return 1
    cli_at "$replica" cluster failover >/dev/null
    t=$((SECONDS + 7))
    while [ "$SECONDS" -lt "$t" ]; do
      if is_role "$replica" master && is_role "$master" slave; then return 0; fi
      sleep 0.2
    done
    echo "failover to $replica not confirmed yet: asking again"
  done
  echo "timed out after $3 s waiting for $replica to take over from $master" >&2
  return 1
}
`;

export const INSTALL_SCRIPT = String.raw`
# Packages only if missing: test hosts have no internet, and EC2 installs them once.
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  echo "redis packages present ($(redis-server --version | awk '{print $3}'))"
else
  for i in 1 2 3 4 5; do
    if apt-get update -q && apt-get install -y -q redis-server redis-tools; then break; fi
    [ "$i" -lt 5 ] || { echo "apt-get install redis-server redis-tools failed 5 times" >&2; exit 1; }
    sleep 10
  done
fi
# The package's single default instance (127.0.0.1:6379) is not part of the cluster.
if [ -d /run/systemd/system ]; then
  if systemctl is-enabled --quiet redis-server.service 2>/dev/null || systemctl is-active --quiet redis-server.service; then
    systemctl disable --now redis-server.service
    echo "default redis-server.service disabled"
  fi
elif [ -f /run/redis/redis-server.pid ]; then
  start-stop-daemon --stop --quiet --oknodo --retry TERM/30/KILL/5 --pidfile /run/redis/redis-server.pid --exec /usr/bin/redis-server
fi
`;

export const OS_TUNING_SCRIPT = String.raw`
# Redis forks for AOF rewrites and replica syncs; with the kernel's heuristic overcommit that fork
# can fail under memory pressure (Redis admin guide). THP is handled by Redis itself (disable-thp).
if [ -e /run/opsfleet-test-host ]; then
  # a local test host shares the machine's kernel: never change global vm.* settings from it
  echo "test host: vm.overcommit_memory left alone (shared kernel)"
else
  want='vm.overcommit_memory = 1'
  f=/etc/sysctl.d/60-opsfleet-redis.conf
  [ "$(cat "$f" 2>/dev/null)" = "$want" ] || printf '%s\n' "$want" > "$f"
  if [ "$(cat /proc/sys/vm/overcommit_memory)" = 1 ]; then
    echo "vm.overcommit_memory already 1"
  else
    sysctl -q -p "$f"
    echo "vm.overcommit_memory set to 1"
  fi
fi
`;

export const NODES_SCRIPT =
  HELPERS +
  String.raw`
# Written by the file writer, which may loosen the directory's mode: keep Debian's redis:redis 2770.
chown redis:redis /etc/redis && chmod 2770 /etc/redis
install -d -o redis -g redis -m 0750 /var/lib/redis
REDISCLI_AUTH=$(cat /etc/redis/opsfleet-auth); export REDISCLI_AUTH

if have_systemd; then
  [ -f /lib/systemd/system/redis-server@.service ] || { echo "redis-server@.service missing (Debian's redis-server package ships it)" >&2; exit 1; }
  # bind needs the private IP up, and the data volume mounted, before redis starts at boot
  d=/etc/systemd/system/redis-server@.service.d
  dropin=$(printf '%s\n' '[Unit]' 'Wants=network-online.target' 'After=network-online.target' 'RequiresMountsFor=/var/lib/redis')
  if [ "$(cat "$d/opsfleet.conf" 2>/dev/null)" != "$dropin" ]; then
    mkdir -p "$d" && printf '%s\n' "$dropin" > "$d/opsfleet.conf" && systemctl daemon-reload
  fi
fi

local_addr() { echo "127.0.0.1:$1"; }
pid_of() { cat "/run/redis-$1/redis-server.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && grep -qsx redis-server "/proc/$pid/comm"; }

start_node() {
  local port=$1
  if have_systemd; then
    systemctl start "redis-server@$port.service"
  else
    install -d -o redis -g redis -m 2755 "/run/redis-$port"
    start-stop-daemon --start --quiet --chuid redis:redis --umask 007 --pidfile "/run/redis-$port/redis-server.pid" \
      --exec /usr/bin/redis-server -- "/etc/redis/redis-$port.conf" --daemonize yes --supervised no
  fi
  wait_for 120 "redis :$port to answer PING" pong "$(local_addr "$port")" || { tail -n 20 "/var/log/redis/redis-server-$port.log" >&2; return 1; }
}

stop_node() {
  local port=$1
  if have_systemd; then
    systemctl stop "redis-server@$port.service"
  else
    start-stop-daemon --stop --quiet --oknodo --retry TERM/60/KILL/5 --pidfile "/run/redis-$port/redis-server.pid" --exec /usr/bin/redis-server
  fi
}

# Restart one instance without losing acknowledged writes or availability: a master first hands
# its slots to its replica (CLUSTER FAILOVER is coordinated), restarts as a replica, resyncs,
# then takes its slots back so every host keeps one master.
restart_node() {
  local port=$1 me replica=""
  me=$(local_addr "$port")
  if [ "$(cli_at "$me" cluster info | field cluster_known_nodes)" -gt 1 ] 2>/dev/null; then
    wait_for 120 "cluster_state:ok before restarting :$port" state_ok "$me"
    if is_role "$me" master; then
      replica=$(cli_at "$me" info replication | awk -F'[=,]' '/^slave0:/ && /state=online/ {print $2":"$4}')
      if [ -n "$replica" ]; then
        echo "redis :$port is a master: failing over to its replica $replica first"
        failover_to "$replica" "$me" 90
      fi
    fi
    stop_node "$port"; start_node "$port"
    wait_for 120 ":$port to rejoin (cluster_state:ok, replication link up)" settled "$me"
    if [ -n "$replica" ]; then
      failover_to "$me" "$replica" 90
      wait_for 120 "$replica to resync" settled "$replica"
    fi
    wait_for 60 "all nodes to agree on roles and slots" agreed "$me"
  else
    stop_node "$port"; start_node "$port"
  fi
}

for port in $PORTS; do
  install -d -o redis -g redis -m 0750 "/var/lib/redis/$port"
  marker=/var/lib/redis/$port/.opsfleet-config-sha256
  want=$(sha256sum "/etc/redis/redis-$port.conf" | cut -d' ' -f1)
  if have_systemd; then systemctl enable --quiet "redis-server@$port.service"; fi
  if alive "$port"; then
    if [ "$(cat "$marker" 2>/dev/null)" = "$want" ]; then
      echo "redis $BIND_IP:$port unchanged (pid $(pid_of "$port"))"
      continue
    fi
    echo "redis $BIND_IP:$port config changed: restarting"
    restart_node "$port"
    echo "redis $BIND_IP:$port restarted (pid $(pid_of "$port"))"
  else
    start_node "$port"
    echo "redis $BIND_IP:$port started (pid $(pid_of "$port"))"
  fi
  printf '%s\n' "$want" > "$marker"
done
`;

/**
 * Placement analysis of `CLUSTER NODES` (awk): prints one fix per line, most important first
 * after `sort`:  `failover <replica> <its master>` (its host has no master while its master's host has two),
 * `orphan <replica> <master-id>` (move a spare replica to a master that has none),
 * `same-host <replica>` (a replica on its master's host). Failed nodes are ignored.
 */
export const PLACEMENT_AWK = String.raw`
{
  split($2, a, "@"); split(a[1], b, ":"); addr[$1] = a[1]; ip[$1] = b[1]
  if ($3 ~ /fail|handshake|noaddr/) next
  if ($3 ~ /master/) { masters[$1] = 1; perhost[b[1]]++ }
  else if ($3 ~ /slave/) { rep[$1] = $4; nrep[$4]++ }
}
END {
  for (r in rep) {
    m = rep[r]
    if (perhost[ip[m]] > 1 && perhost[ip[r]] == 0) print "1-failover", addr[r], addr[m]
  }
  for (o in masters) if (nrep[o] == 0) {
    for (r in rep) if (nrep[rep[r]] > 1 && ip[r] != ip[o]) { print "2-orphan", addr[r], o; break }
  }
  for (r in rep) if (ip[r] == ip[rep[r]]) print "3-same-host", addr[r]
}
`;

/**
 * Picks the master for a replica at IP `ip`: another host's master with the fewest replicas (awk);
 * `taken` lists masters already picked in this run (the view may not show those replicas yet).
 */
export const PICK_MASTER_AWK = String.raw`
{
  split($2, a, "@"); split(a[1], b, ":")
  if ($3 ~ /fail|handshake|noaddr/) next
  if ($3 ~ /master/) { mip[$1] = b[1]; if (!($1 in n)) n[$1] = 0 }
  else if ($3 ~ /slave/) n[$4]++
}
END {
  nt = split(taken, t, " "); for (i = 1; i <= nt; i++) if (t[i] in n) n[t[i]]++
  best = ""; for (m in mip) if (mip[m] != ip && (best == "" || n[m] < n[best] || (n[m] == n[best] && m < best))) best = m
  print best
}
`;

export const CLUSTER_SCRIPT =
  HELPERS +
  String.raw`
REDISCLI_AUTH=$(cat /etc/redis/opsfleet-auth); export REDISCLI_AUTH
n_nodes=$(echo $NODES | wc -w)
n_masters=$((n_nodes / (REPLICAS + 1)))
seed=${"$"}{NODES%% *}
action=unchanged
why=""

for a in $NODES; do wait_for 180 "$a to answer PING" pong "$a"; done

view() { cli_at "$seed" cluster nodes; }
fixes() { view | awk "$PLACEMENT_AWK" | sort; }
stable() {
  local a info
  for a in $NODES; do
    info=$(cli_at "$a" cluster info)
    [ "$(echo "$info" | field cluster_state)" = ok ] || { why="$a: cluster_state is not ok"; return 1; }
    [ "$(echo "$info" | field cluster_slots_ok)" = 16384 ] || { why="$a: not all 16384 slots ok"; return 1; }
    [ "$(echo "$info" | field cluster_known_nodes)" = "$n_nodes" ] || { why="$a: does not know exactly $n_nodes nodes"; return 1; }
    settled "$a" || { why="$a: replication link not up"; return 1; }
  done
  [ "$(view | awk '$3 ~ /master/' | wc -l)" = "$n_masters" ] || { why="not $n_masters masters"; return 1; }
  [ -z "$(view | awk '$3 ~ /fail/')" ] || { why="a node is flagged fail"; return 1; }
  views_agree "$seed" || { why="the nodes' views of the roles differ"; return 1; }
}
healthy() { stable && { [ -z "$(fixes)" ] || { why="placement: $(fixes | head -n 1)"; return 1; }; }; }
fail_with() { echo "$1${"$"}{why:+ ($why)}" >&2; view >&2; exit 1; }

# 1. Form the cluster, or add nodes that lost their data (new host or data volume).
fresh=""; members=""
for a in $NODES; do
  info=$(cli_at "$a" cluster info)
  if [ "$(echo "$info" | field cluster_known_nodes)" = 1 ] && [ "$(echo "$info" | field cluster_slots_assigned)" = 0 ]; then
    fresh="$fresh $a"
  else
    members="$members $a"
  fi
done
if [ -z "$members" ]; then
  # Masters are listed first, one per host; redis-cli puts each replica on another host.
  echo "creating the cluster: $NODES"
  out=$(redis-cli --no-auth-warning --cluster create $NODES --cluster-replicas "$REPLICAS" --cluster-yes 2>&1) \
    || { echo "$out" | nocolor >&2; exit 1; }
  echo "$out" | nocolor | grep -E '^(Adding replica|\[OK\]|\[WARNING\]|\[ERR)' || true
  action=created
elif [ -n "$fresh" ]; then
  seed=${"$"}{members# }; seed=${"$"}{seed%% *}
  # a lost master must have failed over first: add-node refuses a cluster with uncovered slots
  wait_for 120 "all slots covered and agreed on before adding nodes" agreed "$seed" || fail_with "cannot add nodes"
  snapshot=$(view); taken=""
  for a in $fresh; do
    mid=$(echo "$snapshot" | awk -v ip="${"$"}{a%:*}" -v taken="$taken" "$PICK_MASTER_AWK")
    taken="$taken $mid"
    [ -n "$mid" ] || fail_with "no master on another host for $a"
    echo "adding $a as a replica of $mid"
    out=$(redis-cli --no-auth-warning --cluster add-node "$a" "$seed" --cluster-slave --cluster-master-id "$mid" 2>&1) \
      || { echo "$out" | nocolor >&2; exit 1; }
  done
  # forget the identities the re-added addresses (or vanished hosts) had before
  for id in $(view | awk -v keep=" $NODES " -v fresh=" $fresh " '$3 ~ /fail/ && $3 !~ /fail\?/ {split($2,a,"@"); if (index(keep, " " a[1] " ") == 0 || index(fresh, " " a[1] " ") > 0) print $1}'); do
    for a in $NODES; do cli_at "$a" cluster forget "$id" >/dev/null; done
    echo "forgot stale node $id"
  done
  action=joined
fi

# 2. Wait until the view converged, then fix placement: at most one master per host, every
#    master with a replica on another host.
# fixes are computed only on a settled view (a node just added shows up as a master for a moment)
wait_for 180 "all $n_nodes nodes to settle and agree on roles" stable || fail_with "cluster did not settle"
for round in 1 2 3 4 5 6; do
  fix=$(fixes | head -n 1)
  [ -n "$fix" ] || break
  set -- $fix
  case $1 in
    1-failover)
      echo "placement: $2 takes over as master (its host has none, its master's host has two)"
      failover_to "$2" "$3" 90 || fail_with "failover of $2 failed" ;;
    2-orphan)
      echo "placement: $2 moves to master $3, which has no replica"
      cli_at "$2" cluster replicate "$3" >/dev/null ;;
    3-same-host)
      target=$(view | awk -v ip="${"$"}{2%:*}" -v taken="" "$PICK_MASTER_AWK")
      echo "placement: $2 is on its master's host; replicating $target instead"
      cli_at "$2" cluster replicate "$target" >/dev/null ;;
  esac
  [ "$action" != unchanged ] || action=placement-fixed
  wait_for 120 "the cluster to settle after the placement fix" stable || fail_with "placement fix did not settle"
done

# 3. Healthy = ok everywhere, all slots, every replica synced, one master per host.
wait_for 180 "a healthy cluster" healthy || fail_with "cluster not healthy"
view | awk '{split($2,a,"@"); addr[$1]=a[1]; line[NR]=$0} END {for (i=1;i<=NR;i++) {split(line[i],f," "); split(f[2],a,"@"); print "  " a[1] " " (f[3] ~ /master/ ? "master " f[9] : "replica of " addr[f[4]])}}' | sort
echo "opsfleet-redis-cluster: $action"
`;
