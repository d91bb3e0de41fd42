import { markFormedScript } from "./health";
import type { RenderedFile, RenderedStep } from "../common/types";
import { renderCurlScript, type EsRequest } from "./es-requests";
import { ES_HTTP_PORT, ES_OPS, ES_SHELL_PRELUDE, type EsClusterLayout, masters } from "./node-config";
import { profileRequests, type IndexProfile, type ProfileOptions } from "./profiles";

/** The least-privilege role Logstash writes with: its indices only, plus what the ES output needs at startup. */
export function logstashWriterRole(indexPattern: string): Record<string, unknown> {
  return {
    cluster: ["monitor", "manage_index_templates", "manage_ilm"],
    indices: [{ names: [indexPattern], privileges: ["write", "create", "create_index", "manage", "auto_configure"] }],
  };
}

export interface ServiceUsers {
  /** Creates role `logstash_writer` and this user with it. */
  logstash?: { username: string; password: string; indexPattern: string };
  /** Sets the built-in `kibana_system` user's password. */
  kibanaSystemPassword?: string;
}

export function serviceUserRequests(u: ServiceUsers): EsRequest[] {
  const reqs: EsRequest[] = [];
  if (u.logstash) {
    reqs.push(
      { method: "PUT", path: "/_security/role/logstash_writer", body: logstashWriterRole(u.logstash.indexPattern), summary: "role logstash_writer" },
      {
        method: "PUT",
        path: `/_security/user/${u.logstash.username}`,
        body: { password: u.logstash.password, roles: ["logstash_writer"], full_name: "Logstash (opsfleet)" },
        summary: `user ${u.logstash.username} with role logstash_writer`,
      },
    );
  }
  if (u.kibanaSystemPassword !== undefined) {
    reqs.push({ method: "POST", path: "/_security/user/kibana_system/_password", body: { password: u.kibanaSystemPassword }, summary: "kibana_system password" });
  }
  return reqs;
}

const firstMasterUrl = (l: EsClusterLayout) => `https://${masters(l)[0].privateIp}:${ES_HTTP_PORT}`;
const APPLIED_CURLRC = `${ES_OPS}/elastic-applied.curlrc`;
const CURLRC = `${ES_OPS}/elastic.curlrc`;

const USERS_BODY_DIR = `${ES_OPS}/requests/users`;

/** Secret files of the security step: the elastic password change body and the service users' bodies. */
export function clusterSecurityFiles(elasticPassword: string, users: ServiceUsers): RenderedFile[] {
  const calls = renderCurlScript(serviceUserRequests(users), { bodyDir: USERS_BODY_DIR, esUrl: "", curlrc: CURLRC });
  return [
    { path: `${ES_OPS}/elastic-password.json`, content: JSON.stringify({ password: elasticPassword }), mode: "0600", owner: "root", group: "root" },
    ...calls.files,
  ];
}

/**
 * First master, after every node's config step: wait until all nodes joined (yellow at least),
 * make the elastic password the configured one (bootstrap.password seeds it on first formation; on
 * a later change the last password that worked, kept root-only, authorises the change), then create
 * the service users. Passwords travel only in root-only files; this script never contains one.
 */
export function clusterSecurityScript(l: EsClusterLayout, users: ServiceUsers): string {
  const url = firstMasterUrl(l);
  const calls = renderCurlScript(serviceUserRequests(users), { bodyDir: USERS_BODY_DIR, esUrl: url, curlrc: CURLRC });
  // ">=": in a data-node scale-in the leaving nodes are still members when this step re-runs
  const health = `${url}/_cluster/health?wait_for_nodes=%3E%3D${l.nodes.length}&wait_for_status=yellow&timeout=10s`;
  return `
status() { curl -s -g -o /dev/null -w '%{http_code}' --max-time 20 -K "$1" '${health}' || true; }
# Bounded below the step's 30-minute command timeout.
ok=no; i=0; deadline=$((SECONDS + 1500))
while [ $SECONDS -lt $deadline ]; do
  i=$((i + 1))
  code=$(status ${CURLRC})
  if [ "$code" = 200 ]; then ok=yes; break; fi
  if [ "$code" = 401 ] && [ -f ${APPLIED_CURLRC} ] && [ "$(status ${APPLIED_CURLRC})" = 200 ]; then
    echo "elastic password changed in config: applying it"
    curl -fsS -g -o /dev/null -K ${APPLIED_CURLRC} -X POST -H 'Content-Type: application/json' \\
      --data-binary @${ES_OPS}/elastic-password.json '${url}/_security/user/elastic/_password'
    continue
  fi
  [ $((i % 6)) = 1 ] && echo "waiting for the cluster (${l.nodes.length} nodes, HTTP $code)"
  sleep 10
done
if [ "$ok" != yes ]; then echo "cluster did not form with ${l.nodes.length} nodes in 25 minutes (last HTTP $code)" >&2; exit 1; fi
install -m 0600 ${CURLRC} ${APPLIED_CURLRC}
echo "cluster formed; elastic password verified"
${calls.script}
${markFormedScript(url, CURLRC)}`.trimStart();
}

export function clusterSecurityStep(l: EsClusterLayout, elasticPassword: string, users: ServiceUsers): RenderedStep {
  return {
    name: "elasticsearch-cluster-security",
    description: `wait for ${l.nodes.length} nodes, set the elastic password, service users (${serviceUserRequests(users).length} calls)`,
    files: clusterSecurityFiles(elasticPassword, users),
    script: clusterSecurityScript(l, users),
  };
}

/**
 * Every master, after the cluster formed: drop `cluster.initial_master_nodes` from elasticsearch.yml
 * WITHOUT a restart (it only matters at the next start, and must not be there then), and leave the
 * marker that keeps the config step from ever adding it back.
 */
export function forgetBootstrapStep(): RenderedStep {
  return {
    name: "elasticsearch-forget-bootstrap",
    description: "remove cluster.initial_master_nodes after the first formation (no restart)",
    files: [],
    script: `
${ES_SHELL_PRELUDE}
touch "$FORMED"
if grep -q '^cluster.initial_master_nodes' $ES_CONF/elasticsearch.yml; then
  install -m 0660 -o root -g elasticsearch $OPS/elasticsearch.base.yml $ES_CONF/elasticsearch.yml
  echo "cluster.initial_master_nodes removed (effective at the next restart; not restarting now)"
else
  echo "cluster.initial_master_nodes already absent"
fi`.trimStart(),
  };
}

/** First master: apply the configured index profile (template + existing indices), the same calls as the CLI. */
export function indexProfileStep(l: EsClusterLayout, profile: IndexProfile, o: ProfileOptions): RenderedStep {
  const calls = renderCurlScript(profileRequests(profile, o), { bodyDir: `${ES_OPS}/requests/profile`, esUrl: firstMasterUrl(l), curlrc: CURLRC });
  return {
    name: "elasticsearch-index-profile",
    description: `index profile ${profile} on ${o.indexPattern} (template ${o.templateName}, ${o.shards} shards)`,
    files: calls.files,
    script: calls.script,
  };
}

