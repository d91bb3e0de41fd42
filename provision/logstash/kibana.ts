import { stringify } from "yaml";
import type { RenderedStep } from "../common/types";
import { renderEnvironmentFile } from "./logstash";

export const KIBANA_CONF = "/etc/kibana";
export const KIBANA_PORT = 5601;

export interface KibanaSettings {
  /** Private IP Kibana listens on. */
  host: string;
  /** Elasticsearch HTTP endpoints (data nodes' IPs). */
  elasticsearchHosts: string[];
  /** Password of the built-in `kibana_system` user (set by the cluster's security step). */
  kibanaSystemPassword: string;
  /** 32+ characters; encrypts saved objects (alerting, actions). */
  encryptionKey: string;
  caCertPem: string;
}

export function renderKibanaYml(k: KibanaSettings): string {
  if (k.elasticsearchHosts.length === 0) throw new Error("kibana: no Elasticsearch host");
  return `# Managed by opsfleet (provision/logstash/kibana): change the stack config, not this file.\n${stringify({
    "server.host": k.host,
    "server.port": KIBANA_PORT,
    "elasticsearch.hosts": k.elasticsearchHosts.map((h) => `https://${h}:9200`),
    "elasticsearch.username": "kibana_system",
    "elasticsearch.password": "${KIBANA_ES_PASSWORD}",
    "elasticsearch.ssl.certificateAuthorities": [`${KIBANA_CONF}/certs/ca.crt`],
    "elasticsearch.ssl.verificationMode": "full",
    "xpack.encryptedSavedObjects.encryptionKey": "${KIBANA_EOS_KEY}",
  })}`;
}

export function kibanaConfigStep(k: KibanaSettings): RenderedStep {
  if (k.encryptionKey.length < 32) throw new Error("kibana encryptionKey must have at least 32 characters");
  const restartOn = [`${KIBANA_CONF}/kibana.yml`, "/etc/default/kibana"];
  return {
    name: "kibana-config",
    description: `kibana.yml: listens on ${k.host}:${KIBANA_PORT}, reads ${k.elasticsearchHosts.length} data nodes over TLS as kibana_system`,
    files: [
      { path: `${KIBANA_CONF}/kibana.yml`, content: renderKibanaYml(k), mode: "0640", owner: "root", group: "kibana" },
      { path: `${KIBANA_CONF}/certs/ca.crt`, content: k.caCertPem, mode: "0640", owner: "root", group: "kibana" },
      {
        path: "/etc/default/kibana",
        content: renderEnvironmentFile({ KIBANA_ES_PASSWORD: k.kibanaSystemPassword, KIBANA_EOS_KEY: k.encryptionKey }),
        mode: "0600",
        owner: "root",
        group: "root",
      },
    ],
    script: `
restart=no
for p in ${restartOn.join(" ")}; do case " $OPSFLEET_CHANGED " in *" $p "*) restart=yes ;; esac; done
if [ -d /run/systemd/system ]; then
  systemctl enable kibana >/dev/null 2>&1
  if [ "$restart" = yes ] && systemctl is-active --quiet kibana; then systemctl restart kibana; else systemctl start kibana; fi
else
  pidfile=/run/kibana.pid
  if ! { [ -s $pidfile ] && kill -0 "$(cat $pidfile)" 2>/dev/null; }; then
    ( set -a; . /etc/default/kibana; set +a
      runuser -u kibana -- /usr/share/kibana/bin/kibana >/var/log/kibana/stdout.log 2>&1 & echo $! > $pidfile )
  fi
fi`.trimStart(),
  };
}
