import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import {
  byName, expectUniqueNames, isSecretInput, ofType, OptionsRecorder, registered, settle, unsecret, useMocks, valueOf,
} from "../test/harness/pulumi-mocks";
import { ElasticsearchCluster, type ElasticsearchClusterArgs } from "./elasticsearch-cluster";
import type { HostManifest } from "./host";
import { computedOutputs, mockId, mockInvoke } from "../test/harness/mock-data";

const ssh = { user: "admin", privateKey: pulumi.secret("PRIVATE-KEY"), bastion: { host: "198.51.100.7", user: "admin", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBastionHostKeyForTests0000000000000000000 bastion" } };
const base: ElasticsearchClusterArgs = {
  vpcId: "vpc-1",
  subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
  clusterName: "prod-logs",
  elasticPassword: pulumi.secret("elastic-Pa55word-123"),
  clientSecurityGroupIds: ["sg-app"],
  bastionSecurityGroupId: "sg-bastion",
  ssh,
  keyName: "ops",
  logstashUser: { username: "logstash_internal", password: pulumi.secret("ls-Pa55word-derived") },
};
const NAMES = ["es-master-1", "es-master-2", "es-master-3", "es-data-1", "es-data-2"];

describe("ElasticsearchCluster (defaults: 3 masters, 2 data nodes)", () => {
  const rec = new OptionsRecorder();
  let es: ElasticsearchCluster;
  let manifests: Record<string, HostManifest>;

  beforeAll(async () => {
    await useMocks();
    es = new ElasticsearchCluster("es", base, rec.opts);
    es.allowHttpFrom("logstash", "sg-logstash");
    const hosts = [...es.masters, ...es.dataNodes];
    await settle(es, ...hosts, ...hosts.flatMap((h) => h.steps));
    manifests = Object.fromEntries(await Promise.all(hosts.map(async (h) => { const m = await valueOf(h.manifest()); return [m.host, m] as const; })));
    }, 120_000); // 5 hosts, each with its interface, host key, steps and health gate

  test("5 hosts: t3.medium masters, m5.2xlarge data nodes, round-robin over the AZ subnets", () => {
    const inst = ofType("aws:ec2/instance:Instance");
    expect(inst.map((i) => [i.name, i.inputs.instanceType, byName(i.name, "aws:ec2/networkInterface:NetworkInterface").inputs.subnetId])).toEqual([
      ["es-master-1", "t3.medium", "subnet-a"], ["es-master-2", "t3.medium", "subnet-b"], ["es-master-3", "t3.medium", "subnet-c"],
      ["es-data-1", "m5.2xlarge", "subnet-a"], ["es-data-2", "m5.2xlarge", "subnet-b"],
    ]);
    expect(inst.every((i) => i.inputs.metadataOptions.httpTokens === "required")).toBe(true);
  });

  test("encrypted data volumes sized per group, mounted at /var/lib/elasticsearch", () => {
    const vols = ofType("aws:ebs/volume:Volume").map((v) => [v.name, v.inputs.size, v.inputs.encrypted, v.inputs.type]);
    expect(vols).toEqual(NAMES.map((n) => [`${n}-data`, n.includes("master") ? 20 : 500, true, "gp3"]));
    expect(manifests["es-data-1"].steps.find((s) => s.name === "volumes")!.script).toContain("/var/lib/elasticsearch");
  });

  test("security group: 9300 only inside the cluster, 9200 from the cluster and the clients, SSH only from the bastion, no open ingress", () => {
    const sg = byName("es-sg", "aws:ec2/securityGroup:SecurityGroup");
    expect(sg.inputs.ingress ?? []).toEqual([]); // all rules are separate resources
    const sgId = "es-sg-id";
    const ingress = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.securityGroupId === sgId)
      .map((r) => [r.inputs.fromPort, r.inputs.toPort, r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4]);
    const sorted = (x: unknown[][]) => x.map((r) => JSON.stringify(r)).sort();
    expect(sorted(ingress)).toEqual(sorted([[9300, 9300, sgId], [9200, 9200, sgId], [22, 22, "sg-bastion"], [9200, 9200, "sg-app"], [9200, 9200, "sg-logstash"]]));
    const egress = ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.securityGroupId === sgId)
      .map((r) => [r.inputs.fromPort, r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4]);
    expect(sorted(egress)).toEqual(sorted([[9300, sgId], [9200, sgId], [443, "0.0.0.0/0"], [80, "0.0.0.0/0"]]));
  });

  test("steps in order; cluster-wide steps on the first master after every node's config", () => {
    expect(manifests["es-master-1"].steps.map((s) => s.name)).toEqual([
      "cloud-init", "volumes", "elasticsearch-install", "elasticsearch-os", "elasticsearch-config", "elasticsearch-healthy",
      "elasticsearch-cluster-security", "elasticsearch-forget-bootstrap", "elasticsearch-data-nodes", "elasticsearch-index-profile",
    ]);
    expect(manifests["es-master-2"].steps.map((s) => s.name).slice(4)).toEqual(["elasticsearch-config", "elasticsearch-healthy", "elasticsearch-forget-bootstrap"]);
    expect(manifests["es-data-2"].steps.map((s) => s.name).slice(4)).toEqual(["elasticsearch-config", "elasticsearch-healthy"]);
    const secDeps = rec.optionsOf("es-master-1-elasticsearch-cluster-security").dependsOn as pulumi.Resource[];
    // every node's config, through its health gate (which follows it)
    for (const n of NAMES) expect(secDeps).toContain(rec.resourceOf(`${n}-elasticsearch-healthy`));
    for (const n of NAMES) expect(rec.optionsOf(`${n}-elasticsearch-healthy`).dependsOn).toContain(rec.resourceOf(`${n}-elasticsearch-config`));
    expect(rec.optionsOf("es-master-3-elasticsearch-forget-bootstrap").dependsOn).toContain(rec.resourceOf("es-master-1-elasticsearch-cluster-security"));
    expect(es.usersReady).toBe(rec.resourceOf("es-master-1-elasticsearch-cluster-security"));
  });

  test("nodes are created and replaced one at a time, masters first: each instance waits for the previous node's health gate", async () => {
    const deps = async (n: string) => {
      const o = rec.seen.find((x) => x.name === n && x.type === "aws:ec2/instance:Instance")!.opts as pulumi.CustomResourceOptions;
      expect(o.deleteBeforeReplace).toBe(true);
      return valueOf(o.dependsOn as pulumi.Input<pulumi.Resource[]>);
    };
    expect(await deps(NAMES[0])).toEqual([]);
    for (let i = 1; i < NAMES.length; i++) expect(await deps(NAMES[i])).toEqual([rec.resourceOf(`${NAMES[i - 1]}-elasticsearch-healthy`)]);
    const ips = Object.fromEntries(Object.values(manifests).map((m) => [m.host, m.privateIp]));
    const gate = manifests["es-data-1"].steps.find((s) => s.name === "elasticsearch-healthy")!;
    expect(gate.script).toContain(`"https://${ips["es-data-1"]}:9200$1"`); // its own node
    expect(gate.script).toContain("'/_cluster/health?wait_for_status=green&timeout=50s'");
    expect(gate.script).toContain("grep -qx 'es-data-1'"); // and it waits for its own node to have joined
    // the security step marks the cluster formed: from then on the gates wait for green
    expect(manifests["es-master-1"].steps.find((s) => s.name === "elasticsearch-cluster-security")!.script).toContain('"cluster.metadata.opsfleet_formed":"true"');
  });

  test("every node's elasticsearch.yml: its own IP, seed hosts = the masters' IPs; initial masters = master names", async () => {
    const ips = Object.fromEntries(Object.values(manifests).map((m) => [m.host, m.privateIp]));
    const masterIps = NAMES.slice(0, 3).map((n) => ips[n]);
    expect(new Set(Object.values(ips)).size).toBe(5);
    for (const n of NAMES) {
      const yml = parse(manifests[n].files.find((f) => f.path === "/etc/elasticsearch/opsfleet/elasticsearch.base.yml")!.content);
      expect(yml["network.host"]).toBe(ips[n]);
      expect(yml["node.name"]).toBe(n);
      expect(yml["node.roles"]).toEqual(n.includes("master") ? ["master"] : ["data", "ingest"]);
      expect(yml["discovery.seed_hosts"]).toEqual(masterIps);
      const fragment = manifests[n].files.find((f) => f.path.endsWith("initial-master-nodes.yml"));
      if (n.includes("master")) expect(parse(fragment!.content)).toEqual({ "cluster.initial_master_nodes": NAMES.slice(0, 3) });
      else expect(fragment).toBeUndefined();
    }
    expect(await valueOf(es.httpEndpoints)).toEqual([`https://${ips["es-data-1"]}:9200`, `https://${ips["es-data-2"]}:9200`]);
    expect(await valueOf(es.masterIps)).toEqual(masterIps);
    expect(await valueOf(es.clusterName)).toBe("prod-logs");
  });

  test("heap per group from the instance type", () => {
    const heap = (n: string) => manifests[n].files.find((f) => f.path.endsWith("heap.options"))!.content;
    expect(heap("es-master-1")).toContain("-Xms2g\n-Xmx2g");
    expect(heap("es-data-1")).toContain("-Xms16g\n-Xmx16g");
  });

  test("TLS: a CA made here, per-node certificates for the node's IP and name, key delivered as a secret", () => {
    expect(byName("es-ca", "tls:index/selfSignedCert:SelfSignedCert").inputs).toMatchObject({ isCaCertificate: true, allowedUses: ["cert_signing", "crl_signing"] });
    const csr = byName("es-data-2-tls-csr", "tls:index/certRequest:CertRequest").inputs;
    expect(csr.ipAddresses).toEqual([manifests["es-data-2"].privateIp, "127.0.0.1"]);
    expect(csr.dnsNames).toEqual(["es-data-2", "localhost"]);
    expect(byName("es-data-2-tls-cert", "tls:index/locallySignedCert:LocallySignedCert").inputs.allowedUses).toEqual(
      ["digital_signature", "key_encipherment", "server_auth", "client_auth"]);
    const f = manifests["es-data-2"].files.find((x) => x.path === "/etc/elasticsearch/certs/node.key")!;
    expect(f).toMatchObject({ content: "<secret:tls-private-key:es-data-2-tls-key>", mode: "0640", owner: "root", group: "elasticsearch" });
    expect(manifests["es-data-2"].files.find((x) => x.path === "/etc/elasticsearch/certs/node.crt")!.content).toBe("<tls-certificate:es-data-2-tls-cert>");
  });

  test("the elastic password: only on stdin, secret, commands not logged; never in command text", () => {
    const cmd = byName("es-master-2-elasticsearch-config", "command:remote:Command").inputs;
    expect(isSecretInput(cmd.stdin)).toBe(true);
    expect(unsecret(cmd.logging)).toBe("none");
    expect(unsecret(cmd.create)).toBe("sudo bash -s");
    expect(unsecret(cmd.stdin)).toContain(Buffer.from("elastic-Pa55word-123").toString("base64").slice(0, 16));
    const pw = manifests["es-master-2"].files.filter((f) => f.content.includes("elastic-Pa55word-123"));
    expect(pw.map((f) => [f.path, f.mode, f.owner])).toEqual([
      ["/etc/elasticsearch/opsfleet/elastic-password", "0600", "root"], ["/etc/elasticsearch/opsfleet/elastic.curlrc", "0600", "root"],
    ]);
    for (const r of ofType("command:remote:Command")) expect(JSON.stringify(unsecret(r.inputs.create))).not.toContain("Pa55word");
    // non-secret steps still show their output
    expect(unsecret(byName("es-master-2-elasticsearch-install", "command:remote:Command").inputs.logging)).toBe("stdoutAndStderr");
    // the cluster step carries the Logstash user's password in a root-only body file only
    const sec = manifests["es-master-1"].steps.find((s) => s.name === "elasticsearch-cluster-security")!;
    expect(sec.script).not.toContain("Pa55word");
    expect(manifests["es-master-1"].files.filter((f) => f.content.includes("ls-Pa55word-derived")).map((f) => f.path))
      .toEqual(["/etc/elasticsearch/opsfleet/requests/users/02.json"]);
  });

  test("index profile step: the normal profile's calls on the configured index pattern", () => {
    const files = manifests["es-master-1"].files.filter((f) => f.step === "elasticsearch-index-profile").map((f) => JSON.parse(f.content));
    expect(files[0]).toMatchObject({ index_patterns: ["logstash-*"], template: { settings: { index: { number_of_shards: 2, number_of_replicas: 1 } } } });
    expect(files[1]).toEqual({ index: { number_of_replicas: 1, refresh_interval: null, translog: { durability: "request" } } });
    expect(manifests["es-master-1"].steps.find((s) => s.name === "elasticsearch-index-profile")!.script).toContain("wait_for_status=green&timeout=30m");
  });

  test("outputs and unique names", async () => {
    expect(await valueOf(es.caCertPem)).toBe("<tls-certificate:es-ca>");
    expectUniqueNames();
    expect(registered.filter((r) => r.type === "opsfleet:index:ElasticsearchCluster")).toHaveLength(1);
  });
});

