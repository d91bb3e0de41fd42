import { stringify } from "yaml";
import type { RenderedFile, RenderedStep } from "../common/types";
import { instanceSpec } from "../elasticsearch/instance-types";
import { jvmSize, logstashHeap, renderHeapOptions } from "../elasticsearch/heap";

export const LS_CONF = "/etc/logstash";
export const LS_OPS = `${LS_CONF}/opsfleet`;
export const BEATS_PORT = 5044;

export interface LogstashSettings {
  nodeName: string;
  instanceType: string;
  /** @default the instance type's vCPUs (Logstash's own default, made explicit) */
  workers?: number;
  /** Events per worker batch = documents per `_bulk` request. */
  batchSize: number;
  /** Max wait for a batch to fill, ms. */
  batchDelayMs: number;
  /** @default 50 % of memory, at most 8 GiB */
  heapMb?: number;
  /** `persisted` survives a Logstash restart; `memory` loses in-flight events. */
  queueType: "memory" | "persisted";
  /** Disk bound of the persisted queue. */
  queueMaxGb: number;
}

export interface LogstashOutputTarget {
  /** Data nodes' private IPs (Logstash writes to data nodes, never to dedicated masters). */
  hosts: string[];
  user: string;
  password: string;
  caCertPem: string;
  /** Daily index name prefix; indices are `<prefix>-YYYY.MM.dd` and match the template's pattern. */
  indexPrefix: string;
}

export function resolvedWorkers(s: LogstashSettings): number {
  return s.workers ?? instanceSpec(s.instanceType, "logstash.instanceType").vcpus;
}

export function resolvedHeap(s: LogstashSettings) {
  const rule = logstashHeap(s.instanceType, "logstash.instanceType");
  return s.heapMb === undefined ? { ...rule, source: "50 % of memory, at most 8g" } : { ...rule, heapMb: s.heapMb, capped: false, source: "set in config" };
}

export function renderLogstashYml(s: LogstashSettings): string {
  const settings: Record<string, unknown> = {
    "node.name": s.nodeName,
    "path.data": "/var/lib/logstash",
    "path.logs": "/var/log/logstash",
    "pipeline.workers": resolvedWorkers(s),
    "pipeline.batch.size": s.batchSize,
    "pipeline.batch.delay": s.batchDelayMs,
    "queue.type": s.queueType,
    ...(s.queueType === "persisted" ? { "queue.max_bytes": `${s.queueMaxGb}gb` } : {}),
    "api.http.host": "127.0.0.1",
    "config.reload.automatic": false,
  };
  return `# Managed by opsfleet (provision/logstash): change the stack config, not this file.\n${stringify(settings)}`;
}

/** Heap lines; Logstash reads only /etc/logstash/jvm.options (no jvm.options.d), so the step merges them in. */
export function renderLogstashHeap(s: LogstashSettings): string {
  const h = resolvedHeap(s);
  return renderHeapOptions(h, `heap ${h.source}`);
}

const q = (s: string) => JSON.stringify(s);

/** Beats on 5044 → the cluster's data nodes over TLS (our CA), credentials from the environment. */
export function renderPipeline(t: LogstashOutputTarget): string {
  if (t.hosts.length === 0) throw new Error("logstash output: no Elasticsearch data node to write to");
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(t.indexPrefix)) throw new Error(`indexPrefix ${q(t.indexPrefix)}: lowercase letters, digits, '-', '_'`);
  return `# Managed by opsfleet (provision/logstash)
input {
  beats {
    port => ${BEATS_PORT}
  }
}
output {
  elasticsearch {
    hosts => [${t.hosts.map((h) => q(`https://${h}:9200`)).join(", ")}]
    ssl_enabled => true
    ssl_certificate_authorities => [${q(`${LS_CONF}/certs/ca.crt`)}]
    ssl_verification_mode => "full"
    user => "\${ES_USER}"
    password => "\${ES_PASSWORD}"
    index => "${t.indexPrefix}-%{+yyyy.MM.dd}"
    data_stream => false
    manage_template => false
  }
}
`;
}

/** systemd EnvironmentFile (root-only): the ES credentials the pipeline references as ${ES_USER}/${ES_PASSWORD}. */
export function renderEnvironmentFile(vars: Record<string, string>): string {
  const lines = Object.entries(vars).map(([k, v]) => {
    if (/[\r\n]/.test(v)) throw new Error(`${k} must not contain line breaks`);
    return `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  });
  return `# Managed by opsfleet\n${lines.join("\n")}\n`;
}

