/**
 * The cluster-wide step's bash (see steps.ts `renderRedisClusterStep`). It makes the cluster match
 * its node list, NODES: form it; repair an interrupted slot migration; add new hosts (one empty
 * master + one replica each) and spread the slots evenly over all masters (scale-out); move every
 * slot off the hosts no longer listed, then remove their nodes from the cluster (scale-in, before
 * Pulumi deletes those hosts: removed resources are deleted after every update of a run); fix
 * placement; wait until healthy. Runs on one host after every listed host's nodes are up.
 * Slot moves, repair and removal use redis-cli's own cluster manager (rebalance, fix, del-node).
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
 * Before a scale-in (awk, `keep` = " ip:port ... " of the listed nodes): a failover at run time can
 * leave a staying host without a master while its slots sit on a leaving host (which then has two
 * masters). Slots moved off the leaving masters would then land on too few masters. Prints the first
 * fix: `failover <replica> <its master>` (a staying host's replica of a master on a leaving host or
 * on a host with two masters; else a replica of a doubled staying master on a host with none), or
 * `adopt <node> <master>` (a masterless staying host none of whose nodes replicates such a master:
 * that node first replicates a leaving master, then takes over). Nothing when every staying host has one.
 */
export const STAY_MASTERS_AWK = String.raw`
{
  split($2, a, "@"); split(a[1], b, ":")
  if ($3 ~ /fail|handshake|noaddr/) next
  addr[$1] = a[1]; ip[$1] = b[1]; kept = index(keep, " " a[1] " ") > 0
  if (kept) { stay[b[1]] = 1; if (!(b[1] in first) || a[1] < first[b[1]]) first[b[1]] = a[1] }
  if ($3 ~ /master/) { perhost[b[1]]++; if (!kept) { leave[$1] = 1; if (!(b[1] in lip)) lip[b[1]] = $1 } }
  else if ($3 ~ /slave/) { rep[$1] = $4; if (kept) krep[$1] = 1 }
}
END {
  for (h in stay) if (!perhost[h]) { hs[++n] = h }
  for (i = 1; i <= n; i++) for (r in krep) if (ip[r] == hs[i] && (rep[r] in leave || perhost[ip[rep[r]]] > 1)) { print "failover", addr[r], addr[rep[r]]; exit }
  for (i = 1; i <= n; i++) { for (m in leave) { print "adopt", first[hs[i]], addr[m], m; exit } }
  for (r in rep) if (perhost[ip[rep[r]]] > 1 && ip[rep[r]] in stay && !perhost[ip[r]]) { print "failover", addr[r], addr[rep[r]]; exit }
}
`;

/**
 * Surplus masters (awk, `keep` = " ip:port ... " of the listed nodes, `want` = masters wanted): a
 * host removed while down leaves its slots on the replica that took over, so a staying host holds
 * two masters and the listed hosts more masters than hosts (no placement failover can fix that).
 * Prints the ids of as many masters as are too many, each from a host with the most masters, the
 * one with the fewest slots (then the higher address): their slots move away, then they replicate.
 */
export const SURPLUS_AWK = String.raw`
{
  split($2, a, "@"); split(a[1], b, ":")
  if ($3 !~ /master/ || $3 ~ /fail|handshake|noaddr/ || index(keep, " " a[1] " ") == 0) next
  addr[$1] = a[1]; ip[$1] = b[1]; perhost[b[1]]++; n++
  for (i = 9; i <= NF; i++) { if ($i ~ /^\[/) continue; k = split($i, r, "-"); s[$1] += (k == 2 ? r[2] - r[1] + 1 : 1) }
}
END {
  for (extra = n - want; extra > 0; extra--) {
    best = ""
    for (x in addr) {
      if (x in out || perhost[ip[x]] < 2) continue
      if (best == "" || perhost[ip[x]] > perhost[ip[best]] || (perhost[ip[x]] == perhost[ip[best]] && (s[x] < s[best] || (s[x] == s[best] && addr[x] > addr[best])))) best = x
    }
    if (best == "") break
    out[best] = 1; perhost[ip[best]]--; print best
  }
}
`;

