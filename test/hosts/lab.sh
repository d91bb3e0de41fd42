#!/usr/bin/env bash
# lab.sh — local "test hosts" for opsfleet's host tests: each host is a network namespace with its
# own IP on a private bridge plus private mount/uts/ipc/pid namespaces, running sshd on :22 with
# key-only root login. /usr and the rest of /etc are shared with this machine (Debian packages
# installed here look "just installed" on every host); the hosts have no route anywhere else.
#
#   lab.sh up   NAME "host1:10.78.1.11 host2:10.78.1.12 ..."   (all IPs in one /24; .1 = this machine)
#   lab.sh down NAME
#
# NAME ([a-z][a-z0-9]{0,7}) keeps concurrent labs apart: netns olab-NAME-<host>, bridge olab-NAME,
# veths olNAME-<octet>, state under /run/opsfleet-lab/NAME. `up` first removes a leftover lab of the
# same NAME, unless its owner process (LAB_OWNER_PID, default the caller) is still alive: then it
# fails instead. Processes are ended by PID only. Needs root, iproute2, util-linux, openssh-server.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmd=${1:-} name=${2:-}
[[ "$name" =~ ^[a-z][a-z0-9]{0,7}$ ]] || { echo "lab.sh: lab name '$name' invalid (allowed: [a-z][a-z0-9]{0,7})" >&2; exit 2; }
state=/run/opsfleet-lab/$name
bridge=olab-$name
netns_of() { echo "olab-$name-$1"; }
veth_of()  { echo "ol$name-${1##*.}"; }

down() {
  local hosts="" h ip u i p busy
  [ -f "$state/hosts.txt" ] && hosts=$(cat "$state/hosts.txt")
  declare -A U I
  for e in $hosts; do
    h=${e%%:*}; u=$(cat "$state/hosts/$h/unshare.pid" 2>/dev/null || true); i=$(cat "$state/hosts/$h/init.pid" 2>/dev/null || true)
    # pids can be reused: only signal them if they are still ours
    grep -qs unshare "/proc/$u/comm" 2>/dev/null || u=
    { [ -n "$i" ] && grep -qs host-init "/proc/$i/cmdline"; } || i=
    U[$h]=${u:--}; I[$h]=${i:--}
    # `unshare --fork` blocks SIGTERM while waiting, so signal the host's PID 1 (traps TERM)
    [ "${I[$h]}" != - ] && kill -TERM "${I[$h]}" 2>/dev/null || true
  done
  for _ in $(seq 50); do
    busy=
    for e in $hosts; do h=${e%%:*}; for p in "${U[$h]}" "${I[$h]}"; do [ "$p" != - ] && kill -0 "$p" 2>/dev/null && busy=1; done; done
    [ -z "$busy" ] && break; sleep 0.1
  done
  for e in $hosts; do h=${e%%:*}; for p in "${I[$h]}" "${U[$h]}"; do [ "$p" != - ] && kill -KILL "$p" 2>/dev/null || true; done; done
  # every netns of this lab, also ones a crashed `up` never recorded
  for ns in $(ip netns list | awk -v pre="olab-$name-" 'index($1, pre)==1 {print $1}'); do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^ol$name-[0-9]+$" || true); do ip link del "$l" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$state"
  [ "${1:-}" = keep-lock ] || rm -f "/run/opsfleet-lab/$name.lock"
  rmdir /run/opsfleet-lab 2>/dev/null || true
}

