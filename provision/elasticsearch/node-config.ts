import { stringify } from "yaml";
import type { RenderedFile, RenderedStep } from "../common/types";
import { elasticsearchHeap, renderGcOptions, renderHeapOptions } from "./heap";

export type EsRole = "master" | "data";

/** One Elasticsearch node as the renderers see it (plain values: the component resolves Outputs first). */
export interface EsNode {
  /** `node.name`, e.g. `dev-es-m1`; also the certificate's CN. */
  name: string;
  role: EsRole;
  privateIp: string;
  instanceType: string;
}

export interface EsClusterLayout {
  clusterName: string;
  /** Master-eligible nodes first, in a stable order (the first one runs the cluster-wide steps). */
  nodes: EsNode[];
}

export const ES_CONF = "/etc/elasticsearch";
/** Our staging area (root-only): files the step scripts assemble from, markers, credentials. */
export const ES_OPS = `${ES_CONF}/opsfleet`;
export const ES_HTTP_PORT = 9200;
export const ES_TRANSPORT_PORT = 9300;
/** path.data: the data volume's mount point (it moves to a replacement instance; the root volume does not). */
export const ES_DATA = "/var/lib/elasticsearch";
/**
 * Marker: this node's data has seen the cluster formed; `cluster.initial_master_nodes` must never come
 * back. On the data volume, so a replacement instance that gets the volume knows it too.
 */
export const CLUSTER_FORMED_MARKER = `${ES_DATA}/opsfleet-cluster-formed`;

/**
 * Shell prelude of the node scripts. The two overrides exist for the script tests, which run the
 * real script against a scratch directory with stub binaries (Elasticsearch cannot be installed there).
 */
export const ES_SHELL_PRELUDE =
  'ES_CONF="${OPSFLEET_ES_CONF:-' + ES_CONF + '}"; OPS="$ES_CONF/opsfleet"; ES_HOME="${OPSFLEET_ES_HOME:-/usr/share/elasticsearch}"\n' +
  'ES_DATA="${OPSFLEET_ES_DATA:-' + ES_DATA + '}"; FORMED="$ES_DATA/opsfleet-cluster-formed"\n' +
  // formed: this node's data saw the cluster formed (the root-volume marker of earlier releases counts too)
  'es_formed() { [ -f "$FORMED" ] || [ -f $OPS/cluster-formed ]; }\n' +
  // state: Elasticsearch wrote node/cluster metadata under path.data (_state; nodes/ before 8.0) at an earlier start
  'es_has_state() { [ -d "$ES_DATA/_state" ] || [ -d "$ES_DATA/nodes" ]; }';

/** `node.roles` per group: dedicated masters; data nodes also run ingest pipelines. */
export const NODE_ROLES: Record<EsRole, string[]> = { master: ["master"], data: ["data", "ingest"] };

export const masters = (l: EsClusterLayout) => l.nodes.filter((n) => n.role === "master");
export const dataNodes = (l: EsClusterLayout) => l.nodes.filter((n) => n.role === "data");

/** Checks what every node's discovery depends on; throws naming the problem. */
export function checkLayout(l: EsClusterLayout): void {
  const ms = masters(l);
  if (ms.length === 0) throw new Error(`cluster ${l.clusterName}: no master-eligible node`);
  if (dataNodes(l).length === 0) throw new Error(`cluster ${l.clusterName}: no data node`);
  const names = l.nodes.map((n) => n.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`cluster ${l.clusterName}: node name ${dup} used twice`);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(l.clusterName)) {
    throw new Error(`cluster name ${JSON.stringify(l.clusterName)}: allowed are 1-64 letters, digits, '-' and '_'`);
  }
  for (const n of l.nodes) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(n.privateIp)) throw new Error(`node ${n.name}: private IP ${JSON.stringify(n.privateIp)} is not an IPv4 address`);
  }
}

/** `discovery.seed_hosts`: the master-eligible nodes' transport addresses, same list on every node. */
export const seedHosts = (l: EsClusterLayout) => masters(l).map((n) => n.privateIp);
/** `cluster.initial_master_nodes`: must equal the masters' `node.name`s exactly. */
export const initialMasterNodes = (l: EsClusterLayout) => masters(l).map((n) => n.name);

const PEM = { key: "certs/node.key", cert: "certs/node.crt", ca: "certs/ca.crt" };

/**
 * `elasticsearch.yml` for one node, without `cluster.initial_master_nodes` (that lives in a separate
 * fragment the step appends only until the cluster has formed, see {@link renderConfigScript}).
 */
