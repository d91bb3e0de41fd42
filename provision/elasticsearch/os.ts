import type { RenderedStep } from "../common/types";

/**
 * systemd-sysctl and `sysctl --system` apply every sysctl.d file in the byte order of the file NAMES,
 * whatever the directory, and the last value wins. The Elasticsearch deb ships
 * /usr/lib/sysctl.d/elasticsearch.conf (vm.max_map_count=262144 in 8.x); a name like 60-... or 99-...
 * sorts before it (digits < letters), so the package would undo ours at every boot. "zz-" sorts after it
 * and after Debian's 99-sysctl.conf.
 */
export const ES_SYSCTL_FILE = "/etc/sysctl.d/zz-opsfleet-elasticsearch.conf";
/** Where the Elasticsearch 8 deb installs its own sysctl file (elastic/elasticsearch distribution/packages). */
export const ES_PACKAGE_SYSCTL_FILE = "/usr/lib/sysctl.d/elasticsearch.conf";
/** Our file before the rename; removed so only one opsfleet file sets the value. */
const OLD_ES_SYSCTL_FILE = "/etc/sysctl.d/60-opsfleet-elasticsearch.conf";
export const ES_SYSTEMD_OVERRIDE = "/etc/systemd/system/elasticsearch.service.d/opsfleet-limits.conf";
/** Elastic's current recommendation ("Increase virtual memory"); the bootstrap check's floor is 262144. */
export const MAX_MAP_COUNT = 1048576;

/** mmapfs needs many memory maps. The file name must sort after the package's (see ES_SYSCTL_FILE). */
export function renderSysctl(): string {
  return `# Managed by opsfleet: Elasticsearch mmapfs (sorts after ${ES_PACKAGE_SYSCTL_FILE}, so it wins at boot)\nvm.max_map_count=${MAX_MAP_COUNT}\n`;
}

/**
 * systemd ignores limits.conf: `bootstrap.memory_lock: true` needs LimitMEMLOCK in the unit, and the
 * file-descriptor bootstrap check needs 65535 (the deb sets it too; we pin it so it cannot drift).
 */
export function renderSystemdOverride(): string {
  return ["# Managed by opsfleet", "[Service]", "LimitMEMLOCK=infinity", "LimitNOFILE=65535", ""].join("\n");
}

/**
 * OS tuning step (before the first start). vm.* sysctls are global to the kernel: on a test host
 * (a namespace sharing the real machine's kernel, marked by /run/opsfleet-test-host) writing them
 * would change the machine, so the live write, swapoff and the fstab edit are skipped there (also
 * with OPSFLEET_LAB=1, or when /proc/sys is read-only); the sysctl file still applies at the next
 * boot. On EC2, swap goes off now and for good (fstab entries commented out).
 */
export function elasticsearchOsStep(): RenderedStep {
  return {
    name: "elasticsearch-os",
    description: `vm.max_map_count=${MAX_MAP_COUNT}, swap off, systemd LimitMEMLOCK=infinity and LimitNOFILE=65535`,
    files: [
      { path: ES_SYSCTL_FILE, content: renderSysctl(), mode: "0644" },
      { path: ES_SYSTEMD_OVERRIDE, content: renderSystemdOverride(), mode: "0644" },
    ],
    script: `
if [ -e /run/opsfleet-test-host ] || [ "\${OPSFLEET_LAB:-0}" = 1 ] || [ ! -w /proc/sys/vm/max_map_count ]; then
  echo "test host: leaving the shared kernel's vm.max_map_count, swap and /etc/fstab alone (${ES_SYSCTL_FILE} applies at boot)"
else
  rm -f ${OLD_ES_SYSCTL_FILE}
  if [ "$(cat /proc/sys/vm/max_map_count)" -lt ${MAX_MAP_COUNT} ]; then sysctl -q -p ${ES_SYSCTL_FILE}; fi
  if [ -n "$(swapon --noheadings --show=NAME 2>/dev/null)" ]; then swapoff -a; echo "swap turned off"; fi
  if grep -qE '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab; then
    sed -i -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/# disabled by opsfleet (Elasticsearch): \\1/' /etc/fstab
  fi
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  case " $OPSFLEET_CHANGED " in
    *" ${ES_SYSTEMD_OVERRIDE} "*) if systemctl is-active --quiet elasticsearch; then systemctl restart elasticsearch; fi ;;
  esac
fi`.trimStart(),
  };
}
