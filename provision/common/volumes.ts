/**
 * Script that formats (first time only) and mounts attached EBS volumes. On Nitro instances the
 * device name given to the attachment (/dev/sdf) shows up as /dev/nvmeXn1; the stable name is
 * /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_<volume id without dash>, with /dev/xvdX as the
 * fallback on Xen types.
 */
export interface VolumeMount {
  volumeId: string;
  /** Device name used in the attachment, e.g. /dev/sdf. */
  deviceName: string;
  mountPoint: string;
  /** Filesystem label (<= 16 chars). */
  label: string;
  /** Owner of the mount point once the user exists (services create their users on install). */
  owner?: string;
}

const SAFE = /^[A-Za-z0-9._\/-]+$/;

export function renderMountScript(volumes: VolumeMount[]): string {
  const lines = ["# format on first use, mount by UUID, keep across reboots"];
  for (const v of volumes) {
    for (const [k, val] of Object.entries(v)) {
      if (val !== undefined && !SAFE.test(String(val))) throw new Error(`unsafe volume ${k} ${JSON.stringify(val)}`);
    }
    const letter = v.deviceName.replace(/^\/dev\/(sd|xvd)/, "");
    const nvmeId = v.volumeId.replace("-", "");
    lines.push(
      `dev=""`,
      `for i in $(seq 1 120); do`,
      `  for c in /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${nvmeId} /dev/xvd${letter} ${v.deviceName}; do [ -b "$c" ] && { dev=$(readlink -f "$c"); break 2; }; done`,
      `  sleep 1`,
      `done`,
      `[ -n "$dev" ] || { echo "volume ${v.volumeId} (${v.deviceName}) did not appear" >&2; exit 1; }`,
      `blkid "$dev" >/dev/null 2>&1 || mkfs.ext4 -q -L '${v.label}' "$dev"`,
      `uuid=$(blkid -s UUID -o value "$dev")`,
      `install -d -m 0755 '${v.mountPoint}'`,
      `grep -q "UUID=$uuid " /etc/fstab || echo "UUID=$uuid ${v.mountPoint} ext4 defaults,nofail,noatime 0 2" >> /etc/fstab`,
      `mountpoint -q '${v.mountPoint}' || mount '${v.mountPoint}'`,
    );
    if (v.owner) lines.push(`if id -u '${v.owner}' >/dev/null 2>&1; then chown '${v.owner}:${v.owner}' '${v.mountPoint}'; fi`);
  }
  return lines.join("\n");
}

/** Waits for cloud-init; exit code 2 ("degraded", recoverable) is not a failure since cloud-init 23.4. */
export const WAIT_FOR_CLOUD_INIT = [
  "if command -v cloud-init >/dev/null 2>&1; then",
  "  rc=0; cloud-init status --wait >/dev/null 2>&1 || rc=$?",
  '  if [ "$rc" -eq 1 ]; then cloud-init status --long >&2; exit 1; fi',
  "fi",
  "echo ready",
].join("\n");