export function renderElasticsearchYml(l: EsClusterLayout, node: EsNode): string {
  checkLayout(l);
  const tls = (layer: "transport" | "http") => ({
    [`xpack.security.${layer}.ssl.enabled`]: true,
    [`xpack.security.${layer}.ssl.key`]: PEM.key,
    [`xpack.security.${layer}.ssl.certificate`]: PEM.cert,
    [`xpack.security.${layer}.ssl.certificate_authorities`]: [PEM.ca],
  });
  const settings: Record<string, unknown> = {
    "cluster.name": l.clusterName,
    "node.name": node.name,
    "node.roles": NODE_ROLES[node.role],
    "network.host": node.privateIp,
    "http.port": ES_HTTP_PORT,
    "transport.port": ES_TRANSPORT_PORT,
    "discovery.seed_hosts": seedHosts(l),
    "path.data": "/var/lib/elasticsearch",
    "path.logs": "/var/log/elasticsearch",
    "bootstrap.memory_lock": true,
    "action.destructive_requires_name": true,
    "xpack.security.enabled": true,
    "xpack.security.enrollment.enabled": false,
    ...tls("transport"),
    // Every certificate carries its node's IP as SAN, so peers can verify hostnames too.
    "xpack.security.transport.ssl.verification_mode": "full",
    "xpack.security.transport.ssl.client_authentication": "required",
    ...tls("http"),
  };
  return `# Managed by opsfleet (provision/elasticsearch): change the stack config, not this file.\n${stringify(settings)}`;
}

/** The bootstrap-only fragment, rendered for master-eligible nodes. */
export function renderInitialMastersFragment(l: EsClusterLayout): string {
  return stringify({ "cluster.initial_master_nodes": initialMasterNodes(l) });
}

/** curl config (`curl -K`): the elastic user's credentials and our CA, so no password is ever a shell word. */
export function renderCurlConfig(user: string, password: string, caPath = `${ES_CONF}/${PEM.ca}`): string {
  if (/[\r\n]/.test(password)) throw new Error("the elastic password must not contain line breaks");
  const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  return `user = ${q(`${user}:${password}`)}\ncacert = ${q(caPath)}\n`;
}

