/**
 * Bash bodies of the Redis steps (see steps.ts for the parameters each one gets as a variable
 * header). They run as root under `set -euo pipefail`, on EC2 (systemd) and on hosts without
 * systemd (daemons started with start-stop-daemon, pidfile per port). Every one is idempotent.
 */

/** Shared helpers: redis-cli with the password from REDISCLI_AUTH (never on the command line). */
export const HELPERS = String.raw`
have_systemd() { [ -d /run/systemd/system ]; }
cli_at() { local a=$1; shift; redis-cli --no-auth-warning -h "${"$"}{a%:*}" -p "${"$"}{a##*:}" "$@" 2>/dev/null | tr -d '\r' || true; }
field() { awk -F: -v k="$1" '$1==k {print $2; exit}'; }
nocolor() { sed 's/\x1b\[[0-9;]*m//g'; }
# wait_for SECONDS WHAT COMMAND...: bounded wait, says what it waited for when it gives up
wait_for() {
  local secs=$1 what=$2; shift 2; local end=$((SECONDS + secs)) said="" t0=$SECONDS
  until "$@"; do
    [ -n "$said" ] || { echo "waiting for $what"; said=1; }
    [ "$SECONDS" -lt "$end" ] || { echo "timed out after $secs s waiting for $what" >&2; return 1; }
    sleep 0.2
  done
  [ -z "$said" ] || echo "  ($what: $((SECONDS - t0)) s)"
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
