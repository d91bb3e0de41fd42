import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import {
  byName, expectUniqueNames, isSecretInput, ofType, OptionsRecorder, registered, settle, unsecret, useMocks, valueOf,
} from "../test/harness/pulumi-mocks";
import { LogstashHost, type LogstashHostArgs } from "./logstash-host";

/** A stand-in for the cluster's user-creation step. */
class Marker extends pulumi.CustomResource {
  constructor(name: string) { super("test:index:Marker", name, {}); }
}

const ssh = { user: "admin", privateKey: pulumi.secret("PRIVATE-KEY"), bastion: { host: "198.51.100.7", user: "admin", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBastionHostKeyForTests0000000000000000000 bastion" } };

function args(over: Partial<LogstashHostArgs> = {}, ready?: pulumi.Resource): LogstashHostArgs {
  return {
    vpcId: "vpc-1",
    subnetId: "subnet-a",
    elasticsearch: {
      dataNodeIps: ["10.0.1.21", "10.0.2.22"], caCertPem: "CA-PEM", user: "logstash_internal",
      password: pulumi.secret("ls-Pa55word-derived"), readyAfter: ready ? [ready] : undefined,
    },
    beatsClientSecurityGroupIds: ["sg-app"],
    bastionSecurityGroupId: "sg-bastion",
    elasticsearchSecurityGroupId: "sg-es",
    ssh,
    keyName: "ops",
    ...over,
  };
}

describe("LogstashHost", () => {
  beforeEach(() => useMocks());

  test("m5.xlarge default: Logstash from the pinned repo, 4 workers, 8g heap, Beats → data nodes; waits for the cluster's users", async () => {
    const rec = new OptionsRecorder();
    const ready = new Marker("cluster-users-ready");
    const ls = new LogstashHost("prod-logstash", args({}, ready), rec.opts);
    await settle(ls, ls.host, ...ls.host.steps);
    const m = await valueOf(ls.host.manifest());
    expect(m.instanceType).toBe("m5.xlarge");
    expect(m.steps.map((s) => s.name)).toEqual(["cloud-init", "volumes", "logstash-install", "logstash-config"]);
    expect(m.steps[2].script).toContain("logstash=\"$want\"");
    expect(m.steps[2].script).toContain("want='8.19.2'");
    const file = (p: string) => m.files.find((f) => f.path === p)!;
    expect(parse(file("/etc/logstash/logstash.yml").content)["pipeline.workers"]).toBe(4);
    expect(file("/etc/logstash/opsfleet/heap.options").content).toContain("-Xms8g\n-Xmx8g");
    expect(file("/etc/logstash/conf.d/opsfleet-beats.conf").content).toContain('hosts => ["https://10.0.1.21:9200", "https://10.0.2.22:9200"]');
    expect(file("/etc/default/logstash")).toMatchObject({ mode: "0600", owner: "root", content: expect.stringContaining('ES_PASSWORD="ls-Pa55word-derived"') });
    expect(m.files.filter((f) => f.content.includes("ls-Pa55word")).map((f) => f.path)).toEqual(["/etc/default/logstash"]);
    expect(rec.optionsOf("prod-logstash-logstash-config").dependsOn).toContain(ready);
    const cmd = byName("prod-logstash-logstash-config", "command:remote:Command").inputs;
    expect(isSecretInput(cmd.stdin)).toBe(true);
    expect(unsecret(cmd.logging)).toBe("none");
    expect(byName("prod-logstash-data", "aws:ebs/volume:Volume").inputs).toMatchObject({ size: 50, encrypted: true });
    expect(await valueOf(ls.beatsEndpoint)).toBe(`${m.privateIp}:5044`);
    expect(ls.kibanaUrl).toBeUndefined();
    expectUniqueNames();
  });

  test("security group: Beats only from the client SGs, SSH only from the bastion, out to 9200 only at the cluster SG", async () => {
    const ls = new LogstashHost("ls", args());
    await settle(ls, ls.host);
    const sgId = "ls-sg-id";
    const ingress = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.securityGroupId === sgId)
      .map((r) => [r.inputs.fromPort, r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4]).map((x) => JSON.stringify(x)).sort();
    expect(ingress).toEqual([[22, "sg-bastion"], [5044, "sg-app"]].map((x) => JSON.stringify(x)).sort());
    const egress = ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").filter((r) => r.inputs.securityGroupId === sgId)
      .map((r) => [r.inputs.fromPort, r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4]).map((x) => JSON.stringify(x)).sort();
    expect(egress).toEqual([[9200, "sg-es"], [443, "0.0.0.0/0"], [80, "0.0.0.0/0"]].map((x) => JSON.stringify(x)).sort());
  });

  test("Kibana toggle: installed and configured on the same host, 5601 from the bastion only, secrets in its env file", async () => {
    const ls = new LogstashHost("ls", args({
      instanceType: "t3.large", workers: 3, batchSize: 500, queueType: "memory",
      kibana: { kibanaSystemPassword: pulumi.secret("kb-Pa55word-derived"), encryptionKey: pulumi.secret("e".repeat(43)) },
    }));
    await settle(ls, ls.host, ...ls.host.steps);
    const m = await valueOf(ls.host.manifest());
    expect(m.steps.map((s) => s.name)).toEqual(["cloud-init", "volumes", "logstash-install", "kibana-install", "logstash-config", "kibana-config"]);
    const yml = parse(m.files.find((f) => f.path === "/etc/kibana/kibana.yml")!.content);
    expect(yml["server.host"]).toBe(m.privateIp);
    expect(yml["elasticsearch.hosts"]).toEqual(["https://10.0.1.21:9200", "https://10.0.2.22:9200"]);
    expect(m.files.filter((f) => f.content.includes("kb-Pa55word")).map((f) => [f.path, f.mode])).toEqual([["/etc/default/kibana", "0600"]]);
    const ls5601 = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.fromPort === 5601);
    expect(ls5601.map((r) => r.inputs.referencedSecurityGroupId)).toEqual(["sg-bastion"]);
    expect(await valueOf(ls.kibanaUrl!)).toBe(`http://${m.privateIp}:5601`);
    const lsYml = parse(m.files.find((f) => f.path === "/etc/logstash/logstash.yml")!.content);
    expect([lsYml["pipeline.workers"], lsYml["pipeline.batch.size"], lsYml["queue.type"]]).toEqual([3, 500, "memory"]);
  });

  test.each([
    [{ instanceType: "m7g.large" }, /logstash\.instanceType: unknown instance type "m7g\.large"/],
    [{ instanceType: "t3.micro" }, /t3\.micro has 1 GiB/],
    [{ version: "8.x" }, /version: "8.x" is not an Elastic 8.x release/],
    [{ workers: 0 }, /workers must be a whole number >= 1 \(got 0\)/],
    [{ batchSize: 0 }, /batchSize must be a whole number >= 1/],
    [{ queueMaxGb: 1.5 }, /queueMaxGb must be a whole number >= 1/],
  ] as [Partial<LogstashHostArgs>, RegExp][])("rejects %j", (over, msg) => {
    expect(() => new LogstashHost("bad", args(over))).toThrow(msg);
    expect(registered).toEqual([]);
  });
});