/** TLS material for one node, PEM. The key is secret; the component passes it as a secret Output. */
export interface NodeTls {
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

export interface NodeConfigInput {
  layout: EsClusterLayout;
  node: EsNode;
  tls: NodeTls;
  elasticPassword: string;
}

/** Keystore entries the deb's security auto-configuration creates; any of them left behind breaks startup. */
export const AUTOCONFIG_KEYSTORE_ENTRIES = [
  "xpack.security.transport.ssl.keystore.secure_password",
  "xpack.security.transport.ssl.truststore.secure_password",
  "xpack.security.http.ssl.keystore.secure_password",
  "autoconfiguration.password_hash",
];

const esFile = (path: string, content: string, mode = "0640"): RenderedFile => ({ path, content, mode, owner: "root", group: "elasticsearch" });
const rootOnly = (path: string, content: string): RenderedFile => ({ path, content, mode: "0600", owner: "root", group: "root" });

/** Files of the config step that hold no secret (shown in the offline plan). */
export function renderNodePublicFiles(l: EsClusterLayout, node: EsNode, tls: Pick<NodeTls, "caCertPem" | "certPem">): RenderedFile[] {
  const heap = elasticsearchHeap(node.instanceType, `node ${node.name} instanceType`);
  const files = [
    esFile(`${ES_OPS}/elasticsearch.base.yml`, renderElasticsearchYml(l, node)),
    esFile(`${ES_CONF}/jvm.options.d/heap.options`, renderHeapOptions(heap, "heap = 50 % of memory, at most 30g")),
    esFile(`${ES_CONF}/jvm.options.d/gc.options`, renderGcOptions()),
    esFile(`${ES_CONF}/${PEM.ca}`, tls.caCertPem),
    esFile(`${ES_CONF}/${PEM.cert}`, tls.certPem),
  ];
  if (node.role === "master") files.push(esFile(`${ES_OPS}/initial-master-nodes.yml`, renderInitialMastersFragment(l)));
  return files;
}

/** Secret files of the config step: the node key and the elastic password (as raw file and curl config). */
export function renderNodeSecretFiles(keyPem: string, elasticPassword: string): RenderedFile[] {
  return [
    // Readable by the elasticsearch group only: the service user must read its key; nobody else can.
    esFile(`${ES_CONF}/${PEM.key}`, keyPem),
    rootOnly(`${ES_OPS}/elastic-password`, elasticPassword),
    rootOnly(`${ES_OPS}/elastic.curlrc`, renderCurlConfig("elastic", elasticPassword)),
  ];
}

/** Every file of the config step, for one node. */
export function renderNodeFiles(i: NodeConfigInput): RenderedFile[] {
  return [...renderNodePublicFiles(i.layout, i.node, i.tls), ...renderNodeSecretFiles(i.tls.keyPem, i.elasticPassword)];
}

/**
 * The config step's script. Order matters:
 * 1. the deb's auto-config keystore entries and its own certificates go (before the first start);
 * 2. `bootstrap.password` seeds the elastic password from a root-only file via stdin (never argv);
 * 3. `elasticsearch.yml` = our base file, plus `cluster.initial_master_nodes` only while this node's
 *    data never saw the cluster formed (marker on the data volume), no master answers an authenticated
 *    health check, *and* its data path holds no cluster state from an earlier start (unless this very
 *    root volume already carries our first-formation config): a replaced master joins its cluster,
 *    and "no answer" is never taken for a first formation;
 * 4. restart only if what the JVM reads changed, start otherwise (systemd or, on test hosts, directly).
 */
export function renderConfigScript(l: EsClusterLayout): string {
  const seeds = seedHosts(l).join(" ");
  return `
${ES_SHELL_PRELUDE}
KS="$ES_HOME/bin/elasticsearch-keystore"
[ -f $ES_CONF/elasticsearch.keystore ] || $KS create
entries=$($KS list 2>/dev/null || true)
for e in ${AUTOCONFIG_KEYSTORE_ENTRIES.join(" ")}; do
  if grep -qx "$e" <<<"$entries"; then $KS remove "$e"; echo "keystore: removed auto-config entry $e"; fi
done
rm -f $ES_CONF/certs/http_ca.crt $ES_CONF/certs/http.p12 $ES_CONF/certs/transport.p12
if ! grep -qx bootstrap.password <<<"$entries"; then
  $KS add -x -f bootstrap.password < $OPS/elastic-password
fi
chown root:elasticsearch $ES_CONF/elasticsearch.keystore && chmod 0660 $ES_CONF/elasticsearch.keystore
chown root:elasticsearch $ES_CONF/certs && chmod 0750 $ES_CONF/certs

cluster_answers() {
  for ip in ${seeds}; do
    if curl -fsS -o /dev/null --max-time 5 -K $OPS/elastic.curlrc "https://$ip:${ES_HTTP_PORT}/_cluster/health?timeout=1s" 2>/dev/null; then return 0; fi
  done
  return 1
}
yml=$(mktemp)
cat $OPS/elasticsearch.base.yml > "$yml"
if [ -f $OPS/initial-master-nodes.yml ] && ! es_formed; then
  ours=$(cat $OPS/elasticsearch.base.yml $OPS/initial-master-nodes.yml)
  if cluster_answers; then
    touch "$FORMED"; echo "cluster already formed: joining without cluster.initial_master_nodes"
  elif es_has_state && [ "$(cat $ES_CONF/elasticsearch.yml 2>/dev/null)" != "$ours" ]; then
    # No answer proves nothing: a master whose data holds cluster state (a replacement with the old
    # volume) must join its cluster; bootstrapping it could form a second cluster with a new UUID.
    echo "no cluster answered, but $ES_DATA holds state from an earlier start: not bootstrapping (cluster.initial_master_nodes left out)"
  else
    # never formed: no state yet, or this node's own first-formation config (same root volume) still in place
    cat $OPS/initial-master-nodes.yml >> "$yml"; echo "first bootstrap: cluster.initial_master_nodes set"
  fi
elif [ -f $OPS/cluster-formed ] && [ ! -f "$FORMED" ]; then
  touch "$FORMED" # move the legacy root-volume marker onto the data volume
fi
restart=no
if ! cmp -s "$yml" $ES_CONF/elasticsearch.yml; then
  install -m 0660 -o root -g elasticsearch "$yml" $ES_CONF/elasticsearch.yml; restart=yes
fi
rm -f "$yml"
case " $OPSFLEET_CHANGED " in *" $ES_CONF/jvm.options.d/"*) restart=yes ;; esac
chown elasticsearch:elasticsearch "$ES_DATA"

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable elasticsearch >/dev/null 2>&1
  if [ "$restart" = yes ] && systemctl is-active --quiet elasticsearch; then
    echo "restarting elasticsearch"; systemctl restart elasticsearch
  else
    systemctl start elasticsearch
  fi
else
  # Test hosts without systemd: same limits as the unit + our override, started directly.
  pidfile=/run/elasticsearch/elasticsearch.pid
  install -d -o elasticsearch -g elasticsearch /run/elasticsearch
  running() { [ -s $pidfile ] && kill -0 "$(cat $pidfile)" 2>/dev/null; }
  if [ "$restart" = yes ] && running; then
    kill "$(cat $pidfile)"; for _ in $(seq 1 60); do running || break; sleep 1; done
  fi
  if ! running; then
    ( ulimit -l unlimited 2>/dev/null || echo "warning: cannot raise the memlock limit here; bootstrap.memory_lock will fail"
      ulimit -n 65535 2>/dev/null || echo "warning: cannot raise the open-files limit here"
      runuser -u elasticsearch -- env ES_PATH_CONF=$ES_CONF "$ES_HOME/bin/elasticsearch" -d -p $pidfile --quiet )
  fi
fi`.trimStart();
}

export function elasticsearchConfigStep(i: NodeConfigInput): RenderedStep {
  return {
    name: "elasticsearch-config",
    description: `${i.node.name} (${NODE_ROLES[i.node.role].join(", ")}): elasticsearch.yml, heap, TLS, keystore cleanup, elastic password, start`,
    files: renderNodeFiles(i),
    script: renderConfigScript(i.layout),
  };
}
