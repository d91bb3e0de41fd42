#!/bin/bash
# host-init.sh NAME HOSTROOT LAB — PID 1 of one opsfleet test host (started by lab.sh up).
# Already runs inside the host's own net/mount/uts/ipc/pid namespaces. It makes the per-host
# paths private, starts sshd on :22, then reaps orphans until it gets SIGTERM. When it exits the
# kernel kills every other process of the host (PID-namespace semantics): lab.sh down relies on it.
set -eu
name=$1 root=$2 lab=$3

# Per-host copies (prepared by lab.sh) over the shared root filesystem; private to this mount ns.
for p in root etc/ssh etc/redis etc/mysql etc/hosts var/lib/redis var/lib/mysql var/log; do
  mount --bind "$root/$p" "/$p"
done

# A fresh /run and /tmp, like after a boot. /run/redis* and /run/mysqld are deliberately NOT
# created: on EC2 systemd makes them (RuntimeDirectory=), so scripts that start daemons without
# systemd must create them themselves.
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mkdir -p /run/sshd /run/lock
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t sysfs sysfs /sys 2>/dev/null || true

# Marker for provisioning scripts: this is a test host sharing the machine's kernel, so global
# kernel settings (vm.*, /sys/kernel/mm) must not be written from here.
echo "$lab" > /run/opsfleet-test-host

hostname "$name"
/usr/sbin/sshd -E /var/log/sshd.log

trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $! || true; done