describe("ElasticsearchCluster validation and variants", () => {
  beforeEach(() => useMocks());

  test.each([
    [{ masters: { count: 2 } }, /masters.count 2 cannot survive losing a master.*allowed: 1 \(dev\) or 3\+/],
    [{ data: { instanceType: "m7g.large" } }, /data.instanceType: unknown instance type "m7g.large"/],
    [{ masters: { instanceType: "t3.micro" } }, /masters.instanceType: t3.micro has 1 GiB/],
    [{ data: { count: 1 } }, /index.replicas 1 needs 2 data nodes \(have 1\); allowed: 0..0/],
    [{ data: { count: 0 } }, /data.count must be a whole number >= 1/],
    [{ version: "9.1.0" }, /version: "9.1.0" is not an Elastic 8.x release/],
    [{ subnetIds: [] }, /subnetIds must list at least one subnet/],
    [{ data: { volumeSizeGb: 0 } }, /data.volumeSizeGb must be a whole number of GiB >= 1 \(got 0\)/],
  ] as [Partial<ElasticsearchClusterArgs>, RegExp][])("rejects %j before creating anything", (over, msg) => {
    expect(() => new ElasticsearchCluster("bad", { ...base, ...over })).toThrow(msg);
    expect(registered).toEqual([]);
  });

  test("one master (dev) is allowed with a warning; bulk-ingest profile", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(async () => {});
    const es = new ElasticsearchCluster("dev", {
      ...base, clusterName: "dev-logs", subnetIds: ["subnet-a", "subnet-b"],
      masters: { count: 1, instanceType: "t3.small" }, data: { count: 1, instanceType: "t3.large" },
      index: { replicas: 0, profile: "bulk-ingest", shards: 1 },
    });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("1 master-eligible node is not highly available"), es);
    warn.mockRestore();
    await settle(es, ...es.masters, ...es.dataNodes, ...es.masters[0].steps);
    const m = await valueOf(es.masters[0].manifest());
    expect(parse(m.files.find((f) => f.path.endsWith("initial-master-nodes.yml"))!.content)).toEqual({ "cluster.initial_master_nodes": ["dev-master-1"] });
    const bodies = m.files.filter((f) => f.step === "elasticsearch-index-profile").map((f) => JSON.parse(f.content));
    expect(bodies[1]).toEqual({ index: { number_of_replicas: 0, refresh_interval: "300s", translog: { durability: "async" } } });
    expect(m.steps.find((s) => s.name === "elasticsearch-index-profile")!.script).not.toContain("wait_for_status=green");
    expect(ofType("aws:ec2/instance:Instance").map((i) => [i.inputs.instanceType, byName(i.name, "aws:ec2/networkInterface:NetworkInterface").inputs.subnetId])).toEqual([["t3.small", "subnet-a"], ["t3.large", "subnet-b"]]);
  });
});

