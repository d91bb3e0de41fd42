/**
 * A node's health gate, after its config step: the next node of the cluster is created or replaced
 * only after it passes, and it passes only on positive evidence. On the first `up` the nodes are
 * created one after another and the cluster is completed later (the security step marks it formed):
 * it passes at once when an elected master says the cluster was never marked formed, or when this
 * node is a master still bootstrapping the first formation (it carries `cluster.initial_master_nodes`
 * and its data volume never saw a cluster formed: a replaced master gets its volume, marker included,
 * and its config step never bootstraps a data path that holds cluster state) and answers that no master is elected yet. From then on it waits until
 * this node joined and the cluster is green. No answer, any other error, or a settings read that fails
 * is retried until the timeout, then the gate fails with what it saw.
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
  /** How long a bootstrapping master may answer "no elected master" before the gate takes it for the first formation (the next master is needed to elect one). @default 120 */
  masterWaitSeconds?: number;
  /** How long the whole gate may wait: for an answer, an elected master, the settings, then green. @default 1800 */
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
body=$(mktemp); trap 'rm -f "$body"' EXIT
# req PATH: the HTTP status ("000" when nothing answered); the answer's body in $body
req() { : > "$body"; curl -s -g -o "$body" -w '%{http_code}' --max-time 60 -K $OPS/elastic.curlrc "${url}$1" 2>/dev/null || true; }
saw() { echo "HTTP $c$( [ "$c" = 000 ] && echo ' (no answer)')$( [ -s "$body" ] && echo ": $(head -c 300 "$body" | tr '\\n' ' ')")"; }
give_up() { echo "$1 after \${GREEN_TIMEOUT} s; last answer: $(saw)" >&2; exit 1; }
refused() { case "$c" in 401|403) echo "the elastic credentials were refused (HTTP $c)" >&2; exit 1 ;; esac; }
# the first formation: this master carries cluster.initial_master_nodes (its config step found no cluster) and never saw one formed
bootstrapping() { ! es_formed && grep -q '^cluster.initial_master_nodes' $ES_CONF/elasticsearch.yml 2>/dev/null; }
end=$((SECONDS + GREEN_TIMEOUT)); first=$((SECONDS + MASTER_WAIT))
# 1. This node answers with an elected master (a just-started node needs a moment to join).
while :; do
  c=$(req '/_cluster/health?timeout=5s')
  [ "$c" = 200 ] && break
  refused
  if [ "$c" = 503 ] && grep -q '"type":"master_not_discovered_exception"' "$body" && bootstrapping && [ "$SECONDS" -ge "$first" ]; then
    echo "no elected master after \${MASTER_WAIT} s and this master is bootstrapping the first formation (cluster.initial_master_nodes, never formed): the next master is needed to elect one"
    echo "opsfleet-es-health: not-formed"; exit 0
  fi
  [ "$SECONDS" -lt "$end" ] || give_up "no elected master on ${nodeName}"
  sleep 2
done
# 2. Was the cluster ever complete? (the security step sets the mark after all nodes joined) Only a
#    real answer counts: {} (no persistent settings) or the persistent settings.
while :; do
  c=$(req '/_cluster/settings?flat_settings=true&filter_path=persistent')
  if [ "$c" = 200 ] && { [ "$(cat "$body")" = "{}" ] || grep -q '^{"persistent":{' "$body"; }; then break; fi
  refused
  [ "$SECONDS" -lt "$end" ] || give_up "cannot read the persistent cluster settings"
  sleep 2
done
if ! grep -q '"${ES_FORMED_SETTING}":"true"' "$body"; then
  echo "the elected master says the cluster was never marked formed (first creation): not waiting for green"
  echo "opsfleet-es-health: not-formed"; exit 0
fi
# 3. This node joined, and green: every shard (replicas included) allocated again.
joined() { curl -fsS -g --max-time 30 -K $OPS/elastic.curlrc '${url}/_cat/nodes?h=name' 2>/dev/null | grep -qx '${nodeName}'; }
green() { c=$(req '/_cluster/health?wait_for_status=green&timeout=50s'); [ "$c" = 200 ]; }
i=0; c=""
until joined && green; do
  if [ "$SECONDS" -ge "$end" ]; then
    joined && j="${nodeName} joined" || j="${nodeName} not in _cat/nodes"
    [ -n "$c" ] || c=$(req '/_cluster/health')
    echo "cluster ${l.clusterName} not green with ${nodeName} joined after \${GREEN_TIMEOUT} s ($j; last health answer: $(saw))" >&2; exit 1
  fi
  i=$((i + 1)); [ $((i % 5)) = 1 ] && echo "waiting for ${nodeName} to be joined and the cluster green"
  sleep 2
done
echo "opsfleet-es-health: green"`,
  };
}
