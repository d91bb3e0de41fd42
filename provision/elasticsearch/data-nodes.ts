/**
 * Data-node scaling. Scale-out needs nothing here: a new data node joins through the masters and
 * Elasticsearch moves shards to it by itself. Scale-in must empty a node before its host is
 * deleted: this step (first master, re-run whenever the data-node list changes) works out which
 * data nodes leave from the layouts, not from one look at the cluster: the data-node names of the
 * last run are recorded in the cluster itself (user-defined cluster metadata, `RECORD_SETTING`);
 * leaving = recorded (plus any data node present but not listed) minus the layout's. It excludes
 * them (`cluster.routing.allocation.exclude._name`), reads the setting back to confirm it applies,
 * waits until each of them is present and holds 0 shards, and only then records the new list and
 * lets the run go on — Pulumi deletes removed hosts after every update of a run. A leaving node that
 * is absent from the cluster cannot be shown to be empty: the step fails (nothing is deleted) until
 * it is back (docs/elk.md: how to give up a node whose disk is lost). Once the leaving nodes are
 * gone the next run clears the exclusion (it never names a listed node, so a re-added name is never
 * kept empty). Master-eligible nodes are not scaled this way (voting config).
 */
import type { RenderedStep } from "../common/types";
import { dataNodes, ES_HTTP_PORT, ES_OPS, masters, type EsClusterLayout } from "./node-config";
import { requestUrlPath, type EsRequest } from "./es-requests";

/** The setting this step owns. */
export const EXCLUDE_NAME = "cluster.routing.allocation.exclude._name";
/** The data-node names of the last successful run (user-defined cluster metadata: a persistent setting). */
export const RECORD_SETTING = "cluster.metadata.opsfleet_data_nodes";

