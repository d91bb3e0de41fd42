/**
 * A node's health gate, after its config step: the next node of the cluster is created or replaced
 * only after it passes. On the first `up` the nodes are created one after another and the cluster
 * is completed later (the security step marks it formed), so before that mark the gate passes at
 * once; from then on it waits until this node joined and the cluster is green.
 */
import type { RenderedStep } from "../common/types";
import { ES_HTTP_PORT, ES_SHELL_PRELUDE, type EsClusterLayout } from "./node-config";

/** Persistent user-defined cluster metadata set by the security step once the whole cluster formed. */
export const ES_FORMED_SETTING = "cluster.metadata.opsfleet_formed";

/** The security step's call that sets the mark (no secret in it). */
export function markFormedScript(url: string, curlrc: string): string {
  return [
    `curl -fsS -g -o /dev/null -K ${curlrc} -X PUT -H 'Content-Type: application/json' --data-binary '{"persistent":{"${ES_FORMED_SETTING}":"true"}}' '${url}/_cluster/settings'`,
    `echo "cluster marked formed (${ES_FORMED_SETTING}): node health gates wait for green from now on"`,
  ].join("\n");
}

export interface EsHealthOptions {
  /** How long a node may answer without an elected master before the gate takes it for a cluster still being formed. @default 120 */
  masterWaitSeconds?: number;
  /** How long to wait for green. @default 1800 */
  greenTimeoutSeconds?: number;
}

export function elasticsearchHealthStep(l: EsClusterLayout, nodeName: string, o: EsHealthOptions = {}): RenderedStep {
  const node = l.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`elasticsearch health: no node ${nodeName} in cluster ${l.clusterName}`);
  const url = `https://${node.privateIp}:${ES_HTTP_PORT}`;
  // Only this node's name and address: a node-count change leaves the gate alone.
  return {
    name: "elasticsearch-healthy",
    description: `wait until cluster ${l.clusterName} is green with ${nodeName} joined (passes before the cluster is first formed)`,
    files: [],
    script: `${ES_SHELL_PRELUDE}
MASTER_WAIT=${o.masterWaitSeconds ?? 120}; GREEN_TIMEOUT=${o.greenTimeoutSeconds ?? 1800}
code() { curl -s -g -o /dev/null -w '%{http_code}' --max-time 60 -K $OPS/elastic.curlrc "${url}$1" || true; }
# 1. This node answers with an elected master (a just-started node needs a moment to join).
end=$((SECONDS + MASTER_WAIT)); c=000
while :; do
  c=$(code '/_cluster/health?timeout=5s')
  [ "$c" = 200 ] && break
  case "$c" in 401|403) echo "the elastic credentials were refused (HTTP $c)" >&2; exit 1 ;; esac
  [ "$SECONDS" -lt "$end" ] || break
  sleep 5
done
if [ "$c" != 200 ]; then
  echo "no elected master after \${MASTER_WAIT} s (HTTP $c): the cluster is still being formed (first creation)"
  echo "opsfleet-es-health: not-formed"; exit 0
fi
# 2. Was the cluster ever complete? (the security step sets the mark after all nodes joined)
settings=$(curl -fsS -g --max-time 30 -K $OPS/elastic.curlrc '${url}/_cluster/settings?flat_settings=true&filter_path=persistent' || true)
if ! grep -q '"${ES_FORMED_SETTING}":"true"' <<<"$settings"; then
  echo "cluster not complete yet (first creation): not waiting for green"
  echo "opsfleet-es-health: not-formed"; exit 0
fi
# 3. This node joined, and green: every shard (replicas included) allocated again.
joined() { curl -fsS -g --max-time 30 -K $OPS/elastic.curlrc '${url}/_cat/nodes?h=name' 2>/dev/null | grep -qx '${nodeName}'; }
end=$((SECONDS + GREEN_TIMEOUT)); i=0
until joined && [ "$(code '/_cluster/health?wait_for_status=green&timeout=50s')" = 200 ]; do
  [ "$SECONDS" -lt "$end" ] || { echo "cluster ${l.clusterName} not green with ${nodeName} joined after \${GREEN_TIMEOUT} s" >&2; exit 1; }
  i=$((i + 1)); [ $((i % 5)) = 1 ] && echo "waiting for ${nodeName} to be joined and the cluster green"
  sleep 2
done
echo "opsfleet-es-health: green"`,
  };
}
