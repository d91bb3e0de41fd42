import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import {
  logstashConfigStep, renderEnvironmentFile, renderJvmOptionsMergeScript, renderLogstashFiles, renderLogstashHeap, renderLogstashScript,
  renderLogstashYml, renderPipeline, resolvedWorkers, type LogstashOutputTarget, type LogstashSettings,
} from "./logstash";
import { kibanaConfigStep, renderKibanaYml } from "./kibana";

const settings: LogstashSettings = { nodeName: "prod-logstash", instanceType: "m5.xlarge", batchSize: 1000, batchDelayMs: 50, queueType: "persisted", queueMaxGb: 4 };
const target: LogstashOutputTarget = { hosts: ["10.0.1.21", "10.0.2.22"], user: "logstash_internal", password: "ls-Pa55word", caCertPem: "CA-PEM", indexPrefix: "logstash" };

describe("logstash.yml", () => {
  test("exact settings; workers default to the instance type's vCPUs", () => {
    expect(parse(renderLogstashYml(settings))).toEqual({
      "node.name": "prod-logstash",
      "path.data": "/var/lib/logstash",
      "path.logs": "/var/log/logstash",
      "pipeline.workers": 4,
      "pipeline.batch.size": 1000,
      "pipeline.batch.delay": 50,
      "queue.type": "persisted",
      "queue.max_bytes": "4gb",
      "api.http.host": "127.0.0.1",
      "config.reload.automatic": false,
    });
  });
  test.each([["t3.medium", 2], ["m5.2xlarge", 8], ["c6i.4xlarge", 16], ["c5.9xlarge", 36]] as const)("workers on %s = %d vCPUs", (t, v) => {
    expect(resolvedWorkers({ ...settings, instanceType: t })).toBe(v);
  });
  test("explicit workers and a memory queue", () => {
    const y = parse(renderLogstashYml({ ...settings, workers: 12, queueType: "memory" }));
    expect(y["pipeline.workers"]).toBe(12);
    expect(y["queue.type"]).toBe("memory");
    expect(y["queue.max_bytes"]).toBeUndefined();
  });
  test("unknown instance type names the key", () => {
    expect(() => resolvedWorkers({ ...settings, instanceType: "x9.large" })).toThrow(/logstash\.instanceType: unknown instance type "x9\.large"/);
  });
});

