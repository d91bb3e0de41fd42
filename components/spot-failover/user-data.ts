/**
 * cloud-init user data for the web instances (spot and on-demand alike): nginx on :80 with a
 * health page for the ALB. Pure, so the same text is tested (bash -n, content) and deployed.
 */
export function renderWebUserData(healthCheckPath: string): string {
  return `#!/bin/bash
# opsfleet web tier: nginx on :80, health page at ${healthCheckPath}
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
install -d -m 0755 /var/www/html${healthCheckPath.replace(/\/[^/]*$/, "")}
printf 'ok\\n' > /var/www/html${healthCheckPath}
printf '<!doctype html><title>opsfleet web</title><h1>opsfleet web</h1><p>%s (%s)</p>\\n' "$INSTANCE_ID" "$LIFECYCLE" > /var/www/html/index.html
if [ -d /run/systemd/system ]; then systemctl enable nginx; systemctl restart nginx; else nginx; fi
`;
}
