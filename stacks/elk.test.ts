import * as pulumi from "@pulumi/pulumi";
import { ofType, OptionsRecorder, settle, unsecret, useMocks, valueOf, byName } from "../test/harness/pulumi-mocks";
import { elkConfigSchema } from "./config/elk";
import { composeElk, LOGSTASH_USER } from "./elk";
import type { StackContext } from "./context";
import { derivePassword } from "../provision/elasticsearch/passwords";

/** The file contents a step writes (base64 blocks of renderStepScript), decoded. */
function filesOnStdin(stdin: string): string {
  return [...stdin.matchAll(/<<'OPSFLEET_B64'\n([\s\S]*?)\nOPSFLEET_B64/g)].map((m) => Buffer.from(m[1].replace(/\n/g, ""), "base64").toString("utf8")).join("\n");
}

function ctx(rec: OptionsRecorder, elasticPassword?: pulumi.Output<string>): StackContext {
  return {
    prefix: "dev",
    vpcId: "vpc-1",
    publicSubnetIds: ["subnet-p1", "subnet-p2", "subnet-p3"],
    privateSubnetIds: ["subnet-a", "subnet-b", "subnet-c"],
    ssh: { user: "admin", privateKey: pulumi.secret("KEY"), bastion: { host: "198.51.100.7", user: "admin", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBastionHostKeyForTests0000000000000000000 bastion" } },
    keyName: "ops",
    bastionSecurityGroupId: "sg-bastion",
    tags: { "opsfleet:stack": "dev" },
    protectData: true,
    secrets: { elasticPassword },
    clientSecurityGroupIds: ["sg-web"],
    opts: rec.opts,
  };
}

describe("composeElk", () => {
  jest.setTimeout(120_000); // 6 hosts with host keys and health gates: many registrations on a shared 2-core box
  beforeEach(() => useMocks());

  test("defaults: 5 Elasticsearch hosts + Logstash; outputs; Logstash as a least-privilege user with a derived secret password", async () => {
    const rec = new OptionsRecorder();
    const out = composeElk(elkConfigSchema.parse({}), ctx(rec, pulumi.secret("elastic-Pa55word-123")));
    await settle(...rec.seen.map((s) => s.resource));
    const instances = ofType("aws:ec2/instance:Instance").map((i) => [i.name, i.inputs.instanceType]).sort();
    expect(instances).toEqual([
      ["dev-es-master-1", "t3.medium"], ["dev-es-master-2", "t3.medium"], ["dev-es-master-3", "t3.medium"],
      ["dev-es-data-1", "m5.2xlarge"], ["dev-es-data-2", "m5.2xlarge"], ["dev-logstash", "m5.xlarge"],
    ].sort());
    expect(await valueOf(out.clusterName)).toBe("dev-logs");
    expect(await valueOf(out.httpEndpoints)).toHaveLength(2);
    expect(await valueOf(out.logstashBeatsEndpoint)).toMatch(/^10\.\d+\.\d+\.\d+:5044$/);
    expect(out.kibanaUrl).toBeUndefined();
    expect(out.indexProfile).toBe("normal");
    // Logstash may reach 9200 (rule on the cluster SG), the web tier may reach 9200 and 5044
    const httpFrom = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.fromPort === 9200).map((r) => r.inputs.referencedSecurityGroupId);
    expect(httpFrom).toEqual(expect.arrayContaining(["sg-web", "dev-logstash-sg-id"]));
    const beats = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.fromPort === 5044).map((r) => r.inputs.referencedSecurityGroupId);
    expect(beats).toEqual(["sg-web"]);
    // the derived password reaches both the user-creation body and the Logstash env file, and nothing else
    const derived = derivePassword("elastic-Pa55word-123", LOGSTASH_USER);
    const holders = ofType("command:remote:Command").filter((c) => filesOnStdin(String(unsecret(c.inputs.stdin))).includes(derived));
    expect(holders.map((c) => c.name).sort()).toEqual(["dev-es-master-1-elasticsearch-cluster-security", "dev-logstash-logstash-config"]);
    expect(holders.every((c) => unsecret(c.inputs.logging) === "none")).toBe(true);
    // every top-level component got ctx.opts (the plan recorder sees the hosts)
    expect(rec.seen.filter((s) => s.type === "opsfleet:index:Host").map((s) => s.name)).toHaveLength(6);
    expect(unsecret(byName("dev-logstash-logstash-config", "command:remote:Command").inputs.logging)).toBe("none");
    // opsfleet:protectData reaches every data volume
    const protectedVolumes = rec.seen.filter((s) => s.type === "aws:ebs/volume:Volume").map((s) => [s.name, s.opts.protect]);
    expect(protectedVolumes).toHaveLength(6);
    expect(protectedVolumes.every(([, p]) => p === true)).toBe(true);
  });

  test("dev: 1 small master (warned), 1 data node, 0 replicas, Kibana on, bulk-ingest", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(async () => {});
    const rec = new OptionsRecorder();
    const cfg = elkConfigSchema.parse({
      clusterName: "devlogs",
      masters: { count: 1, instanceType: "t3.small", volumeSizeGb: 10 },
      data: { count: 1, instanceType: "t3.large", volumeSizeGb: 30 },
      index: { replicas: 0, shards: 1, profile: "bulk-ingest" },
      logstash: { instanceType: "t3.medium", volumeSizeGb: 20 },
      kibana: { enabled: true },
    });
    const out = composeElk(cfg, ctx(rec, pulumi.secret("elastic-Pa55word-123")));
    await settle(...rec.seen.map((s) => s.resource));
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("not highly available"), expect.anything());
    warn.mockRestore();
    expect(ofType("aws:ec2/instance:Instance").map((i) => `${i.name}=${i.inputs.instanceType}`).sort()).toEqual(["dev-es-data-1=t3.large", "dev-es-master-1=t3.small", "dev-logstash=t3.medium"]);
    expect(await valueOf(out.kibanaUrl!)).toMatch(/^http:\/\/10\.[\d.]+:5601$/);
    expect(await valueOf(out.clusterName)).toBe("devlogs");
    expect(out.indexProfile).toBe("bulk-ingest");
  });

  test("without the elastic password secret it fails with the key to set", () => {
    expect(() => composeElk(elkConfigSchema.parse({}), ctx(new OptionsRecorder()))).toThrow("opsfleet:elasticPassword: missing secret (needed by elk)");
  });
});

describe("derived service passwords", () => {
  test("deterministic per label, different per label, not the elastic password", () => {
    const a = derivePassword("elastic-Pa55word-123", "logstash_internal");
    expect(a).toBe(derivePassword("elastic-Pa55word-123", "logstash_internal"));
    expect(a).not.toBe(derivePassword("elastic-Pa55word-123", "kibana_system"));
    expect(a).not.toBe(derivePassword("elastic-Pa55word-124", "logstash_internal"));
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(() => derivePassword("short", "x")).toThrow(/at least 16/);
  });
});