describe("ElasticsearchCluster data-node count change", () => {
  const ipOf = new Map<string, string>(); // a host keeps its IP whatever the count (as on AWS)
  async function build(dataCount: number): Promise<Map<string, string>> {
    await useMocks();
    await pulumi.runtime.setMocks({
      newResource(args) {
        registered.push(args);
        const state = { ...args.inputs, ...computedOutputs(args) };
        if (args.type === "aws:ec2/networkInterface:NetworkInterface") { // a host's address is its interface's
          if (!ipOf.has(args.name)) ipOf.set(args.name, `10.0.9.${10 + ipOf.size}`);
          state.privateIp = ipOf.get(args.name);
        }
        return { id: mockId(args), state };
      },
      call: (a) => mockInvoke(a.token, a.inputs),
    }, "opsfleet", "test", false);
    const es = new ElasticsearchCluster("es", { ...base, data: { count: dataCount } });
    const hosts = [...es.masters, ...es.dataNodes];
    await settle(es, ...hosts, ...hosts.flatMap((h) => h.steps));
    return new Map(registered.map((r) => [`${r.type}::${r.name}`, JSON.stringify(unsecret(r.inputs))]));
  }

  test("3 -> 2 data nodes: only the first master's drain step (its keep list) and cluster wait change; data-3 is removed after them", async () => {
    const three = await build(3);
    const two = await build(2);
    const changed = [...two.keys()].filter((k) => three.get(k) !== two.get(k));
    expect(changed).toEqual(["command:remote:Command::es-master-1-elasticsearch-cluster-security", "command:remote:Command::es-master-1-elasticsearch-data-nodes"]);
    expect(two.get("command:remote:Command::es-master-1-elasticsearch-data-nodes")).toContain("KEEP='es-data-1 es-data-2'");
    const removed = [...three.keys()].filter((k) => !two.has(k));
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.every((k) => k.includes("::es-data-3"))).toBe(true);
    // scale-out is the same change the other way round: existing nodes' configs are untouched
    expect([...three.keys()].filter((k) => two.has(k) && three.get(k) !== two.get(k)).sort()).toEqual(changed.sort());
  }, 120_000);
});
