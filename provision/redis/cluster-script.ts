/**
 * The cluster-wide step's bash (see steps.ts `renderRedisClusterStep`): form the cluster, add empty
 * nodes, fix placement, wait until healthy. Runs on one host after every host's nodes are up.
 */
import { HELPERS } from "./scripts";

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
if [ "${"$"}{MODE:-form}" = health ]; then
  # Health gate of one host (LOCAL = its nodes, just provisioned or back on a new instance): the next
  # host is (re)placed only after this passes. A cluster that was never formed (first creation:
  # the hosts are created one after another and the cluster step forms it at the end) passes at once.
  for a in $LOCAL; do wait_for 180 "$a to answer PING" pong "$a"; done
  formed=""
  for a in $NODES; do
    info=$(timeout 5 redis-cli --no-auth-warning -h "${"$"}{a%:*}" -p "${"$"}{a##*:}" cluster info 2>/dev/null | tr -d '\r' || true)
    [ -n "$info" ] || continue   # that host does not exist yet, or is down
    if [ "$(echo "$info" | field cluster_known_nodes)" != 1 ] || [ "$(echo "$info" | field cluster_slots_assigned)" != 0 ]; then formed=1; break; fi
  done
  if [ -z "$formed" ]; then
    echo "no cluster formed yet (first creation): nothing to wait for"
    echo "opsfleet-redis-cluster: not-formed"
    exit 0
  fi
  echo "waiting until the cluster is healthy again (all slots covered, every replica in sync, one master per host)"
fi
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