const lsFile = (path: string, content: string, mode = "0640"): RenderedFile => ({ path, content, mode, owner: "root", group: "logstash" });

export function renderLogstashFiles(s: LogstashSettings, t: LogstashOutputTarget): RenderedFile[] {
  return [
    lsFile(`${LS_CONF}/logstash.yml`, renderLogstashYml(s)),
    lsFile(`${LS_OPS}/heap.options`, renderLogstashHeap(s)),
    lsFile(`${LS_CONF}/conf.d/opsfleet-beats.conf`, renderPipeline(t)),
    lsFile(`${LS_CONF}/certs/ca.crt`, t.caCertPem),
    { path: "/etc/default/logstash", content: renderEnvironmentFile({ ES_USER: t.user, ES_PASSWORD: t.password }), mode: "0600", owner: "root", group: "root" },
  ];
}

export const LOGSTASH_RESTART_PATHS = [`${LS_CONF}/logstash.yml`, `${LS_OPS}/heap.options`, `${LS_CONF}/conf.d/opsfleet-beats.conf`, "/etc/default/logstash"];

/**
 * Merges our heap lines into jvm.options (Logstash reads no jvm.options.d): the shipped -Xms/-Xmx
 * go, every other line stays. Sets `restart=yes` when the file changed. `OPSFLEET_LS_CONF` only
 * exists for the script test.
 */
export function renderJvmOptionsMergeScript(): string {
  return `
LS_CONF="\${OPSFLEET_LS_CONF:-${LS_CONF}}"
opts=$(mktemp)
grep -vE '^-Xm[sx]' $LS_CONF/jvm.options > "$opts" || true
grep -E '^-Xm[sx]' $LS_CONF/opsfleet/heap.options >> "$opts"
if ! cmp -s "$opts" $LS_CONF/jvm.options; then
  install -m 0644 -o root -g root "$opts" $LS_CONF/jvm.options; restart=yes; echo "jvm.options: heap set to $(grep -E '^-Xmx' "$opts")"
fi
rm -f "$opts"`.trimStart();
}

export function renderLogstashScript(): string {
  return `
restart=no
${renderJvmOptionsMergeScript()}
for p in ${LOGSTASH_RESTART_PATHS.join(" ")}; do
  case " $OPSFLEET_CHANGED " in *" $p "*) restart=yes ;; esac
done
chown logstash:logstash /var/lib/logstash
if [ -d /run/systemd/system ]; then
  systemctl enable logstash >/dev/null 2>&1
  if [ "$restart" = yes ] && systemctl is-active --quiet logstash; then echo "restarting logstash"; systemctl restart logstash; else systemctl start logstash; fi
else
  pidfile=/run/logstash.pid
  running() { [ -s $pidfile ] && kill -0 "$(cat $pidfile)" 2>/dev/null; }
  if [ "$restart" = yes ] && running; then kill "$(cat $pidfile)"; for _ in $(seq 1 60); do running || break; sleep 1; done; fi
  if ! running; then
    ( set -a; . /etc/default/logstash; set +a
      runuser -u logstash -- /usr/share/logstash/bin/logstash --path.settings ${LS_CONF} >/var/log/logstash/stdout.log 2>&1 & echo $! > $pidfile )
  fi
fi`.trimStart();
}

export function logstashConfigStep(s: LogstashSettings, t: LogstashOutputTarget): RenderedStep {
  const heap = resolvedHeap(s);
  return {
    name: "logstash-config",
    description: `logstash.yml (${resolvedWorkers(s)} workers, batch ${s.batchSize}/${s.batchDelayMs} ms, ${s.queueType} queue), heap ${jvmSize(heap.heapMb)}, Beats :${BEATS_PORT} → ${t.hosts.length} data nodes over TLS`,
    files: renderLogstashFiles(s, t),
    script: renderLogstashScript(),
  };
}