up() {
  local spec=$1 net="" e h ip root hd o
  [ "$(id -u)" = 0 ] || { echo "lab.sh: must run as root" >&2; exit 1; }
  for b in ip unshare nsenter ssh ssh-keygen /usr/sbin/sshd; do
    command -v "$b" >/dev/null || { echo "lab.sh: missing $b (apt-get install -y iproute2 util-linux openssh-server openssh-client)" >&2; exit 1; }
  done
  [ -n "$spec" ] || { echo "lab.sh: no hosts given" >&2; exit 2; }
  for e in $spec; do
    h=${e%%:*}; ip=${e#*:}
    [[ "$h" =~ ^[a-z][a-z0-9-]{0,15}$ ]] || { echo "lab.sh: host name '$h' invalid (allowed: [a-z][a-z0-9-]{0,15})" >&2; exit 2; }
    [[ "$ip" =~ ^10\.[0-9]{1,3}\.[0-9]{1,3}\.([0-9]{1,3})$ ]] && [ "${BASH_REMATCH[1]}" -ge 2 ] && [ "${BASH_REMATCH[1]}" -le 254 ] \
      || { echo "lab.sh: host '$h' ip '$ip' invalid (allowed: 10.x.y.2-254)" >&2; exit 2; }
    [ -z "$net" ] && net=${ip%.*}
    [ "${ip%.*}" = "$net" ] || { echo "lab.sh: host '$h' ip '$ip' not in $net.0/24 (all hosts must share one /24)" >&2; exit 2; }
  done
  # One lab per NAME at a time: a lab whose owner (the test process) is alive is not ours to remove.
  mkdir -p /run/opsfleet-lab
  exec 9>"/run/opsfleet-lab/$name.lock"
  flock -w 60 9 || { echo "lab.sh: lab '$name' is being set up by another process" >&2; exit 1; }
  # refusing leaves nothing behind (the lock file only matters while a lab of this name exists)
  refuse() { [ -d "$state" ] || { rm -f "/run/opsfleet-lab/$name.lock"; rmdir /run/opsfleet-lab 2>/dev/null || true; }; echo "lab.sh: $1" >&2; exit 1; }
  owner=$(cat "$state/owner.pid" 2>/dev/null || true)
  if [ -n "$owner" ] && [ "$owner" != "${LAB_OWNER_PID:-}" ] && kill -0 "$owner" 2>/dev/null; then
    refuse "lab '$name' is in use by process $owner ($(tr '\0' ' ' < "/proc/$owner/cmdline" | cut -c1-80)); run the tests one at a time"
  fi
  if [ -d "$state" ] || ip link show "$bridge" >/dev/null 2>&1 || ip netns list | grep -q "^olab-$name-"; then
    echo "lab.sh: removing leftover lab '$name'" >&2; down keep-lock
  fi
  # Refuse a subnet some other interface (another lab, a VPN, docker) already uses.
  if ip -o -4 addr show | awk '{print $2, $4}' | grep -q " $net\."; then
    refuse "subnet $net.0/24 already in use here: $(ip -o -4 addr show | awk '{print $2, $4}' | grep " $net\." | head -1)"
  fi

  trap 'rc=$?; [ $rc = 0 ] || down keep-lock; exit $rc' EXIT    # a half-built lab is removed
  mkdir -p "$state/hosts" "$state/ssh"
  echo "$spec" > "$state/hosts.txt"
  echo "${LAB_OWNER_PID:-$PPID}" > "$state/owner.pid"
  ip link add "$bridge" type bridge
  ip addr add "$net.1/24" dev "$bridge"
  ip link set "$bridge" up

  ssh-keygen -q -t ed25519 -N '' -C "opsfleet-lab-$name" -f "$state/ssh/id_ed25519"
  : > "$state/ssh/known_hosts"
  { echo "Host $net.*"
    echo "  User root"
    echo "  IdentityFile $state/ssh/id_ed25519"
    echo "  IdentitiesOnly yes"
    echo "  UserKnownHostsFile $state/ssh/known_hosts"
    echo "  GlobalKnownHostsFile /dev/null"
    echo "  StrictHostKeyChecking yes"
    echo "  BatchMode yes"
    echo "  ConnectTimeout 5"
    echo "  LogLevel ERROR"
  } > "$state/ssh/config"
  { echo "127.0.0.1 localhost"; for e in $spec; do echo "${e#*:} ${e%%:*}"; done; } > "$state/hosts.etc"

  for e in $spec; do
    h=${e%%:*}; ip=${e#*:}; hd=$state/hosts/$h; root=$hd/root; ns=$(netns_of "$h")
    ip netns add "$ns"
    ip link add "$(veth_of "$ip")" type veth peer name eth0 netns "$ns"
    ip link set "$(veth_of "$ip")" master "$bridge" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$ip/24" dev eth0
    ip -n "$ns" link set eth0 up

    # Per-host copies of what provisioning touches, seeded from this machine's installed packages.
    mkdir -p "$root/etc" "$root/var/lib" "$root/var/log"
    cp -a /etc/ssh "$root/etc/ssh"; rm -f "$root"/etc/ssh/ssh_host_*
    ssh-keygen -q -t ed25519 -N '' -C "root@$h" -f "$root/etc/ssh/ssh_host_ed25519_key"   # ed25519 only: RSA costs ~1 s
    mkdir -p "$root/etc/ssh/sshd_config.d"
    printf '%s\n' "# opsfleet test host: key-only root login, like an EC2 image" "HostKey /etc/ssh/ssh_host_ed25519_key" \
      "PermitRootLogin prohibit-password" "PasswordAuthentication no" "KbdInteractiveAuthentication no" "UseDNS no" "PrintMotd no" \
      > "$root/etc/ssh/sshd_config.d/opsfleet-lab.conf"
    # private /root from /etc/skel (the machine's .bashrc may be slow, and must not be shared)
    install -d -m 700 "$root/root"; cp -r /etc/skel/. "$root/root/"
    install -d -m 700 "$root/root/.ssh"
    install -m 600 "$state/ssh/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
    echo "$ip $(cut -d' ' -f1,2 "$root/etc/ssh/ssh_host_ed25519_key.pub")" >> "$state/ssh/known_hosts"
    for d in /etc/redis /etc/mysql /var/lib/redis /var/lib/mysql; do
      if [ -d "$d" ]; then cp -a --sparse=always "$d" "$root$d"; else mkdir -p "$root$d"; fi
    done
    cp "$state/hosts.etc" "$root/etc/hosts"
    getent passwd redis >/dev/null && install -d -o redis -g adm -m 2750 "$root/var/log/redis"
    getent passwd mysql >/dev/null && install -d -o mysql -g adm -m 2750 "$root/var/log/mysql"

    # PID 1 of the host. --kill-child: if unshare dies, the host's PID 1 (and so the host) dies.
    nsenter --net="/run/netns/$ns" -- unshare --mount --uts --ipc --pid --fork --kill-child --mount-proc -- \
      bash "$here/host-init.sh" "$h" "$root" "$name" > "$hd/init.log" 2>&1 < /dev/null 9>&- &
    echo $! > "$hd/unshare.pid"
  done

  for e in $spec; do
    h=${e%%:*}; ip=${e#*:}; hd=$state/hosts/$h; u=$(cat "$hd/unshare.pid"); child=
    for _ in $(seq 100); do
      child=$(cat "/proc/$u/task/$u/children" 2>/dev/null | awk '{print $1}')
      [ -n "$child" ] && break; sleep 0.05
    done
    [ -n "$child" ] || { echo "lab.sh: host $h: PID 1 did not start: $(cat "$hd/init.log")" >&2; exit 1; }
    echo "$child" > "$hd/init.pid"
    ok=
    for _ in $(seq 100); do
      if ssh -F "$state/ssh/config" "root@$ip" true 2>/dev/null; then ok=1; break; fi; sleep 0.1
    done
    [ -n "$ok" ] || { echo "lab.sh: host $h: ssh root@$ip failed; $(cat "$hd/init.log"); $(tail -5 "$root/var/log/sshd.log" 2>/dev/null)" >&2; exit 1; }
    echo "host $h $ip pid1=$child"
  done
}

case "$cmd" in
  up)   up "${3:-}" ;;
  down) down ;;
  *)    echo "usage: lab.sh up NAME 'host:ip ...' | lab.sh down NAME" >&2; exit 2 ;;
esac
