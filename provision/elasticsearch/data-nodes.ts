/**
 * Data-node scaling. Scale-out needs nothing here: a new data node joins through the masters and
 * Elasticsearch moves shards to it by itself. Scale-in must empty a node before its host is
 * deleted: this step (first master, re-run whenever the data-node list changes) excludes every data
 * node that is in the cluster but no longer listed (`cluster.routing.allocation.exclude._name`),
 * waits until they hold no shard, and only then lets the run go on — Pulumi deletes removed hosts
 * after every update of a run. The exclusion always names exactly the data nodes that are leaving:
 * once they are gone the next run of this step clears it (and it never names a listed node, so a
 * re-added name is never kept empty). Master-eligible nodes are not scaled this way (voting config).
 */
import type { RenderedStep } from "../common/types";
import { dataNodes, ES_HTTP_PORT, ES_OPS, masters, type EsClusterLayout } from "./node-config";
import { requestUrlPath, type EsRequest } from "./es-requests";

/** The setting this step owns. */
export const EXCLUDE_NAME = "cluster.routing.allocation.exclude._name";

/** The REST calls of a drain, as data (the host script sends exactly these; tests send them through the official client too). */
export const drainRequests = {
  /** Every node with its roles (`d` = data), one `name roles` line each. */
  nodes: (): EsRequest => ({ method: "GET", path: "/_cat/nodes", querystring: { h: "name,node.role" }, summary: "nodes and roles" }),
  /** Exclude exactly these nodes from shard allocation (none: clear the exclusion). */
  exclude: (names: string[]): EsRequest => ({
    method: "PUT",
    path: "/_cluster/settings",
    body: { persistent: { [EXCLUDE_NAME]: names.length ? names.join(",") : null } },
    summary: names.length ? `exclude ${names.join(",")} from shard allocation` : "clear the allocation exclusion",
  }),
  /** Shards per node, one `shards node` line each. */
  allocation: (): EsRequest => ({ method: "GET", path: "/_cat/allocation", querystring: { h: "shards,node" }, summary: "shards per node" }),
};

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface DataNodesStepOptions {
  /** How long the leaving nodes may take to hand over their shards. */
  timeoutMinutes: number;
}

/** First master, after the security step: drain the data nodes that leave, clear the exclusion when none does. */
export function dataNodesStep(l: EsClusterLayout, o: DataNodesStepOptions): RenderedStep {
  if (!Number.isInteger(o.timeoutMinutes) || o.timeoutMinutes < 1) throw new Error(`data-node drain timeoutMinutes: got ${o.timeoutMinutes}; allowed: a whole number >= 1`);
  const keep = dataNodes(l).map((n) => n.name);
  const url = `https://${masters(l)[0].privateIp}:${ES_HTTP_PORT}`;
  const r = drainRequests;
  const excludeBody = (names: string) => `'{"persistent":{"${EXCLUDE_NAME}":"'"${names}"'"}}'`;
  const script = `
ES_URL="\${ES_URL:-${url}}"; ES_CURLRC="\${ES_CURLRC:-${ES_OPS}/elastic.curlrc}"
KEEP=${q(keep.join(" "))}
TIMEOUT="\${DRAIN_TIMEOUT_SECONDS:-${o.timeoutMinutes * 60}}"
es() { # method path [json body]: prints the response, fails on HTTP >= 300
  local out code
  out=$(mktemp)
  if ! code=$(curl -sS -g -K "$ES_CURLRC" -X "$1" --max-time 60 -H 'Content-Type: application/json' \${3:+--data-binary "$3"} -o "$out" -w '%{http_code}' "$ES_URL$2"); then
    echo "request failed: $1 $2" >&2; rm -f "$out"; return 1
  fi
  if [ "$code" -ge 300 ]; then echo "$1 $2: HTTP $code: $(head -c 2000 "$out")" >&2; rm -f "$out"; return 1; fi
  cat "$out"; rm -f "$out"
}
nodes=$(es ${r.nodes().method} ${q(requestUrlPath(r.nodes()))})
leaving=$(echo "$nodes" | awk -v keep=" $KEEP " 'NF >= 2 && $2 ~ /d/ && index(keep, " " $1 " ") == 0 {print $1}' | sort | paste -sd, -)
if [ -z "$leaving" ]; then
  es PUT ${q(r.exclude([]).path)} ${q(JSON.stringify(r.exclude([]).body))} >/dev/null
  echo "no data node leaves: allocation exclusion cleared (data nodes: $KEEP)"
  exit 0
fi
echo "data nodes leaving: $leaving; excluding them from shard allocation"
es PUT ${q(r.exclude(["x"]).path)} ${excludeBody("$leaving")} >/dev/null
deadline=$((SECONDS + TIMEOUT))
while :; do
  left=$(es ${r.allocation().method} ${q(requestUrlPath(r.allocation()))} | awk -v gone=",$leaving," 'NF >= 2 && index(gone, "," $2 ",") && $1 > 0 {printf "%s=%s ", $2, $1}')
  [ -n "$left" ] || break
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "data nodes still hold shards after $TIMEOUT s: $left(too few data nodes for the replicas, or the others above the disk watermark?); nothing is deleted" >&2
    exit 1
  fi
  echo "waiting for the shards to move off: $left"
  sleep "\${DRAIN_POLL_SECONDS:-10}"
done
echo "data nodes $leaving hold no shard: their hosts can go (the exclusion is cleared by the next run)"`.trimStart();
  return {
    name: "elasticsearch-data-nodes",
    description: `drain data nodes that are no longer listed (allocation exclusion), keep ${keep.length}: ${keep.join(", ")}`,
    files: [],
    script,
  };
}
