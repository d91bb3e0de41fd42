import { spawnSync } from "node:child_process";
import { parse } from "yaml";
import {
  AUTOCONFIG_KEYSTORE_ENTRIES, checkLayout, elasticsearchConfigStep, initialMasterNodes, renderConfigScript, renderCurlConfig,
  renderElasticsearchYml, renderInitialMastersFragment, renderNodeFiles, seedHosts, type EsClusterLayout,
} from "./node-config";
import { forgetBootstrapStep } from "./cluster-steps";
import { sandbox, type Sandbox } from "./script-sandbox";
import { esTestLayout } from "./test-layout";

const layout: EsClusterLayout = esTestLayout({ names: "prod" });
const tls = { caCertPem: "CA-PEM", certPem: "CERT-PEM", keyPem: "KEY-PEM" };
const ymlOf = (i: number) => parse(renderElasticsearchYml(layout, layout.nodes[i])) as Record<string, unknown>;

describe("elasticsearch.yml", () => {
  test("master node: exact settings", () => {
    expect(ymlOf(0)).toEqual({
      "cluster.name": "prod-logs",
      "node.name": "prod-es-master-1",
      "node.roles": ["master"],
      "network.host": "10.0.1.11",
      "http.port": 9200,
      "transport.port": 9300,
      "discovery.seed_hosts": ["10.0.1.11", "10.0.2.12", "10.0.3.13"],
      "path.data": "/var/lib/elasticsearch",
      "path.logs": "/var/log/elasticsearch",
      "bootstrap.memory_lock": true,
      "action.destructive_requires_name": true,
      "xpack.security.enabled": true,
      "xpack.security.enrollment.enabled": false,
      "xpack.security.transport.ssl.enabled": true,
      "xpack.security.transport.ssl.key": "certs/node.key",
      "xpack.security.transport.ssl.certificate": "certs/node.crt",
      "xpack.security.transport.ssl.certificate_authorities": ["certs/ca.crt"],
      "xpack.security.transport.ssl.verification_mode": "full",
      "xpack.security.transport.ssl.client_authentication": "required",
      "xpack.security.http.ssl.enabled": true,
      "xpack.security.http.ssl.key": "certs/node.key",
      "xpack.security.http.ssl.certificate": "certs/node.crt",
      "xpack.security.http.ssl.certificate_authorities": ["certs/ca.crt"],
    });
  });
  test("data node: data+ingest roles, its own IP, and never cluster.initial_master_nodes", () => {
    const y = ymlOf(3);
    expect(y["node.roles"]).toEqual(["data", "ingest"]);
    expect(y["network.host"]).toBe("10.0.1.21");
    expect(y["node.name"]).toBe("prod-es-data-1");
    expect(renderElasticsearchYml(layout, layout.nodes[3])).not.toContain("initial_master_nodes");
    expect(renderElasticsearchYml(layout, layout.nodes[0])).not.toContain("initial_master_nodes"); // only via the fragment
  });
  test("discovery is consistent across all nodes: seed hosts = master IPs, initial masters = master node names", () => {
    const masterIps = layout.nodes.filter((n) => n.role === "master").map((n) => n.privateIp);
    const masterNames = layout.nodes.filter((n) => n.role === "master").map((n) => n.name);
    for (let i = 0; i < layout.nodes.length; i++) {
      const y = ymlOf(i);
      expect(y["discovery.seed_hosts"]).toEqual(masterIps);
      expect(y["cluster.name"]).toBe("prod-logs");
    }
    expect(seedHosts(layout)).toEqual(masterIps);
    expect(initialMasterNodes(layout)).toEqual(masterNames);
    expect(parse(renderInitialMastersFragment(layout))).toEqual({ "cluster.initial_master_nodes": masterNames });
    const names = layout.nodes.map((_, i) => ymlOf(i)["node.name"]);
    expect(new Set(names).size).toBe(5);
  });
  test("a single-master dev layout bootstraps from that one master", () => {
    const dev: EsClusterLayout = { clusterName: "dev-logs", nodes: [layout.nodes[0], layout.nodes[3]] };
    expect(parse(renderInitialMastersFragment(dev))).toEqual({ "cluster.initial_master_nodes": ["prod-es-master-1"] });
    expect(parse(renderElasticsearchYml(dev, dev.nodes[1]))["discovery.seed_hosts"]).toEqual(["10.0.1.11"]);
  });
  test("bad layouts are rejected with the reason", () => {
    expect(() => checkLayout({ ...layout, nodes: layout.nodes.filter((n) => n.role === "data") })).toThrow("no master-eligible node");
    expect(() => checkLayout({ ...layout, nodes: layout.nodes.filter((n) => n.role === "master") })).toThrow("no data node");
    expect(() => checkLayout({ ...layout, nodes: [...layout.nodes, layout.nodes[0]] })).toThrow("node name prod-es-master-1 used twice");
    expect(() => checkLayout({ ...layout, clusterName: "bad name" })).toThrow(/cluster name "bad name"/);
    expect(() => checkLayout({ ...layout, nodes: [{ ...layout.nodes[0], privateIp: "" }, ...layout.nodes.slice(1)] })).toThrow(/not an IPv4 address/);
  });
});