/** The REST calls of a drain, as data (the host script sends exactly these; tests send them through the official client too). */
export const drainRequests = {
  /** Every node with its roles (`d` = data), one `name roles` line each. */
  nodes: (): EsRequest => ({ method: "GET", path: "/_cat/nodes", querystring: { h: "name,node.role" }, summary: "nodes and roles" }),
  /** The cluster settings, flat (`{"persistent":{"a.b":"v"},"transient":{}}`): the record and the exclusion as applied. */
  settings: (): EsRequest => ({ method: "GET", path: "/_cluster/settings", querystring: { flat_settings: "true" }, summary: "cluster settings" }),
  /** Exclude exactly these nodes from shard allocation (none: clear the exclusion). */
  exclude: (names: string[]): EsRequest => ({
    method: "PUT",
    path: "/_cluster/settings",
    body: { persistent: { [EXCLUDE_NAME]: names.length ? names.join(",") : null } },
    summary: names.length ? `exclude ${names.join(",")} from shard allocation` : "clear the allocation exclusion",
  }),
  /** Record the data-node names of this run. */
  record: (names: string[]): EsRequest => ({
    method: "PUT",
    path: "/_cluster/settings",
    body: { persistent: { [RECORD_SETTING]: names.join(",") } },
    summary: `record the data nodes ${names.join(",")}`,
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
  const put = (req: EsRequest, value: string) => `'${JSON.stringify(req.body).replace(/"@@"/, `"'"${value}"'"`)}'`;
  const script = String.raw`
ES_URL="${"$"}{ES_URL:-${url}}"; ES_CURLRC="${"$"}{ES_CURLRC:-${ES_OPS}/elastic.curlrc}"
KEEP=${q(keep.join(" "))}
TIMEOUT="${"$"}{DRAIN_TIMEOUT_SECONDS:-${o.timeoutMinutes * 60}}"
es() { # method path [json body]: prints the response, fails on HTTP >= 300
  local out code
  out=$(mktemp)
  if ! code=$(curl -sS -g -K "$ES_CURLRC" -X "$1" --max-time 60 -H 'Content-Type: application/json' ${"$"}{3:+--data-binary "$3"} -o "$out" -w '%{http_code}' "$ES_URL$2"); then
    echo "request failed: $1 $2" >&2; rm -f "$out"; return 1
  fi
  if [ "$code" -ge 300 ]; then echo "$1 $2: HTTP $code: $(head -c 2000 "$out")" >&2; rm -f "$out"; return 1; fi
  cat "$out"; rm -f "$out"
}
# setting SECTION KEY: a flat setting's value in the settings JSON $settings (node names: no quotes or braces in values)
setting() {
  printf '%s' "$settings" | tr -d '\n' | sed -n "s/.*\"$1\":{\([^}]*\)}.*/\1/p" | grep -o '"[^"]*":"[^"]*"' \
    | awk -v k="\"$2\"" 'index($0, k ":") == 1 {v = substr($0, length(k) + 2); gsub(/^"|"$/, "", v); print v}' || true
}
list() { tr ', ' '\n\n' | awk 'NF' | sort -u; }
settings=$(es ${r.settings().method} ${q(requestUrlPath(r.settings()))})
recorded=$(setting persistent ${q(RECORD_SETTING)})
nodes=$(es ${r.nodes().method} ${q(requestUrlPath(r.nodes()))})
present=$(echo "$nodes" | awk 'NF >= 2 && $2 ~ /d/ {print $1}' | sort -u)
# leaving: the last run's data nodes (the record: a node absent right now is still in it) and any
# data node present but not listed, minus the layout's
leaving=$({ echo "$recorded" | list; echo "$present"; } | awk -v keep=" $KEEP " 'NF && index(keep, " " $1 " ") == 0' | sort -u | paste -sd, -)
record_keep() { es PUT ${q(r.record(["x"]).path)} ${put(r.record(["@@"]), "$(echo $KEEP | tr ' ' ',')")} >/dev/null; }
if [ -z "$leaving" ]; then
  es PUT ${q(r.exclude([]).path)} ${q(JSON.stringify(r.exclude([]).body))} >/dev/null
  record_keep
  echo "no data node leaves: allocation exclusion cleared (data nodes: $KEEP)"
  exit 0
fi
absent=$(echo "$leaving" | list | while read -r n; do echo "$present" | grep -qxF "$n" || echo "$n"; done | paste -sd, -)
if [ -n "$absent" ]; then
  echo "data nodes leaving but absent from the cluster: $absent. An absent node cannot be shown to hold no shard (it may hold the only copy of some), so it is not drained: the step fails and nothing is deleted. Start it again (it rejoins, then drains); only if its disk is lost for good, drop it from ${RECORD_SETTING} (docs/elk.md)" >&2
  exit 1
fi
echo "data nodes leaving: $leaving; excluding them from shard allocation"
es PUT ${q(r.exclude(["x"]).path)} ${put(r.exclude(["@@"]), "$leaving")} >/dev/null
# read it back: the persistent value must be ours and no transient value may override it
settings=$(es ${r.settings().method} ${q(requestUrlPath(r.settings()))})
applied=$(setting persistent ${q(EXCLUDE_NAME)}); transient=$(setting transient ${q(EXCLUDE_NAME)})
want=$(echo "$leaving" | list)
if [ "$(echo "$applied" | list)" != "$want" ] || { [ -n "$transient" ] && [ "$(echo "$transient" | list)" != "$want" ]; }; then
  echo "the allocation exclusion did not apply: persistent ${EXCLUDE_NAME}='$applied', transient '$transient', wanted '$leaving' (a transient value overrides the persistent one: clear it); nothing is deleted" >&2
  exit 1
fi
deadline=$((SECONDS + TIMEOUT))
while :; do
  alloc=$(es ${r.allocation().method} ${q(requestUrlPath(r.allocation()))})
  # each leaving node must be listed, with 0 shards: a node missing from the list is not empty
  left=$(echo "$want" | while read -r n; do
    c=$(echo "$alloc" | awk -v n="$n" 'NF >= 2 && $2 == n {print $1; exit}')
    if [ -z "$c" ]; then printf '%s=absent ' "$n"; elif [ "$c" != 0 ]; then printf '%s=%s ' "$n" "$c"; fi
  done)
  [ -n "$left" ] || break
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "data nodes not shown empty after $TIMEOUT s: $left(too few data nodes for the replicas, the others above the disk watermark, or the node left the cluster); nothing is deleted" >&2
    exit 1
  fi
  echo "waiting for the shards to move off: $left"
  sleep "${"$"}{DRAIN_POLL_SECONDS:-10}"
done
record_keep
echo "data nodes $leaving hold no shard: their hosts can go (the exclusion is cleared by the next run)"`.trimStart();
  return {
    name: "elasticsearch-data-nodes",
    description: `drain data nodes that are no longer listed (allocation exclusion), keep ${keep.length}: ${keep.join(", ")}`,
    files: [],
    script,
  };
}