/**
 * Picks the master for a replica at IP `ip`: another host's master with the fewest replicas (awk);
 * `taken` lists masters already picked in this run (the view may not show those replicas yet);
 * `keep` (" ip:port ... ") limits the choice to nodes that stay in the cluster; `skip` (" id ... ")
 * excludes masters being emptied (surplus).
 */
export const PICK_MASTER_AWK = String.raw`
{
  split($2, a, "@"); split(a[1], b, ":")
  if ($3 ~ /fail|handshake|noaddr/) next
  if (keep != "" && index(keep, " " a[1] " ") == 0) next
  if ($3 ~ /master/) { if (index(skip, " " $1 " ") == 0) { mip[$1] = b[1]; if (!($1 in n)) n[$1] = 0 } }
  else if ($3 ~ /slave/) n[$4]++
}
END {
  nt = split(taken, t, " "); for (i = 1; i <= nt; i++) if (t[i] in n) n[t[i]]++
  best = ""; for (m in mip) if (mip[m] != ip && (best == "" || n[m] < n[best] || (n[m] == n[best] && m < best))) best = m
  print best
}
`;

/**
 * Guards of the only destructive act of the cluster step (FLUSHALL + CLUSTER RESET HARD of a node
 * the cluster does not know). cli_at turns any error reply (maxclients, BUSY, LOADING, timeout) into
 * an empty string, so every decision needs positive evidence; anything missing = no reset this run.
 * Uses `seed` (a member the slots are served from); sets `why` when it declines.
 */
export const RESET_GUARD = String.raw`
# own_view A: A's CLUSTER NODES, only when it is a real answer (holds A's own "myself" line)
own_view() {
  local v; v=$(cli_at "$1" cluster nodes)
  echo "$v" | awk -v a="$1" '$1 ~ /^[0-9a-f]+$/ && length($1) == 40 && $3 ~ /myself/ {split($2, x, "@"); if (x[1] == a) f = 1} END {exit !f}' || return 1
  echo "$v"
}
seed_view() { own_view "$seed"; }
# not_member A: 0 = proven foreign (valid id, absent from the views of the seed and every reachable member);
# 1 = a member (why empty) or not proven (why set)
not_member() {
  local a=$1 id v m mv
  id=$(cli_at "$a" cluster myid)
  echo "$id" | grep -qx '[0-9a-f]\{40\}' || { why="its CLUSTER MYID reply is not a node id ('$id')"; return 1; }
  v=$(seed_view) || { why="the seed $seed gave no usable CLUSTER NODES"; return 1; }
  echo "$v" | awk '{print $1}' | grep -qx "$id" && return 1
  for m in $(echo "$v" | awk '$3 !~ /myself|fail|handshake|noaddr/ {split($2, x, "@"); print x[1]}'); do
    [ "$m" != "$a" ] || continue
    mv=$(own_view "$m") || { why="member $m gave no usable CLUSTER NODES"; return 1; }
    echo "$mv" | awk '{print $1}' | grep -qx "$id" && { why="member $m still knows its id $id"; return 1; }
  done
  return 0
}
# covered_without A ID: the masters other than A (by address and id), failed ones excluded, serve all 16384 slots
covered_without() {
  local v n
  v=$(seed_view) || return 1
  n=$(echo "$v" | awk -v a="$1" -v id="$2" '$3 ~ /master/ && $3 !~ /fail|handshake|noaddr/ {
    split($2, x, "@"); if ($1 == id || x[1] == a) next
    for (i = 9; i <= NF; i++) { if ($i ~ /^\[/) continue; k = split($i, r, "-"); n += (k == 2 ? r[2] - r[1] + 1 : 1) } }
    END {print n + 0}')
  [ "$n" = 16384 ]
}
# reset_node A REASON: a node outside the cluster that still holds data or an old identity: its keys
# are a superseded copy (the other nodes serve every slot); a hard reset gives it a new node id, so a
# re-added address never meets the 60 s ban of its forgotten id. Returns 1 (why set) when not proven safe.
reset_node() {
  local a=$1 keys id role
  id=$(cli_at "$a" cluster myid)
  echo "$id" | grep -qx '[0-9a-f]\{40\}' || { why="its CLUSTER MYID reply is not a node id ('$id')"; return 1; }
  covered_without "$a" "$id" || { why="the other nodes do not serve all 16384 slots without it"; return 1; }
  keys=$(cli_at "$a" dbsize); role=$(cli_at "$a" role | head -n 1)
  echo "$keys" | grep -qx '[0-9]\+' || { why="its DBSIZE reply is not a number ('$keys')"; return 1; }
  case "$role" in master|slave) ;; *) why="its ROLE reply is unusable ('$role')"; return 1 ;; esac
  if [ "$role" = master ] && [ "$keys" != 0 ]; then
    echo "$a: $2; discarding its $keys keys (a superseded copy)"
    [ "$(cli_at "$a" flushall)" = OK ] || { why="FLUSHALL failed"; return 1; }
  else
    echo "$a: $2; resetting it"
  fi
  [ "$(cli_at "$a" cluster reset hard)" = OK ] || { why="CLUSTER RESET HARD failed"; return 1; }
}
`;