describe("heap", () => {
  test("50 % of memory at most 8g, or the configured value", () => {
    expect(renderLogstashHeap(settings)).toContain("-Xms8g\n-Xmx8g\n");
    expect(renderLogstashHeap({ ...settings, instanceType: "t3.medium" })).toContain("-Xms2g\n-Xmx2g\n");
    expect(renderLogstashHeap({ ...settings, heapMb: 6144 })).toContain("-Xms6g\n-Xmx6g\n");
  });
  test("merged into jvm.options (Logstash has no jvm.options.d), other lines kept, idempotent", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-ls-"));
    try {
      fs.mkdirSync(path.join(dir, "opsfleet"));
      const shipped = "## JVM configuration\n-Xms1g\n-Xmx1g\n11-13:-XX:+UseConcMarkSweepGC\n-Djava.awt.headless=true\n";
      fs.writeFileSync(path.join(dir, "jvm.options"), shipped);
      fs.writeFileSync(path.join(dir, "opsfleet", "heap.options"), renderLogstashHeap(settings));
      const bin = path.join(dir, "bin");
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, "install"), '#!/usr/bin/env bash\nwhile [ $# -gt 2 ]; do shift; done; cp "$1" "$2"\n', { mode: 0o755 }); // drop -m/-o/-g
      const run = () => spawnSync("bash", ["-c", `set -euo pipefail\nrestart=no\n${renderJvmOptionsMergeScript()}\necho "restart=$restart"`], {
        encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, OPSFLEET_LS_CONF: dir },
      });
      const first = run();
      expect(first.stderr).toBe("");
      expect(first.stdout).toContain("restart=yes");
      expect(fs.readFileSync(path.join(dir, "jvm.options"), "utf8")).toBe("## JVM configuration\n11-13:-XX:+UseConcMarkSweepGC\n-Djava.awt.headless=true\n-Xms8g\n-Xmx8g\n");
      expect(run().stdout).toContain("restart=no");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("pipeline", () => {
  test("Beats on 5044 → the data nodes over verified TLS, credentials from the environment, daily indices", () => {
    expect(renderPipeline(target)).toBe(`# Managed by opsfleet (provision/logstash)
input {
  beats {
    port => 5044
  }
}
output {
  elasticsearch {
    hosts => ["https://10.0.1.21:9200", "https://10.0.2.22:9200"]
    ssl_enabled => true
    ssl_certificate_authorities => ["/etc/logstash/certs/ca.crt"]
    ssl_verification_mode => "full"
    user => "\${ES_USER}"
    password => "\${ES_PASSWORD}"
    index => "logstash-%{+yyyy.MM.dd}"
    data_stream => false
    manage_template => false
  }
}
`);
  });
  test("no data node or a bad prefix is an error", () => {
    expect(() => renderPipeline({ ...target, hosts: [] })).toThrow(/no Elasticsearch data node/);
    expect(() => renderPipeline({ ...target, indexPrefix: "Bad" })).toThrow(/indexPrefix "Bad"/);
  });
});

describe("files and step", () => {
  test("the password lives only in the root-only environment file", () => {
    const files = renderLogstashFiles(settings, target);
    expect(files.map((f) => [f.path, f.mode, f.owner, f.group])).toEqual([
      ["/etc/logstash/logstash.yml", "0640", "root", "logstash"],
      ["/etc/logstash/opsfleet/heap.options", "0640", "root", "logstash"],
      ["/etc/logstash/conf.d/opsfleet-beats.conf", "0640", "root", "logstash"],
      ["/etc/logstash/certs/ca.crt", "0640", "root", "logstash"],
      ["/etc/default/logstash", "0600", "root", "root"],
    ]);
    expect(files.filter((f) => f.content.includes("ls-Pa55word")).map((f) => f.path)).toEqual(["/etc/default/logstash"]);
    expect(files[4].content).toBe('# Managed by opsfleet\nES_USER="logstash_internal"\nES_PASSWORD="ls-Pa55word"\n');
  });
  test("environment file escaping", () => {
    expect(renderEnvironmentFile({ A: 'x"y\\z' })).toBe('# Managed by opsfleet\nA="x\\"y\\\\z"\n');
    expect(() => renderEnvironmentFile({ A: "a\nb" })).toThrow(/line breaks/);
  });
  test("step description and valid bash", () => {
    const step = logstashConfigStep(settings, target);
    expect(step.description).toBe("logstash.yml (4 workers, batch 1000/50 ms, persisted queue), heap 8g, Beats :5044 → 2 data nodes over TLS");
    expect(spawnSync("bash", ["-n"], { input: renderLogstashScript() }).status).toBe(0);
  });
});

describe("kibana", () => {
  const k = { host: "10.0.1.30", elasticsearchHosts: ["10.0.1.21", "10.0.2.22"], kibanaSystemPassword: "kb-Pa55word", encryptionKey: "k".repeat(32), caCertPem: "CA-PEM" };
  test("kibana.yml points at the cluster's data nodes over verified TLS as kibana_system", () => {
    expect(parse(renderKibanaYml(k))).toEqual({
      "server.host": "10.0.1.30",
      "server.port": 5601,
      "elasticsearch.hosts": ["https://10.0.1.21:9200", "https://10.0.2.22:9200"],
      "elasticsearch.username": "kibana_system",
      "elasticsearch.password": "${KIBANA_ES_PASSWORD}",
      "elasticsearch.ssl.certificateAuthorities": ["/etc/kibana/certs/ca.crt"],
      "elasticsearch.ssl.verificationMode": "full",
      "xpack.encryptedSavedObjects.encryptionKey": "${KIBANA_EOS_KEY}",
    });
  });
  test("secrets only in /etc/default/kibana (root-only); short keys refused", () => {
    const step = kibanaConfigStep(k);
    expect(step.files.filter((f) => f.content.includes("kb-Pa55word") || f.content.includes("k".repeat(32))).map((f) => [f.path, f.mode])).toEqual([["/etc/default/kibana", "0600"]]);
    expect(spawnSync("bash", ["-n"], { input: step.script }).status).toBe(0);
    expect(() => kibanaConfigStep({ ...k, encryptionKey: "short" })).toThrow(/at least 32/);
  });
});
