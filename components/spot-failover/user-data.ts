/**
 * cloud-init user data for the web instances (spot and on-demand alike): nginx on :80 with a
 * health page for the ALB. Pure, so the same text is tested (bash -n, content) and deployed.
 *
 * `healthCheckPaths`: every path the health page is served on ({@link servedHealthPaths}).
 */
export function renderWebUserData(healthCheckPaths: string[]): string {
  const paths = [...new Set(healthCheckPaths)].sort();
  if (paths.length === 0) throw new Error("renderWebUserData: at least one health check path");
  const pages = paths.map((p) => `install -d -m 0755 /var/www/html${p.replace(/\/[^/]*$/, "")}
printf 'ok\\n' > /var/www/html${p}`).join("\n");
  return `#!/bin/bash
# opsfleet web tier: nginx on :80, health page at ${paths.join(", ")}
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3 4 5; do
  apt-get update -q && apt-get install -y -q --no-install-recommends nginx curl && break
  sleep $((attempt * 5))
done
# IMDSv2 only (the launch template requires tokens).
TOKEN=$(curl -sS -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
imds() { curl -sS -H "X-aws-ec2-metadata-token: $TOKEN" "http://169.254.169.254/latest/meta-data/$1"; }
INSTANCE_ID=$(imds instance-id)
LIFECYCLE=$(imds instance-life-cycle || echo unknown)
${pages}
printf '<!doctype html><title>opsfleet web</title><h1>opsfleet web</h1><p>%s (%s)</p>\\n' "$INSTANCE_ID" "$LIFECYCLE" > /var/www/html/index.html
if [ -d /run/systemd/system ]; then systemctl enable nginx; systemctl restart nginx; else nginx; fi
`;
}

/**
 * The paths a new template's instances serve: the configured one and the one the target group
 * checks right now — read live from AWS at `up` (aws.lb.getTargetGroup), never from Pulumi state:
 * the reconciler switches the path at run time, so state is stale after the first change. After a
 * health-path change the target group keeps checking the live path until the reconciler switches
 * it, once every instance runs a template that serves the configured one (docs/spot.md, "Template
 * changes"); so at any time every instance answers the path the target group checks, however many
 * changes follow each other, mid-roll or not.
 */
export function servedHealthPaths(configured: string, checkedNow: string | undefined): string[] {
  return [...new Set([configured, ...(checkedNow ? [checkedNow] : [])])].sort();
}