export const CLUSTER_SCRIPT =
  HELPERS +
  String.raw`
REDISCLI_AUTH=$(cat /etc/redis/opsfleet-auth); export REDISCLI_AUTH
${RESET_GUARD}
if [ "${"$"}{MODE:-form}" = health ]; then
  # Health gate of one host (LOCAL = its nodes, just provisioned or back on a new instance): the next
  # host is (re)placed only after this passes, and only on positive evidence.
  for a in $LOCAL; do wait_for 180 "$a to answer PING" pong "$a"; done
  formed=""
  for a in $LOCAL; do
    info=$(cli_at "$a" cluster info)
    if [ "$(echo "$info" | field cluster_known_nodes)" != 1 ] || [ "$(echo "$info" | field cluster_slots_assigned)" != 0 ]; then formed=1; fi
  done
  if [ -z "$formed" ]; then
    # This host's nodes know no cluster: a first creation, a new host, or a host that came back empty
    # (a lost volume). Only the other hosts' nodes can tell which.
    peer_info() { timeout 5 redis-cli --no-auth-warning -h "${"$"}{1%:*}" -p "${"$"}{1##*:}" cluster info 2>/dev/null | tr -d '\r' || true; }
    end=$((SECONDS + PEER_WAIT)); member=""
    while :; do
      lone=""; silent=""
      for p in $PEERS; do
        info=$(peer_info "$p"); known=$(echo "$info" | field cluster_known_nodes); slots=$(echo "$info" | field cluster_slots_assigned)
        if ! echo "$known" | grep -qx '[0-9]\+' || ! echo "$slots" | grep -qx '[0-9]\+'; then silent="$silent $p"
        elif [ "$known" = 1 ] && [ "$slots" = 0 ]; then lone="$lone $p"
        else member=$p; break 2; fi
      done
      [ -n "$silent" ] && [ "$SECONDS" -lt "$end" ] || break
      sleep 1
    done
    if [ -n "$member" ]; then
      v=$(own_view "$member") || { echo "$member is in a cluster but gave no usable CLUSTER NODES" >&2; exit 1; }
      # ours: a node at this address, or failed nodes without one (a fresh node answering at a known
      # node's address makes the others drop that address: "noaddr"); a failed node that keeps its
      # address is another host's problem, and this host a new one
      if echo "$v" | awk -v ip="$HOST_IP" '$3 !~ /noaddr|handshake/ {split($2, a, "@"); split(a[1], b, ":"); if (b[1] == ip) f = 1} END {exit !f}'; then
        lost="it still knows $HOST_IP"
      elif echo "$v" | awk '$3 ~ /(^|,)fail(,|$)/ && $3 ~ /noaddr/ {f = 1} END {exit !f}'; then
        lost="it has failed nodes whose address now answers with another id ($(echo "$v" | awk '$3 ~ /(^|,)fail(,|$)/ && $3 ~ /noaddr/' | wc -l), noaddr)"
      else lost=""; fi
      if [ -n "$lost" ]; then
        echo "this host's nodes came back empty and the cluster ($member) misses them ($lost): adding them back"
        NODES=$( { echo "$v" | awk '$3 !~ /noaddr|handshake/ {split($2, a, "@"); print a[1]}'; printf '%s\n' $LOCAL; } | sort -u | tr '\n' ' ')
        NODES=${"$"}{NODES% }
      else
        # a new host: the cluster step adds it; pass only while that cluster is whole. Placement
        # (a host with two masters, another with none: what any failover or master restart leaves)
        # is not unhealth: the cluster step, which runs after every gate, fixes it.
        whole() {
          local info v
          info=$(cli_at "$member" cluster info)
          [ "$(echo "$info" | field cluster_state)" = ok ] || { why="cluster_state is not ok"; return 1; }
          [ "$(echo "$info" | field cluster_slots_ok)" = 16384 ] || { why="not all 16384 slots ok"; return 1; }
          v=$(own_view "$member") || { why="no usable CLUSTER NODES"; return 1; }
          echo "$v" | awk '$3 ~ /fail/ {bad = 1} END {exit bad}' || { why="a node is failed"; return 1; }
        }
        why=""
        wait_for 120 "the cluster ($member) to be whole (all slots ok, no failed node)" whole \
          || { echo "$HOST_IP is not in the cluster and the cluster is not whole${"$"}{why:+ ($why)}" >&2; own_view "$member" >&2 || true; exit 1; }
        echo "the cluster ($member) is whole and does not know $HOST_IP: a new host, the cluster step adds its nodes"
        echo "opsfleet-redis-cluster: new-host"
        exit 0
      fi
    elif [ -n "$lone" ]; then
      echo "the other hosts' nodes that answer (${"$"}{lone# }) are in no cluster either: first creation, the cluster step forms it after the last host"
      echo "opsfleet-redis-cluster: not-formed"
      exit 0
    elif [ "$CREATED_FIRST" = 1 ]; then
      echo "no other host's node answers and this is the first host of the creation chain: first creation (the next hosts do not exist yet)"
      echo "opsfleet-redis-cluster: not-formed"
      exit 0
    else
      echo "this host's nodes know no cluster and no other host's node answered within $PEER_WAIT s (${"$"}{silent# }): cannot tell a first creation from a host that came back empty" >&2
      exit 1
    fi
  else
    # the members as the cluster knows them (failed ones included: they must come back)
    v=$(own_view "${"$"}{LOCAL%% *}") || { echo "${"$"}{LOCAL%% *} gave no usable CLUSTER NODES" >&2; exit 1; }
    NODES=$(echo "$v" | awk '$3 !~ /noaddr|handshake/ {split($2, a, "@"); print a[1]}' | sort | tr '\n' ' ')
    NODES=${"$"}{NODES% }
  fi
  echo "waiting until the cluster is healthy again ($(echo $NODES | wc -w) nodes: all slots covered, every replica in sync, one master per host)"
fi
n_nodes=$(echo $NODES | wc -w)
n_masters=$((n_nodes / (REPLICAS + 1)))
seed=${"$"}{NODES%% *}
action=unchanged
why=""
did() { if [ "$action" = unchanged ]; then action=$1; else case ",$action," in *",$1,"*) ;; *) action="$action,$1" ;; esac; fi; }

for a in $NODES; do wait_for 180 "$a to answer PING" pong "$a"; done

view() { cli_at "$seed" cluster nodes; }
fixes() { view | awk "$PLACEMENT_AWK" | sort; }
# masters that answer, with their slot count and whether they stay: "id ip:port slots keep|leave|surplus"
# (surplus: a listed master to be emptied, see SURPLUS_AWK)
surplus=""
masters() {
  view | awk -v keep=" $NODES " -v surplus=" $surplus " '$3 ~ /master/ && $3 !~ /fail|handshake|noaddr/ {
    split($2, a, "@"); n = 0
    for (i = 9; i <= NF; i++) { if ($i ~ /^\[/) continue; k = split($i, r, "-"); n += (k == 2 ? r[2] - r[1] + 1 : 1) }
    print $1, a[1], n, (index(keep, " " a[1] " ") == 0 ? "leave" : index(surplus, " " $1 " ") ? "surplus" : "keep") }'
}
# nodes that answer but are not listed (their host leaves): "0|1 id ip:port" (0 = replica, removed first)
leaving() { view | awk -v keep=" $NODES " '$3 !~ /fail|handshake|noaddr/ {split($2, a, "@"); if (index(keep, " " a[1] " ") == 0) print ($3 ~ /master/ ? 1 : 0), $1, a[1]}' | sort; }
# even = no slot on a leaving master, and the staying masters' shares differ by at most
# max(1, 16384 mod masters) slots: redis-cli rebalance hands the remainder of 16384 / masters
# to the receiving masters, and re-running it would only shuffle that remainder around.
balanced() {
  masters | awk '$4 == "keep" {n++; if (min == "" || $3 < min) min = $3; if ($3 > max) max = $3} $4 != "keep" && $3 > 0 {bad = 1}
    END {tol = (n ? 16384 % n : 0); if (tol < 1) tol = 1; exit (bad || min == "" || max - min > tol) ? 1 : 0}' || { why="slots not spread evenly: $(masters | awk '{printf "%s=%s ", $2, $3}')"; return 1; }
}
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
# every node that answers (listed or leaving) is settled, and all agree on roles and slots
all_settled() {
  local a
  for a in $(view | awk '$3 !~ /fail|handshake|noaddr/ {split($2, x, "@"); print x[1]}'); do
    settled "$a" || { why="$a: not settled (cluster_state or replication link)"; return 1; }
  done
  agreed "$seed" || { why="the nodes do not agree on roles and slots yet"; return 1; }
  # a replica just added shows as an (empty) master until gossip catches up: never spread slots to it
  [ -z "$fresh" ] || [ "$(masters | awk '$4 == "keep"' | wc -l)" = "$n_masters" ] || { why="not $n_masters listed masters yet"; return 1; }
}
healthy() { stable && balanced && { [ -z "$(fixes)" ] || { why="placement: $(fixes | head -n 1)"; return 1; }; }; }
fail_with() { echo "$1${"$"}{why:+ ($why)}" >&2; view >&2; exit 1; }
# die WHAT: a command failed (not a check): no reason left over from an earlier check
die() { why=""; fail_with "$1"; }
covered() { [ "$(cli_at "$seed" cluster info | field cluster_slots_assigned)" = 16384 ]; }
open_slots() {
  local a
  for a in $(view | awk '$3 !~ /fail|handshake|noaddr/ {split($2, x, "@"); print x[1]}'); do
    cli_at "$a" cluster nodes | awk '/myself/ {for (i = 9; i <= NF; i++) if ($i ~ /^\[/) f = 1} END {exit !f}' && echo "$a"
  done
  return 0
}
# pick_from VIEW IP TAKEN: the master for a replica at IP (see PICK_MASTER_AWK)
pick_from() { echo "$1" | awk -v ip="$2" -v taken="$3" -v keep=" $NODES " -v skip=" $surplus " "$PICK_MASTER_AWK"; }
pick_master() { pick_from "$(view)" "$1" "$2"; }

# 1. Which listed nodes are new (empty, alone) and which belong to a cluster.
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
  did created
else
  # the seed: a listed member the cluster's slots are served from
  seed=""
  for a in $members; do if state_ok "$a"; then seed=$a; break; fi; done
  [ -n "$seed" ] || { seed=${"$"}{members# }; seed=${"$"}{seed%% *}; }
  wait_for 120 "all 16384 slots assigned and all views agreeing" eval 'covered && views_agree "$seed"' || fail_with "the cluster is not whole"

  # 2. An interrupted migration (a slot left migrating/importing) blocks every later change: repair it first.
  bad=$(open_slots | tr '\n' ' ')
  if [ -n "$bad" ]; then
    echo "repairing an interrupted slot migration (open slots on $bad)"
    out=$(redis-cli --no-auth-warning --cluster fix "$seed" --cluster-yes 2>&1) || { echo "$out" | nocolor >&2; die "redis-cli --cluster fix failed"; }
    echo "$out" | nocolor | grep -E '^(\*\*\* |>>> (Fixing|Case|Moving|Setting))' | head -n 20 || true
    [ -z "$(open_slots)" ] || die "open slots remain after redis-cli --cluster fix"
    did repaired
  fi

  # 3. A listed node with its own idea of the cluster that the cluster does not share (removed
  #    while down, or a restored stale nodes.conf) cannot rejoin as it is: reset it, then add it.
  for a in ${"$"}{members}; do
    [ "$a" != "$seed" ] || continue
    why=""
    if not_member "$a"; then
      if reset_node "$a" "not a member of this cluster (stale cluster config)"; then fresh="$fresh $a"
      else echo "$a: looks foreign but not resetting it this run: $why"; fi
    elif [ -n "$why" ]; then echo "$a: membership unknown, not resetting it this run: $why"; fi
  done

  # 4. New or emptied nodes join: on a host without a master one becomes an empty master (while
  #    there are fewer masters than hosts), the others replicas of another host's master.
  if [ -n "$fresh" ]; then
    wait_for 120 "all slots covered and agreed on before adding nodes" agreed "$seed" || fail_with "cannot add nodes"
    for a in $fresh; do
      k=$(cli_at "$a" dbsize)
      [ "$k" = 0 ] || reset_node "$a" "not part of the cluster but holds keys" || fail_with "refusing to reset $a"
    done
    added_masters=""
    for a in $fresh; do
      ip=${"$"}{a%:*}
      have=$(masters | awk '$4 == "keep"' | wc -l)
      [ "$have" -lt "$n_masters" ] || break
      if masters | awk -v ip="$ip" '$4 == "keep" {split($2, x, ":"); if (x[1] == ip) f = 1} END {exit !f}'; then continue; fi
      case " $added_masters " in *" $ip:"*) continue ;; esac
      echo "adding $a as a new master (empty until the slots are spread)"
      out=$(redis-cli --no-auth-warning --cluster add-node "$a" "$seed" 2>&1) || { echo "$out" | nocolor >&2; exit 1; }
      added_masters="$added_masters $a"
      wait_for 60 "$a to be known as a master" eval 'view | grep -q " $a@.* master "' || fail_with "$a did not join"
    done
    [ -z "$added_masters" ] || wait_for 120 "every node to know the new masters" views_agree "$seed" || fail_with "new masters not known everywhere"
    # picked from one snapshot: a replica just added shows as an empty master until gossip catches up
    snapshot=$(view); taken=""
    for a in $fresh; do
      case " $added_masters " in *" $a "*) continue ;; esac
      mid=$(pick_from "$snapshot" "${"$"}{a%:*}" "$taken")
      taken="$taken $mid"
      [ -n "$mid" ] || die "no master on another host for $a"
      echo "adding $a as a replica of $mid"
      out=$(redis-cli --no-auth-warning --cluster add-node "$a" "$seed" --cluster-slave --cluster-master-id "$mid" 2>&1) \
        || { echo "$out" | nocolor >&2; exit 1; }
    done
    if [ -n "$added_masters" ]; then did scaled-out; else did joined; fi
  fi
  # forget the identities the re-added addresses had before, and vanished unlisted nodes (no slots)
  for id in $(view | awk -v keep=" $NODES " -v fresh=" $fresh " '$3 ~ /fail/ && $3 !~ /fail\?/ && NF < 9 {split($2,a,"@"); if (index(keep, " " a[1] " ") == 0 || index(fresh, " " a[1] " ") > 0) print $1}'); do
    for a in $NODES; do cli_at "$a" cluster forget "$id" >/dev/null; done
    echo "forgot stale node $id"
  done

  # 5. Spread the slots evenly: to new (empty) masters, and off every master whose host leaves
  #    (weight 0). Refused before anything moves if the staying masters cannot hold the data.
  too_many() { [ -n "$(view | awk -v keep=" $NODES " -v want="$n_masters" "$SURPLUS_AWK")" ]; }
  if [ -n "$(leaving)" ] || ! balanced || too_many; then
    wait_for 300 "every node to be settled and agree on roles and slots" all_settled || fail_with "cluster did not settle"
  fi
  # 5a. A failover at run time may have left a staying host without a master (its slots on a
  #     leaving host): give every staying host its master back before any slot moves, or the
  #     leaving slots would land on too few masters and the cluster never count n masters again.
  if [ -n "$(leaving)" ]; then
    for round in 1 2 3 4 5 6 7 8; do
      fix=$(view | awk -v keep=" $NODES " "$STAY_MASTERS_AWK")
      [ -n "$fix" ] || break
      set -- $fix
      if [ "$1" = adopt ]; then
        echo "placement before the scale-in: $2 (its host has no master) replicates the leaving master $3 first"
        [ "$(cli_at "$2" cluster replicate "$4")" = OK ] || die "$2 could not replicate $3"
      fi
      echo "placement before the scale-in: $2 takes over from $3 (a staying host has no master)"
      failover_to "$2" "$3" 90 || die "failover of $2 failed"
      wait_for 120 "the cluster to settle after the failover" all_settled || fail_with "the failover did not settle"
      did placement-fixed
    done
    fix=$(view | awk -v keep=" $NODES " "$STAY_MASTERS_AWK")
    [ -z "$fix" ] || fail_with "a staying host still has no master ($fix)"
  fi
  # 5b. More listed masters than hosts (a host removed while down: its replica took over on a staying
  #     host): the surplus ones are emptied by the spread below, then replicate another host's master.
  surplus=$(view | awk -v keep=" $NODES " -v want="$n_masters" "$SURPLUS_AWK" | tr '\n' ' ')
  [ -z "$surplus" ] || echo "surplus masters (more listed masters than hosts): $(masters | awk '$4 == "surplus" {printf "%s ", $2}')- their slots move to the others"
  if ! balanced; then
    if masters | awk '$4 != "keep" && $3 > 0 {f = 1} END {exit !f}'; then
      # Per staying master: an even share of all the data plus its own overhead, with 10% headroom,
      # must fit its maxmemory (a sum over all masters would hide one that cannot take its share).
      total=0; keepers=""
      for m in $(masters | awk '{print $2 "=" $4}'); do
        mem=$(cli_at "${"$"}{m%=*}" info memory)
        data=$(echo "$mem" | field used_memory_dataset)
        total=$((total + ${"$"}{data:-0}))
        [ "${"$"}{m#*=}" != keep ] || keepers="$keepers ${"$"}{m%=*}"
      done
      k=$(echo $keepers | wc -w); [ "$k" -gt 0 ] || fail_with "no staying master answers"
      share=$((total / k)); worst=""
      mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
      for addr in $keepers; do
        mem=$(cli_at "$addr" info memory)
        used=$(echo "$mem" | field used_memory); data=$(echo "$mem" | field used_memory_dataset)
        max=$(cli_at "$addr" config get maxmemory | tail -n 1)
        [ "${"$"}{max:-0}" != 0 ] || continue # no limit
        over=$((${"$"}{used:-0} - ${"$"}{data:-0})); need=$((share + over))
        if [ $((need * 10)) -gt $((max * 9)) ]; then
          worst="$worst; $addr would hold $(mib $need) MiB (a 1/$k share $(mib $share) MiB of the $(mib $total) MiB of data + $(mib $over) MiB overhead), above 90% of its maxmemory $(mib $max) MiB"
        fi
      done
      if [ -n "$worst" ]; then
        why=""
        fail_with "scale-in refused: not every staying master can hold an even share of the data with 10% headroom${"$"}{worst}. Raise maxmemoryMb or keep more hosts. No slot was moved"
      fi
      echo "memory check: a 1/$k share ($(mib $share) MiB of $(mib $total) MiB of data) plus overhead fits each staying master's maxmemory with 10% headroom"
    fi
    weights=$(masters | awk '$4 != "keep" {printf "%s=0 ", $1}')
    # a master that gives away its last slot would turn into a replica (replica migration) while
    # redis-cli still moves other slots through it as a master: keep the emptied ones masters
    for m in $(masters | awk '$4 != "keep" {print $2}'); do cli_at "$m" config set cluster-allow-replica-migration no >/dev/null; done
    echo "spreading the slots evenly over $n_masters masters${"$"}{weights:+ (off the leaving hosts and surplus masters)}"
    t0=$EPOCHREALTIME
    # --cluster-pipeline: keys per MIGRATE (redis-cli's default of 10 makes a move mostly round trips)
    out=$(redis-cli --no-auth-warning --cluster rebalance "$seed" --cluster-use-empty-masters --cluster-threshold 0.01 --cluster-pipeline 100 \
      ${"$"}{weights:+--cluster-weight $weights} 2>&1) || { echo "$out" | nocolor | grep -v '^#' >&2; die "redis-cli --cluster rebalance failed"; }
    echo "$out" | nocolor | grep -oE 'Moving [0-9]+ slots from [0-9.:]+ to [0-9.:]+' || true
    echo "slots spread in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s"
    wait_for 60 "the slot owners to agree" agreed "$seed" || fail_with "nodes disagree after the rebalance"
    balanced || fail_with "slots are not spread evenly after the rebalance"
    if [ -n "$(leaving)" ]; then did scaled-in; else case ",$action," in *,scaled-out,*) ;; *) did rebalanced ;; esac; fi
  fi
  # the emptied surplus masters replicate a master on another host (placement below evens out the replicas)
  for id in $surplus; do
    addr=$(masters | awk -v id="$id" '$1 == id {print $2}')
    [ -n "$addr" ] || continue
    mid=$(pick_master "${"$"}{addr%:*}" "")
    [ -n "$mid" ] || die "no master on another host for the surplus master $addr"
    echo "$addr (surplus master, now empty) replicates $mid"
    [ "$(cli_at "$addr" cluster replicate "$mid")" = OK ] || die "$addr could not replicate $mid"
    cli_at "$addr" config set cluster-allow-replica-migration yes >/dev/null
    did placement-fixed
  done
  surplus=""

  # 6. Remove the leaving hosts' nodes (they hold no slot now): staying replicas of a leaving
  #    master move to a staying one, then every leaving node is forgotten everywhere and reset.
  if [ -n "$(leaving)" ]; then
    gone=$(leaving | awk '{print $2}' | tr '\n' ' ')
    taken=""
    for r in $(view | awk -v gone=" $gone " -v keep=" $NODES " '$3 ~ /slave/ && $3 !~ /fail|handshake|noaddr/ {split($2, a, "@"); if (index(keep, " " a[1] " ") && index(gone, " " $4 " ")) print a[1]}'); do
      mid=$(pick_master "${"$"}{r%:*}" "$taken"); taken="$taken $mid"
      [ -n "$mid" ] || die "no staying master on another host for $r"
      echo "$r replicated a leaving master: now a replica of $mid"
      [ "$(cli_at "$r" cluster replicate "$mid")" = OK ] || die "$r could not replicate $mid"
    done
    for n in $(leaving | awk '{print $2 "=" $3}'); do
      id=${"$"}{n%=*}; addr=${"$"}{n#*=}
      echo "removing $addr ($id) from the cluster"
      out=$(redis-cli --no-auth-warning --cluster del-node "$seed" "$id" 2>&1) || { echo "$out" | nocolor >&2; die "redis-cli --cluster del-node $id failed"; }
      cli_at "$addr" cluster reset hard >/dev/null
    done
    did scaled-in
  fi
fi

# 7. Wait until the view converged, then fix placement: at most one master per host, every
#    master with a replica on another host.
# fixes are computed only on a settled view (a node just added shows up as a master for a moment)
wait_for 180 "all $n_nodes nodes to settle and agree on roles" stable || fail_with "cluster did not settle"
for round in 1 2 3 4 5 6 7 8 9 10 11 12; do
  fix=$(fixes | head -n 1)
  [ -n "$fix" ] || break
  set -- $fix
  case $1 in
    1-failover)
      echo "placement: $2 takes over as master (its host has none, its master's host has two)"
      failover_to "$2" "$3" 90 || die "failover of $2 failed" ;;
    2-orphan)
      echo "placement: $2 moves to master $3, which has no replica"
      cli_at "$2" cluster replicate "$3" >/dev/null ;;
    3-same-host)
      target=$(pick_master "${"$"}{2%:*}" "")
      echo "placement: $2 is on its master's host; replicating $target instead"
      cli_at "$2" cluster replicate "$target" >/dev/null ;;
  esac
  [ "$action" != unchanged ] || action=placement-fixed
  wait_for 120 "the cluster to settle after the placement fix" stable || fail_with "placement fix did not settle"
done

# 8. Healthy = ok everywhere, all slots, every replica synced, one master per host, slots even.
wait_for 180 "a healthy cluster" healthy || fail_with "cluster not healthy"
view | awk '{split($2,a,"@"); addr[$1]=a[1]; line[NR]=$0} END {for (i=1;i<=NR;i++) {split(line[i],f," "); split(f[2],a,"@"); print "  " a[1] " " (f[3] ~ /master/ ? "master " f[9] (f[10] ? " ..." : "") : "replica of " addr[f[4]])}}' | sort
echo "opsfleet-redis-cluster: $action"
`;