describe("config step files", () => {
  const byPath = (i: number) => Object.fromEntries(renderNodeFiles({ layout, node: layout.nodes[i], tls, elasticPassword: "s3cret-Pa55word!!" }).map((f) => [f.path, f]));
  test("master: every file with its mode and owner; secrets root-only, the key readable by the service group only", () => {
    const f = byPath(0);
    expect(Object.keys(f).sort()).toEqual([
      "/etc/elasticsearch/certs/ca.crt", "/etc/elasticsearch/certs/node.crt", "/etc/elasticsearch/certs/node.key",
      "/etc/elasticsearch/jvm.options.d/gc.options", "/etc/elasticsearch/jvm.options.d/heap.options",
      "/etc/elasticsearch/opsfleet/elastic-password", "/etc/elasticsearch/opsfleet/elastic.curlrc",
      "/etc/elasticsearch/opsfleet/elasticsearch.base.yml", "/etc/elasticsearch/opsfleet/initial-master-nodes.yml",
    ]);
    expect(f["/etc/elasticsearch/certs/node.key"]).toMatchObject({ content: "KEY-PEM", mode: "0640", owner: "root", group: "elasticsearch" });
    expect(f["/etc/elasticsearch/opsfleet/elastic-password"]).toMatchObject({ content: "s3cret-Pa55word!!", mode: "0600", owner: "root", group: "root" });
    expect(f["/etc/elasticsearch/opsfleet/elastic.curlrc"]).toMatchObject({ mode: "0600", owner: "root" });
    expect(f["/etc/elasticsearch/jvm.options.d/heap.options"].content).toContain("-Xms2g\n-Xmx2g");
  });
  test("data: no bootstrap fragment, heap from its own type", () => {
    const f = byPath(3);
    expect(f["/etc/elasticsearch/opsfleet/initial-master-nodes.yml"]).toBeUndefined();
    expect(f["/etc/elasticsearch/jvm.options.d/heap.options"].content).toContain("-Xms16g\n-Xmx16g");
  });
  test("the password is in no file other than the two root-only ones, and never in the script", () => {
    const step = elasticsearchConfigStep({ layout, node: layout.nodes[0], tls, elasticPassword: "s3cret-Pa55word!!" });
    const holders = step.files.filter((f) => f.content.includes("s3cret-Pa55word!!")).map((f) => f.path);
    expect(holders).toEqual(["/etc/elasticsearch/opsfleet/elastic-password", "/etc/elasticsearch/opsfleet/elastic.curlrc"]);
    expect(step.script).not.toContain("s3cret");
  });
  test("curl config quotes the credentials", () => {
    expect(renderCurlConfig("elastic", 'a"b\\c')).toBe('user = "elastic:a\\"b\\\\c"\ncacert = "/etc/elasticsearch/certs/ca.crt"\n');
    expect(() => renderCurlConfig("elastic", "a\nb")).toThrow(/line breaks/);
  });
  test("the config script is valid bash", () => {
    const r = spawnSync("bash", ["-n"], { input: renderConfigScript(layout), encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("config script, run for real against a scratch /etc/elasticsearch with stub binaries", () => {
  let sb: Sandbox;
  const script = renderConfigScript(layout);
  const prepare = (role: "master" | "data") => {
    const node = layout.nodes[role === "master" ? 1 : 3];
    for (const f of renderNodeFiles({ layout, node, tls, elasticPassword: "s3cret-Pa55word!!" })) {
      sb.write(f.path.replace("/etc/elasticsearch", "etc-elasticsearch"), f.content);
    }
  };
  beforeEach(() => { sb = sandbox(); });
  afterEach(() => sb.cleanup());

  test("first bootstrap on a master: auto-config keystore entries removed, bootstrap.password from the file, initial masters appended, started", () => {
    prepare("master");
    // What the deb's auto-configuration leaves behind:
    sb.write("etc-elasticsearch/elasticsearch.keystore", [...AUTOCONFIG_KEYSTORE_ENTRIES, "keystore.seed"].map((e) => `${e}=x`).join("\n") + "\n");
    sb.write("etc-elasticsearch/certs/http.p12", "auto");
    sb.write("etc-elasticsearch/elasticsearch.yml", "cluster.initial_master_nodes: [\"ip-10-0-2-12\"]\nxpack.security.http.ssl.keystore.path: certs/http.p12\n");
    const r = sb.run(script);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(sb.read("etc-elasticsearch/elasticsearch.keystore")).toBe("keystore.seed=x\nbootstrap.password=s3cret-Pa55word!!\n");
    expect(sb.exists("etc-elasticsearch/certs/http.p12")).toBe(false);
    const yml = parse(sb.read("etc-elasticsearch/elasticsearch.yml"));
    expect(yml["node.name"]).toBe("prod-es-master-2");
    expect(yml["cluster.initial_master_nodes"]).toEqual(["prod-es-master-1", "prod-es-master-2", "prod-es-master-3"]);
    expect(r.stdout).toContain("first bootstrap: cluster.initial_master_nodes set");
    // asked every master whether a cluster already exists, with credentials from the curl config only
    const curls = sb.calls().filter((c) => c.startsWith("curl"));
    expect(curls.map((c) => c.match(/https:\/\/[\d.]+:9200/)?.[0])).toEqual(["https://10.0.1.11:9200", "https://10.0.2.12:9200", "https://10.0.3.13:9200"]);
    expect(curls.every((c) => c.includes("-K <sandbox>/etc-elasticsearch/opsfleet/elastic.curlrc") && !c.includes("s3cret"))).toBe(true);
    expect(sb.calls().some((c) => c.startsWith("runuser -u elasticsearch -- env ES_PATH_CONF=<sandbox>/etc-elasticsearch"))).toBe(true);
    expect(sb.calls().filter((c) => c.includes("s3cret"))).toEqual([]);
  });

  test("a master joining a running cluster (replacement) gets no initial masters and remembers the cluster formed", () => {
    prepare("master");
    const r = sb.run(script, { STUB_CURL_EXIT: "0" });
    expect(r.status).toBe(0);
    expect(sb.read("etc-elasticsearch/elasticsearch.yml")).not.toContain("initial_master_nodes");
    // on the data volume: a replacement instance gets it with the volume
    expect(sb.exists("var-lib-elasticsearch/opsfleet-cluster-formed")).toBe(true);
    expect(r.stdout).toContain("cluster already formed");
  });

  test("a replaced master (new root volume, its old data volume with cluster state) and no seed answers: never bootstraps", () => {
    prepare("master");
    sb.write("var-lib-elasticsearch/_state/node-0.st", "x"); // what Elasticsearch wrote at an earlier start
    // the deb's auto-configuration on the new instance
    sb.write("etc-elasticsearch/elasticsearch.yml", "cluster.initial_master_nodes: [\"ip-10-0-2-12\"]\n");
    const r = sb.run(script); // every seed: no answer
    expect(r.status).toBe(0);
    expect(sb.read("etc-elasticsearch/elasticsearch.yml")).not.toContain("initial_master_nodes");
    expect(r.stdout).toContain("holds state from an earlier start: not bootstrapping");
  });

  test("a replaced master whose data volume carries the formed marker and no seed answers: never bootstraps", () => {
    prepare("master");
    sb.write("var-lib-elasticsearch/opsfleet-cluster-formed", "");
    const r = sb.run(script);
    expect(r.status).toBe(0);
    expect(sb.read("etc-elasticsearch/elasticsearch.yml")).not.toContain("initial_master_nodes");
  });

  test("first formation in progress on the same instance (state written by its first start, our bootstrap config in place): keeps initial masters", () => {
    prepare("master");
    expect(sb.run(script).stdout).toContain("first bootstrap");
    sb.write("var-lib-elasticsearch/_state/node-0.st", "x");
    const again = sb.run(script);
    expect(again.status).toBe(0);
    expect(sb.read("etc-elasticsearch/elasticsearch.yml")).toContain("cluster.initial_master_nodes");
  });

  test("the root-volume marker of earlier releases still counts, and moves onto the data volume", () => {
    prepare("master");
    sb.write("etc-elasticsearch/opsfleet/cluster-formed", "");
    const r = sb.run(script);
    expect(r.status).toBe(0);
    expect(sb.read("etc-elasticsearch/elasticsearch.yml")).not.toContain("initial_master_nodes");
    expect(sb.exists("var-lib-elasticsearch/opsfleet-cluster-formed")).toBe(true);
  });

  test("after forget-bootstrap: the line is removed without a restart, and a later config run never adds it back", () => {
    prepare("master");
    expect(sb.run(script).status).toBe(0);
    expect(sb.read("etc-elasticsearch/elasticsearch.yml")).toContain("cluster.initial_master_nodes");
    const before = sb.calls().length;
    const forget = sb.run(forgetBootstrapStep().script);
    expect(forget.status).toBe(0);
    expect(forget.stdout).toContain("removed (effective at the next restart; not restarting now)");
    expect(sb.read("etc-elasticsearch/elasticsearch.yml")).toBe(sb.read("etc-elasticsearch/opsfleet/elasticsearch.base.yml"));
    expect(sb.calls().slice(before).filter((c) => /runuser|systemctl|kill/.test(c))).toEqual([]);
    expect(sb.exists("var-lib-elasticsearch/opsfleet-cluster-formed")).toBe(true);
    // config re-run (e.g. a heap change): the marker keeps the bootstrap setting out, no cluster probe needed
    const again = sb.run(script, { OPSFLEET_CHANGED: ` ${sb.conf}/jvm.options.d/heap.options` });
    expect(again.status).toBe(0);
    expect(sb.read("etc-elasticsearch/elasticsearch.yml")).not.toContain("initial_master_nodes");
  });

  test("a data node never gets initial masters and does not probe the cluster", () => {
    prepare("data");
    const r = sb.run(script);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(parse(sb.read("etc-elasticsearch/elasticsearch.yml"))["node.roles"]).toEqual(["data", "ingest"]);
    expect(sb.read("etc-elasticsearch/elasticsearch.yml")).not.toContain("initial_master_nodes");
    expect(sb.calls().filter((c) => c.startsWith("curl"))).toEqual([]);
  });

  test("a keystore whose bootstrap.password is set is not touched again", () => {
    prepare("data");
    sb.write("etc-elasticsearch/elasticsearch.keystore", "keystore.seed=x\nbootstrap.password=old\n");
    expect(sb.run(script).status).toBe(0);
    expect(sb.calls().filter((c) => c.startsWith("elasticsearch-keystore") && !c.endsWith(" list"))).toEqual([]);
  });
});
