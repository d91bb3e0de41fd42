/**
 * The change engine's pure parts: replace judgement from the provider data, the mock provider's state
 * across a change, and the plan diff (matching by URN and alias, step runs, replacement order).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { changedLeaves, dependentReplaceKeys, diffResource, normalizePath } from "./rules";
import { answer, priorStateOf, withIgnoredFromPrior, withPulumiUrns, type StateResource } from "./state";
import { diffPlans, type PlanLike } from "./diff";
import { renderChanges } from "./render";
import { SAFETY_ROWS } from "./safety-rows";
import { readmeWithTable } from "./safety-table";
import { computedOutputs, mockInvoke, pulumiUrn, recordAnswer, resetMockData } from "../../test/harness/mock-data";

const FLEET = "aws:ec2/spotFleetRequest:SpotFleetRequest";
const INSTANCE = "aws:ec2/instance:Instance";

describe("replace judgement (tools/change/replace-forcing.json)", () => {
  test("the data is the provider reference: each entry names its source, paths are camelCase (every type the stacks create: tools/plan.test.ts)", () => {
    const data = JSON.parse(fs.readFileSync(path.join(__dirname, "replace-forcing.json"), "utf8")) as Record<string, { replaceOn: string[]; source: string }>;
    expect(Object.keys(data).length).toBeGreaterThanOrEqual(60);
    for (const [t, rule] of Object.entries(data)) {
      expect({ t, source: rule.source }).toEqual({ t, source: expect.stringMatching(/^(hashicorp|pulumi)\/[\w-]+@/) });
      for (const p of rule.replaceOn) expect(p).not.toMatch(/_/);
    }
  });

  test("the types the review found without data: a subnet move replaces the ENI, a new topic the policy, a new bucket its sub-resources", () => {
    expect(diffResource("aws:ec2/networkInterface:NetworkInterface", { subnetId: "subnet-a", securityGroups: ["sg-1"] }, { subnetId: "subnet-b", securityGroups: ["sg-1"] }).replaceReasons).toEqual(["subnetId"]);
    expect(diffResource("aws:ec2/networkInterface:NetworkInterface", { subnetId: "s", securityGroups: ["sg-1"] }, { subnetId: "s", securityGroups: ["sg-2"] }).replaceReasons).toEqual([]);
    expect(diffResource("aws:kms/key:Key", { keyUsage: "ENCRYPT_DECRYPT" }, { keyUsage: "SIGN_VERIFY" }).replaceReasons).toEqual(["keyUsage"]);
    expect(diffResource("aws:kms/key:Key", { enableKeyRotation: false }, { enableKeyRotation: true }).replaceReasons).toEqual([]);
    expect(diffResource("aws:kms/alias:Alias", { name: "alias/a", targetKeyId: "k1" }, { name: "alias/a", targetKeyId: "k2" }).replaceReasons).toEqual([]);
    expect(diffResource("aws:ssm/parameter:Parameter", { name: "/a", value: "1" }, { name: "/b", value: "1" }).replaceReasons).toEqual(["name"]);
    expect(diffResource("aws:autoscaling/tag:Tag", { autoscalingGroupName: "g", tag: { key: "k", value: "1" } }, { autoscalingGroupName: "g", tag: { key: "k", value: "2" } }).replaceReasons).toEqual([]);
    expect(diffResource("aws:autoscaling/tag:Tag", { autoscalingGroupName: "g", tag: { key: "k", value: "1" } }, { autoscalingGroupName: "g", tag: { key: "j", value: "1" } }).replaceReasons).toEqual(["tag.key"]);
    expect(diffResource("aws:sns/topicPolicy:TopicPolicy", { arn: "t1", policy: "{}" }, { arn: "t2", policy: "{}" }).replaceReasons).toEqual(["arn"]);
    for (const t of ["bucketPolicy:BucketPolicy", "bucketPublicAccessBlock:BucketPublicAccessBlock", "bucketOwnershipControls:BucketOwnershipControls", "bucketVersioning:BucketVersioning", "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "bucketLifecycleConfiguration:BucketLifecycleConfiguration"]) {
      expect(diffResource(`aws:s3/${t}`, { bucket: "b1" }, { bucket: "b2" }).replaceReasons).toEqual(["bucket"]);
    }
  });

  test("a changed resource of a type without data is not silently an update: an UNKNOWN note, counted at the top of the preview", () => {
    const d = diffResource("aws:foo/bar:Bar", { a: 1 }, { a: 2 });
    expect(d.notes).toEqual([expect.stringMatching(/^UNKNOWN: no replace data for aws:foo\/bar:Bar: .*may be a replacement/)]);
    const opts = { ignoreChanges: [], replaceOnChanges: [], dependsOn: [], protect: false, deleteBeforeReplace: false, aliases: [] };
    const res = (a: number): PlanLike["resources"][number] => ({ urn: "urn:pulumi:s::p::aws:foo/bar:Bar::x", type: "aws:foo/bar:Bar", name: "x", custom: true, parent: null, inputs: { a }, options: opts });
    const cs = diffPlans({ region: "r", resources: [res(1)], hosts: [] }, { region: "r", resources: [res(2)], hosts: [] });
    expect(cs.notes).toEqual([expect.stringMatching(/^x: UNKNOWN: /)]);
    expect(renderChanges(cs, { stack: "s", against: "a" }).split("\n")[2]).toMatch(/^  ! 1 changed resource\(s\) of a type without replace data/);
  });

  test("TLS: a changed CA cert, CSR or key PEM replaces the signed cert / CSR (requireReplaceIfStateContainsPEMString)", () => {
    const LSC = "tls:index/locallySignedCert:LocallySignedCert";
    const cert = (ca: string, csr: string) => ({ caCertPem: ca, caPrivateKeyPem: { $secret: "<k>" }, certRequestPem: csr, validityPeriodHours: 8760, allowedUses: ["server_auth"] });
    expect(diffResource(LSC, cert("<ca1>", "<csr>"), cert("<ca2>", "<csr>")).replaceReasons).toEqual(["caCertPem"]);
    expect(diffResource(LSC, cert("<ca>", "<csr1>"), cert("<ca>", "<csr2>")).replaceReasons).toEqual(["certRequestPem"]);
    expect(diffResource(LSC, cert("<ca>", "<csr>"), cert("<ca>", "<csr>")).changedInputs).toEqual([]);
    // a legacy state that stored the PEM's hash is exempt
    expect(diffResource(LSC, cert("a".repeat(40), "<csr>"), cert("<ca2>", "<csr>")).replaceReasons).toEqual([]);
    const CSR = "tls:index/certRequest:CertRequest";
    expect(diffResource(CSR, { privateKeyPem: { $secret: "<k1>" }, subject: { commonName: "x" } }, { privateKeyPem: { $secret: "<k2>" }, subject: { commonName: "x" } }).replaceReasons).toEqual(["privateKeyPem"]);
    // a replaced CA with deleteBeforeReplace makes the cert a dependent replacement (the PEM becomes unknown)
    expect(dependentReplaceKeys(LSC, cert("<ca>", "<csr>"), { caCertPem: ["urn:ca"] }, (u) => u === "urn:ca")).toEqual(["caCertPem"]);
  });

  test("shrinking an EBS volume is an update AWS refuses: a REFUSED note, counted at the top", () => {
    const V = "aws:ebs/volume:Volume";
    const d = diffResource(V, { availabilityZone: "a", size: 20 }, { availabilityZone: "a", size: 10 });
    expect(d).toEqual({ changedInputs: ["size"], replaceReasons: [], notes: [expect.stringMatching(/^REFUSED: AWS refuses: volumes only grow \(size 20 -> 10 GiB/)] });
    expect(diffResource(V, { size: 10 }, { size: 20 }).notes).toEqual([]);
    const opts = { ignoreChanges: [], replaceOnChanges: [], dependsOn: [], protect: false, deleteBeforeReplace: false, aliases: [] };
    const res = (size: number): PlanLike["resources"][number] => ({ urn: "urn:pulumi:s::p::aws:ebs/volume:Volume::data", type: V, name: "data", custom: true, parent: null, inputs: { size }, options: opts });
    const cs = diffPlans({ region: "r", resources: [res(20)], hosts: [] }, { region: "r", resources: [res(10)], hosts: [] });
    expect(cs.notes).toEqual([expect.stringMatching(/^data: REFUSED: AWS refuses: volumes only grow/)]);
    expect(renderChanges(cs, { stack: "s", against: "a" })).toContain("  ! 1 change(s) AWS refuses: pulumi up fails there");
  });

  test("a fleet that pins the launch template version is replaced by every new version (issue 9 item 5)", () => {
    const spec = (v: string) => ({ launchTemplateConfigs: [{ launchTemplateSpecification: { id: "lt-1", version: v }, overrides: [{ instanceType: "t3.micro" }] }], targetCapacity: 2 });
    const d = diffResource(FLEET, spec("1"), spec("2"));
    expect(d.changedInputs).toEqual(["launchTemplateConfigs[0].launchTemplateSpecification.version"]);
    expect(d.replaceReasons).toEqual(["launchTemplateConfigs.launchTemplateSpecification.version"]);
    // `$Latest` stays `$Latest`: no diff at all
    expect(diffResource(FLEET, spec("$Latest"), spec("$Latest")).changedInputs).toEqual([]);
    // targetCapacity is in place
    expect(diffResource(FLEET, spec("1"), { ...spec("1"), targetCapacity: 6 })).toEqual({ changedInputs: ["targetCapacity"], replaceReasons: [], notes: [] });
  });

  test("editing an element of a set block (fleet overrides) replaces; a new ASG template version is in place", () => {
    const cfg = (t: string) => ({ launchTemplateConfigs: [{ launchTemplateSpecification: { id: "lt-1", version: "1" }, overrides: [{ instanceType: t }] }] });
    expect(diffResource(FLEET, cfg("t3.micro"), cfg("t3a.micro")).replaceReasons).toEqual(["launchTemplateConfigs.overrides.instanceType"]);
    const asg = (v: string) => ({ mixedInstancesPolicy: { launchTemplate: { launchTemplateSpecification: { launchTemplateId: "lt-1", version: v } } } });
    const d = diffResource("aws:autoscaling/group:Group", asg("1"), asg("2"));
    expect(d.replaceReasons).toEqual([]);
    expect(d.changedInputs).toEqual(["mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.version"]);
  });

  test("optionalComputed: leaving a replace-forcing property unset keeps what AWS chose; setting it replaces", () => {
    expect(diffResource(INSTANCE, { ami: "ami-1", instanceType: "t3.small" }, { instanceType: "t3.small" })).toEqual({ changedInputs: [], replaceReasons: [], notes: [] });
    expect(diffResource(INSTANCE, { ami: "ami-1" }, { ami: "ami-2" }).replaceReasons).toEqual(["ami"]);
    expect(diffResource(INSTANCE, {}, { keyName: "k" }).replaceReasons).toEqual(["keyName"]);
    // not optional+computed: removing a volume attachment's instanceId is a change that replaces
    expect(diffResource("aws:ec2/volumeAttachment:VolumeAttachment", { instanceId: "i-1", volumeId: "v" }, { volumeId: "v" }).replaceReasons).toEqual(["instanceId"]);
  });

  test("conditional rules: userData stops/starts unless userDataReplaceOnChange; instanceType replaces only across architectures", () => {
    const ud = diffResource(INSTANCE, { userData: "a" }, { userData: "b" });
    expect(ud.replaceReasons).toEqual([]);
    expect(ud.notes.join()).toMatch(/stop\/start/);
    expect(diffResource(INSTANCE, { userData: "a", userDataReplaceOnChange: true }, { userData: "b", userDataReplaceOnChange: true }).replaceReasons).toEqual(["userData"]);
    expect(diffResource(INSTANCE, { instanceType: "t3.small" }, { instanceType: "t3.medium" }).replaceReasons).toEqual([]);
    expect(diffResource(INSTANCE, { instanceType: "m6i.large" }, { instanceType: "m6g.large" }).replaceReasons).toEqual(["instanceType"]);
  });

  test("security group rules: another CIDR is in place, another source type replaces", () => {
    const rule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
    expect(diffResource(rule, { securityGroupId: "sg", cidrIpv4: "10.0.0.0/8" }, { securityGroupId: "sg", cidrIpv4: "10.1.0.0/16" }).replaceReasons).toEqual([]);
    expect(diffResource(rule, { securityGroupId: "sg", cidrIpv4: "10.0.0.0/8" }, { securityGroupId: "sg", referencedSecurityGroupId: "sg-2" }).replaceReasons).toEqual(["cidrIpv4|cidrIpv6|prefixListId|referencedSecurityGroupId"]);
  });

  test("commands: any triggers change replaces, any other input (connection, stdin) is an update that re-runs create", () => {
    const cmd = "command:remote:Command";
    const base = { create: "sudo bash -s", stdin: { $secret: "x" }, connection: { $secret: { host: "10.0.0.5", proxy: { host: "203.0.113.2" } } }, triggers: ["h1"] };
    expect(diffResource(cmd, base, { ...base, triggers: ["h2"] }).replaceReasons).toEqual(["triggers"]);
    const moved = diffResource(cmd, base, { ...base, connection: { $secret: { host: "10.0.0.5", proxy: { host: "203.0.113.9" } } } });
    expect(moved).toEqual({ changedInputs: ["connection.proxy.host"], replaceReasons: [], notes: [] });
    // the resource option replaceOnChanges counts too
    expect(diffResource(cmd, base, { ...base, stdin: { $secret: "y" } }, { replaceOnChanges: ["stdin"] }).replaceReasons).toEqual(["stdin"]);
  });

  test("ignoreChanges hides what the reconciler owns; region moves replace regional resources", () => {
    expect(diffResource(FLEET, { targetCapacity: 2 }, { targetCapacity: 6 }, { ignoreChanges: ["targetCapacity"] }).changedInputs).toEqual([]);
    expect(diffResource("aws:ec2/vpc:Vpc", { cidrBlock: "10.0.0.0/16" }, { cidrBlock: "10.0.0.0/16" }, {}, true).replaceReasons).toEqual(["region"]);
    expect(diffResource("aws:iam/role:Role", { name: "r" }, { name: "r" }, {}, true).replaceReasons).toEqual([]);
  });

  test("paths: map keys quoted as Pulumi shows them, normalized for the data", () => {
    expect(changedLeaves({ tags: { "opsfleet:stack": "a" } }, { tags: { "opsfleet:stack": "b" } }).map((c) => c.path)).toEqual(['tags["opsfleet:stack"]']);
    expect(normalizePath('a[0].b["c:d"][*]')).toEqual("a.b.c:d");
  });
});

describe("mock provider state across a change (tools/change/state.ts)", () => {
  const inst = (ami: string, extra: Record<string, unknown> = {}): StateResource => ({
    urn: "urn:pulumi:s::p::opsfleet:index:Host$aws:ec2/instance:Instance::h", type: INSTANCE, name: "h", custom: true, id: "h-id",
    inputs: { ami, instanceType: "t3.small", ...extra }, outputs: { privateIp: "10.0.0.12", publicIp: "203.0.113.12" }, options: { ignoreChanges: [], replaceOnChanges: [] },
  });
  const reg = (r: StateResource) => ({ urn: r.urn, type: r.type, name: r.name, inputs: r.inputs, ignoreChanges: [], replaceOnChanges: [], aliases: [] });
  const fresh = { id: "h-id", outputs: { privateIp: "10.0.0.12", publicIp: "203.0.113.12" } };
  const prior = priorStateOf({ region: "eu-west-1", resources: [inst("ami-1")] });

  test("a kept instance keeps id and addresses; a replaced one gets a new id and a new address", () => {
    expect(answer(reg(inst("ami-1")), { id: "h-id", outputs: { privateIp: "10.0.0.99" } }, prior, "eu-west-1")).toEqual({ id: "h-id", outputs: { privateIp: "10.0.0.12", publicIp: "203.0.113.12" } });
    const r = answer(reg(inst("ami-2")), fresh, prior, "eu-west-1");
    expect(r.id).not.toBe("h-id");
    expect(r.outputs.privateIp).not.toBe("10.0.0.12");
    expect(r.outputs.publicIp).not.toBe("203.0.113.12");
    // deterministic
    expect(answer(reg(inst("ami-2")), fresh, prior, "eu-west-1")).toEqual(r);
  });

  test("a resource the deployed state lacks (a rename without alias: delete + create) gets identity distinct from every deployed value", () => {
    // the bastion's component type renamed: same name, new URN, so the mock derives the same id and addresses
    const eip: StateResource = { urn: "urn:pulumi:s::p::opsfleet:index:Bastion$aws:ec2/eip:Eip::b", type: "aws:ec2/eip:Eip", name: "b", custom: true, id: "b-id", inputs: { instance: "h-id" }, outputs: { publicIp: "198.51.100.10", allocationId: "eipalloc-b" }, options: { ignoreChanges: [], replaceOnChanges: [] } };
    const p = priorStateOf({ region: "eu-west-1", resources: [inst("ami-1"), eip] });
    const moved = { ...reg(inst("ami-1")), urn: "urn:pulumi:s::p::opsfleet:index:Jump$aws:ec2/instance:Instance::h" };
    const r = answer(moved, { id: "h-id", outputs: { privateIp: "10.0.0.12", publicIp: "203.0.113.12", availabilityZone: "eu-west-1a", zoneId: "Z1" } }, p, "eu-west-1");
    expect(r.id).not.toBe("h-id");
    expect(r.outputs.privateIp).toMatch(/^10\.0\.0\.\d+$/);
    expect([r.outputs.privateIp, r.outputs.publicIp].filter((v) => p.values.has(v as string))).toEqual([]);
    // not identity: the zone stays, and so does the AZ (no deployed value has it)
    expect(r.outputs).toMatchObject({ availabilityZone: "eu-west-1a", zoneId: "Z1" });
    const e = answer({ ...reg(eip), urn: "urn:pulumi:s::p::opsfleet:index:Jump$aws:ec2/eip:Eip::b", inputs: { instance: r.id } }, { id: "b-id", outputs: { publicIp: "198.51.100.10", allocationId: "eipalloc-b" } }, p, "eu-west-1");
    expect(e.id).not.toBe("b-id");
    expect(e.outputs.publicIp).not.toBe("198.51.100.10");
    expect(e.outputs.allocationId).not.toBe("eipalloc-b");
    // a plain create whose mock values collide nowhere keeps them
    expect(answer({ ...reg(inst("ami-1")), urn: "urn:new", name: "n" }, { id: "n-id", outputs: { privateIp: "10.0.0.40" } }, p, "eu-west-1")).toEqual({ id: "n-id", outputs: { privateIp: "10.0.0.40" } });
  });

  test("a stop/start (instance type change) keeps the private address and loses the auto-assigned public one", () => {
    const r = answer(reg(inst("ami-1", { instanceType: "t3.medium" })), fresh, prior, "eu-west-1");
    expect(r.id).toBe("h-id");
    expect(r.outputs.privateIp).toBe("10.0.0.12");
    expect(r.outputs.publicIp).not.toBe("203.0.113.12");
  });

  test("a launch template gets its next version when its data changes, not when only tags change", () => {
    const lt = (imageId: string, tags: Record<string, string> = {}): StateResource => ({ urn: "urn:lt", type: "aws:ec2/launchTemplate:LaunchTemplate", name: "lt", custom: true, id: "lt-id", inputs: { imageId, tags }, outputs: { latestVersion: 3 }, options: { ignoreChanges: [], replaceOnChanges: [] } });
    const p = priorStateOf({ region: "r", resources: [lt("ami-1")] });
    const f = { id: "lt-id", outputs: { latestVersion: 1 } };
    expect(answer(reg(lt("ami-2")), f, p, "r").outputs.latestVersion).toBe(4);
    expect(answer(reg(lt("ami-1", { team: "x" })), f, p, "r").outputs.latestVersion).toBe(3);
    expect(answer(reg(lt("ami-1")), f, p, "r")).toEqual({ id: "lt-id", outputs: { latestVersion: 3 } });
  });

  test("a replaced key pair without an explicit name gets a new generated name (the cascade to instances)", () => {
    const kp = (publicKey: string): StateResource => ({ urn: "urn:kp", type: "aws:ec2/keyPair:KeyPair", name: "ops", custom: true, id: "ops-id", inputs: { publicKey }, outputs: { keyName: "ops" }, options: { ignoreChanges: [], replaceOnChanges: [] } });
    const p = priorStateOf({ region: "r", resources: [kp("ssh-ed25519 A")] });
    const r = answer(reg(kp("ssh-ed25519 B")), { id: "ops-id", outputs: { keyName: "ops" } }, p, "r");
    expect(r.outputs.keyName).not.toBe("ops");
    expect(diffResource(INSTANCE, { keyName: "ops" }, { keyName: r.outputs.keyName }).replaceReasons).toEqual(["keyName"]);
  });

  test("a replaced target group gets a new ARN and ARN suffix (whatever refers to it by ARN sees the change); an explicit name stays", () => {
    const TG = "aws:lb/targetGroup:TargetGroup";
    const fresh = computedOutputs({ type: TG, name: "prod-web", inputs: { port: 8080 }, custom: true } as never);
    const tg = (port: number): StateResource => ({ urn: "urn:tg", type: TG, name: "prod-web", custom: true, id: "prod-web-id", inputs: { port, name: "web-tg" }, outputs: fresh, options: { ignoreChanges: [], replaceOnChanges: [] } });
    const p = priorStateOf({ region: "r", resources: [tg(80)] });
    const r = answer(reg(tg(8080)), { id: "prod-web-id", outputs: { ...fresh, name: "web-tg" } }, p, "r");
    expect(r.id).not.toBe("prod-web-id");
    expect(r.outputs.arn).not.toBe(fresh.arn);
    expect(r.outputs.arn).toMatch(/^arn:aws:elasticloadbalancing:.*:targetgroup\/prod-web-[0-9a-f]{6}\//);
    expect(r.outputs.arnSuffix).not.toBe(fresh.arnSuffix);
    expect(r.outputs.name).toBe("web-tg");
    // a Spot Fleet that names the old ARN is replaced by the new one (targetGroupArns forces)
    expect(diffResource("aws:ec2/spotFleetRequest:SpotFleetRequest", { targetGroupArns: [fresh.arn] }, { targetGroupArns: [r.outputs.arn] }).replaceReasons).toEqual(["targetGroupArns"]);
  });

  test("a replaced instance on its own kept network interface keeps the interface's address; lookups find a replaced subnet's AZ", () => {
    const onEni = (ami: string) => inst(ami, { primaryNetworkInterface: { networkInterfaceId: "eni-1" } });
    const p = priorStateOf({ region: "eu-west-1", resources: [onEni("ami-1")] });
    const r = answer(reg(onEni("ami-2")), fresh, p, "eu-west-1");
    expect(r.id).not.toBe("h-id");
    expect(r.outputs.privateIp).toBe("10.0.0.12");
    // the mock's subnet lookup answers for the id the preview handed out, not just the fresh one
    resetMockData();
    const subnet = { type: "aws:ec2/subnet:Subnet", name: "prod-private-b", inputs: { cidrBlock: "10.31.1.0/24", availabilityZone: "eu-west-1b" }, custom: true } as never;
    computedOutputs(subnet);
    recordAnswer(subnet, "prod-private-b-id-1a2b3c4d", {});
    expect(mockInvoke("aws:ec2/getSubnet:getSubnet", { id: "prod-private-b-id-1a2b3c4d" })).toMatchObject({ availabilityZone: "eu-west-1b", cidrBlock: "10.31.1.0/24" });
    resetMockData();
  });

  test("ignoreChanges: the state handed back keeps the deployed value at each ignored path (absent there: absent)", () => {
    const now = { port: 80, healthCheck: { path: "/healthz", interval: 10 }, tags: { a: "1", b: "2" }, list: [{ x: 1, y: 2 }, { x: 3, y: 4 }] };
    const deployed = { port: 80, healthCheck: { path: "/", interval: 30 }, tags: { a: "0" }, list: [{ x: 9, y: 9 }] };
    expect(withIgnoredFromPrior(now, deployed, ["healthCheck.path", 'tags["b"]', "list[*].x"])).toEqual({
      port: 80, healthCheck: { path: "/", interval: 10 }, tags: { a: "1" }, list: [{ x: 9, y: 2 }, { y: 4 }],
    });
    expect(now.healthCheck.path).toBe("/healthz"); // copy on write
    expect(withIgnoredFromPrior({ desiredCapacity: 6 }, { desiredCapacity: { $secret: 2 } }, ["desiredCapacity"])).toEqual({ desiredCapacity: 2 });
  });

  test("URNs as Pulumi's engine forms them (the parent's whole type chain); aliases find the prior resource", () => {
    expect(pulumiUrn("prod", "opsfleet", "urn:pulumi:prod::opsfleet::opsfleet:index:Bastion$opsfleet:index:Host::b", INSTANCE, "b")).toBe("urn:pulumi:prod::opsfleet::opsfleet:index:Bastion$opsfleet:index:Host$aws:ec2/instance:Instance::b");
    expect(pulumiUrn("prod", "opsfleet", "urn:pulumi:prod::opsfleet::pulumi:pulumi:Stack::opsfleet-prod", INSTANCE, "b")).toBe("urn:pulumi:prod::opsfleet::aws:ec2/instance:Instance::b");
    const moved = { ...reg(inst("ami-1")), urn: "urn:new", aliases: [inst("ami-1").urn] };
    expect(answer(moved, { id: "x", outputs: {} }, prior, "eu-west-1").id).toBe("h-id");
  });
});

describe("plan diff (tools/change/diff.ts)", () => {
  const opts = { ignoreChanges: [] as string[], replaceOnChanges: [], dependsOn: [] as string[], protect: false, deleteBeforeReplace: false, aliases: [] as string[] };
  const r = (name: string, type: string, inputs: Record<string, unknown>, more: Partial<typeof opts> & { parent?: string } = {}): PlanLike["resources"][number] => {
    const { parent, ...o } = more;
    return { urn: `urn:pulumi:s::p::${type}::${name}`, type, name, custom: true, parent: parent ?? null, inputs, options: { ...opts, ...o } };
  };
  const plan = (resources: PlanLike["resources"], hosts: PlanLike["hosts"] = []): PlanLike => ({ region: "eu-west-1", resources, hosts });

  test("match by URN: a rename is a delete plus a create, unless an alias names the old URN", () => {
    const a = r("old", "aws:sqs/queue:Queue", { fifoQueue: false });
    const b = r("new", "aws:sqs/queue:Queue", { fifoQueue: false });
    const cs = diffPlans(plan([a]), plan([b]));
    expect(cs.changes.map((c) => [c.name, c.op])).toEqual([["new", "create"], ["old", "delete"]]);
    expect(cs.changeSummary).toEqual({ replace: 0, delete: 1, create: 1, update: 0, same: 0 });
    const aliased = { ...b, options: { ...b.options, aliases: [a.urn] } };
    expect(diffPlans(plan([a]), plan([aliased])).changes.map((c) => [c.name, c.op])).toEqual([["new", "same"]]);
  });

  test("one entry per resource of either plan, with changed inputs and replace reasons", () => {
    const before = plan([r("q", "aws:sqs/queue:Queue", { fifoQueue: false, visibilityTimeoutSeconds: 30 }), r("k", "aws:ec2/keyPair:KeyPair", { publicKey: "A" })]);
    const after = plan([r("q", "aws:sqs/queue:Queue", { fifoQueue: false, visibilityTimeoutSeconds: 60 }), r("k", "aws:ec2/keyPair:KeyPair", { publicKey: "B" })]);
    expect(diffPlans(before, after).changes).toEqual([
      { urn: "urn:pulumi:s::p::aws:sqs/queue:Queue::q", type: "aws:sqs/queue:Queue", name: "q", op: "update", changedInputs: ["visibilityTimeoutSeconds"], replaceReasons: [] },
      { urn: "urn:pulumi:s::p::aws:ec2/keyPair:KeyPair::k", type: "aws:ec2/keyPair:KeyPair", name: "k", op: "replace", changedInputs: ["publicKey"], replaceReasons: ["publicKey"] },
    ]);
  });

  test("flags protected resources that would go, and attachments that would hit VolumeInUse", () => {
    const vol = r("v", "aws:ebs/volume:Volume", { availabilityZone: "a" }, { protect: true });
    const att = (i: string, dbr: boolean) => r("att", "aws:ec2/volumeAttachment:VolumeAttachment", { instanceId: i, volumeId: "vol-1", deviceName: "/dev/sdf" }, { deleteBeforeReplace: dbr });
    const cs = diffPlans(plan([vol, att("i-1", false)]), plan([att("i-2", false)]));
    expect(cs.notes).toEqual([expect.stringMatching(/^BLOCKED: v .*protected and would be deleted/), expect.stringMatching(/^VolumeInUse: att/), expect.stringMatching(/^DATA LOSS: data volume v is deleted/)]);
    expect(diffPlans(plan([vol, att("i-1", true)]), plan([vol, att("i-2", true)])).notes).toEqual([]);
  });

  test("a data volume replaced or deleted is flagged as data loss, protected or not; a protect change is an update", () => {
    const vol = (az: string, protect: boolean) => r("dev-redis-2-data", "aws:ebs/volume:Volume", { availabilityZone: az, size: 10 }, { protect });
    const replaced = diffPlans(plan([vol("eu-west-1c", false)]), plan([vol("eu-west-1a", false)]));
    expect(replaced.notes).toEqual(["DATA LOSS: data volume dev-redis-2-data is replaced by a new, empty volume (availabilityZone)"]);
    expect(diffPlans(plan([vol("a", false)]), plan([])).notes).toEqual(["DATA LOSS: data volume dev-redis-2-data is deleted"]);
    expect(diffPlans(plan([vol("a", true)]), plan([])).notes).toEqual([expect.stringMatching(/^BLOCKED: /), "DATA LOSS: data volume dev-redis-2-data is deleted; it is protected, so pulumi up fails until protect is lifted"]);
    const lifted = diffPlans(plan([vol("a", true)]), plan([vol("a", false)]));
    expect(lifted.changes).toEqual([expect.objectContaining({ op: "update", changedInputs: ["options.protect"] })]);
    expect(lifted.notes).toEqual([expect.stringMatching(/^protect lifted: dev-redis-2-data /)]);
  });

  test("warns when the bastion is replaced in the same up as steps on other hosts, and when a step re-runs on a cluster's nodes at once", () => {
    const H = "opsfleet:index:Host";
    const comp = (urn: string, type: string, name: string, parent: string | null = null): PlanLike["resources"][number] => ({ urn, type, name, custom: false, parent, inputs: {}, options: { ...opts } });
    const cluster = comp("urn:pulumi:s::p::opsfleet:index:Elk::elk", "opsfleet:index:Elk", "elk");
    const bastionC = comp("urn:pulumi:s::p::opsfleet:index:Bastion::b", "opsfleet:index:Bastion", "b");
    const host = (n: string, parent: string, ami: string, stdin: string, dependsOn: string[] = []) => {
      const hu = `${parent.split("::").slice(0, 2).join("::")}::${parent.split("::")[2]}$${H}::${n}`;
      return [
        comp(hu, H, n, parent),
        { ...r(n, INSTANCE, { ami }, { parent: hu }), urn: `${hu.replace(`::${n}`, "")}$${INSTANCE}::${n}` },
        { ...r(`${n}-install`, "command:remote:Command", { stdin, connection: { host: `${n}-ip`, ...(n === "b0" ? {} : { proxy: { host: "198.51.100.10" } }) } }, { parent: hu, dependsOn }), urn: `${hu.replace(`::${n}`, "")}$command:remote:Command::${n}-install` },
      ];
    };
    // the steps' proxy is the Elastic IP on b0's instance: that makes b0 the bastion, whatever its type
    const eip = (instance: string) => ({ ...r("b-eip", "aws:ec2/eip:Eip", { instance }, { parent: bastionC.urn }), outputs: { publicIp: "198.51.100.10" } });
    const withIds = (rs: PlanLike["resources"], bId: string) => [...rs.map((x) => (x.type === INSTANCE ? { ...x, id: x.name === "b0" ? bId : `${x.name}-id` } : x)), eip(bId)];
    const hosts = ["b0", "es0", "es1"].map((h) => ({ host: h, steps: [{ name: "install", resource: `${h}-install` }] })) as PlanLike["hosts"];
    const before = plan(withIds([bastionC, ...host("b0", bastionC.urn, "1", "x"), cluster, ...host("es0", cluster.urn, "1", "x"), ...host("es1", cluster.urn, "1", "x")], "b0-id"), hosts);
    const after = plan(withIds([bastionC, ...host("b0", bastionC.urn, "2", "x"), cluster, ...host("es0", cluster.urn, "1", "y"), ...host("es1", cluster.urn, "1", "y")], "b0-id2"), hosts);
    const notes = diffPlans(before, after).notes;
    expect(notes).toEqual(expect.arrayContaining([
      expect.stringMatching(/^bastion b0 is replaced in the same up as steps on 2 other host\(s\) \(es0, es1\) .*roll the bastion on its own first/),
      "install re-runs on 2 hosts of elk at once (es0, es1): no dependsOn or data dependency orders them (no rolling gate), so a restart in it restarts them together",
    ]));
    // a rolling gate (es1's step waits for es0's host) silences the second warning
    const es0 = after.resources.find((x) => x.name === "es0")!.urn;
    const gated = plan(after.resources.map((x) => (x.name === "es1-install" ? { ...x, options: { ...x.options, dependsOn: [es0] } } : x)), hosts);
    expect(diffPlans(before, gated).notes.filter((n) => n.includes("at once"))).toEqual([]);
    // so does a chain of data dependencies (the ES rolling chain): es1's step triggers on es1's instance id,
    // and es1's instance takes an input from es0's step (its health gate)
    const es0cmd = after.resources.find((x) => x.name === "es0-install")!.urn;
    const es1i = after.resources.find((x) => x.name === "es1" && x.type === INSTANCE)!.urn;
    const chain = (gate: boolean) => plan(after.resources.map((x) => (x.name === "es1-install" ? { ...x, propertyDependencies: { triggers: [es1i] } } : x.urn === es1i && gate ? { ...x, propertyDependencies: { userData: [es0cmd] } } : x)), hosts);
    expect(diffPlans(before, chain(true)).notes.filter((n) => n.includes("at once"))).toEqual([]);
    expect(diffPlans(before, chain(false)).notes.filter((n) => n.includes("at once"))).toHaveLength(1);
    // the bastion under another component type (no "Bastion" in its URN) is still the proxy
    const jump = comp("urn:pulumi:s::p::opsfleet:index:Jump::b", "opsfleet:index:Jump", "b");
    const jb = (ami: string, y: string, id: string) => plan(withIds([jump, ...host("b0", jump.urn, ami, "x"), cluster, ...host("es0", cluster.urn, "1", y), ...host("es1", cluster.urn, "1", y)], id), hosts);
    expect(diffPlans(jb("1", "x", "b0-id"), jb("2", "y", "b0-id2")).notes).toEqual(expect.arrayContaining([expect.stringMatching(/^bastion b0 is replaced in the same up as steps on 2 other host/)]));
  });

  test("stack outputs that change are reported (a secret's value masked), in the JSON and the text", () => {
    const before = { ...plan([]), outputs: { database: { endpoint: "10.0.1.10:3306", password: { $secret: "a" } }, web: { url: "http://x" } } };
    const after = { ...plan([]), outputs: { database: { endpoint: "10.1.1.10:3306", password: { $secret: "b" } }, web: { url: "http://x" } } };
    const cs = diffPlans(before, after);
    expect(cs.outputChanges).toEqual([
      { name: "database.endpoint", before: "10.0.1.10:3306", after: "10.1.1.10:3306" },
      { name: "database.password", before: "[secret]", after: "[secret]" },
    ]);
    expect(renderChanges(cs, { stack: "s", against: "a" })).toContain('Stack outputs that change:\n  ~ database.endpoint: "10.0.1.10:3306" -> "10.1.1.10:3306"');
    expect(JSON.stringify(cs)).not.toMatch(/"(a|b)"/);
    expect(diffPlans(before, before).outputChanges).toEqual([]);
  });

  test("a replaced instance keeps its ignored ami (pulumi/pulumi#2657): an architecture change is REFUSED, another difference a note", () => {
    const inst = (instanceType: string, ami: string) => r("dev-redis-0", INSTANCE, { instanceType, ami }, { ignoreChanges: ["ami"], deleteBeforeReplace: true });
    const cs = diffPlans(plan([inst("t3.small", "ami-x86")]), plan([inst("t4g.small", "ami-arm")]));
    expect(cs.changes[0]).toMatchObject({ op: "replace", replaceReasons: ["instanceType"] });
    expect(cs.notes).toEqual([expect.stringMatching(/^REFUSED: dev-redis-0: replaced with its deployed ami "ami-x86" .*x86_64 image, but t4g.small is arm64: AWS refuses .*drop ami from ignoreChanges/)]);
    const same = diffPlans(plan([inst("t3.small", "ami-x86")]), plan([{ ...inst("t3.small", "ami-x86b"), inputs: { instanceType: "t3.small", ami: "ami-x86b", keyName: "k2" } }]));
    expect(same.notes).toEqual([expect.stringMatching(/^dev-redis-0: replaced with the deployed value of ignored ami .*"ami-x86b"/)]);
    // not replaced: nothing to say (the ignore does its job)
    expect(diffPlans(plan([inst("t3.small", "ami-1")]), plan([inst("t3.small", "ami-2")])).notes).toEqual([]);
  });

  test("an ALB moved to subnets of another VPC is REFUSED; an internet gateway moved to another VPC warns of the detach", () => {
    const sub = (n: string, vpcId: string) => ({ ...r(n, "aws:ec2/subnet:Subnet", { vpcId, cidrBlock: "10.0.0.0/24" }), id: `${n}-id` });
    const alb = (subnets: string[]) => r("web", "aws:lb/loadBalancer:LoadBalancer", { subnets });
    const igw = (vpcId: string) => r("igw", "aws:ec2/internetGateway:InternetGateway", { vpcId });
    const before = plan([sub("a", "vpc-1"), sub("b", "vpc-2"), alb(["a-id"]), igw("vpc-1")]);
    const notes = diffPlans(before, plan([sub("a", "vpc-1"), sub("b", "vpc-2"), alb(["b-id"]), igw("vpc-2")])).notes;
    expect(notes.filter((n) => !n.startsWith("web: subnets changed: the provider replaces when loadBalancerType=network"))).toEqual([expect.stringMatching(/^REFUSED: web: AWS refuses: a load balancer's subnets must stay in its VPC \(vpc-1 -> vpc-2\)/), expect.stringMatching(/^igw: the internet gateway is detached from vpc-1 before it attaches to vpc-2/)]);
    // another subnet of the same VPC is a plain update
    expect(diffPlans(plan([sub("a", "vpc-1"), { ...sub("c", "vpc-1") }, alb(["a-id"])]), plan([sub("a", "vpc-1"), sub("c", "vpc-1"), alb(["c-id"])])).notes.filter((n) => n.includes("REFUSED"))).toEqual([]);
  });

  test("step runs per host and replacement waves from dependsOn", () => {
    const host = (n: string) => r(n, "opsfleet:index:Host", {});
    const i = (n: string, ami: string, dependsOn: string[] = []) => r(n, INSTANCE, { ami }, { parent: `urn:pulumi:s::p::opsfleet:index:Host::${n}`, dependsOn });
    const step = (n: string, s: string, stdin: string) => r(`${n}-${s}`, "command:remote:Command", { stdin }, { parent: `urn:pulumi:s::p::opsfleet:index:Host::${n}` });
    const hosts = [{ host: "a", steps: [{ name: "cfg", resource: "a-cfg" }] }, { host: "b", steps: [{ name: "cfg", resource: "b-cfg" }] }, { host: "c", steps: [{ name: "cfg", resource: "c-cfg" }] }] as PlanLike["hosts"];
    const before = plan([host("a"), i("a", "1"), step("a", "cfg", "x"), host("b"), i("b", "1"), step("b", "cfg", "x"), host("c"), i("c", "1"), step("c", "cfg", "x")], hosts);
    // b waits for a's step, c for b's: one at a time
    const chained = plan([host("a"), i("a", "2"), step("a", "cfg", "x"), host("b"), i("b", "2", ["urn:pulumi:s::p::command:remote:Command::a-cfg"]), step("b", "cfg", "x"), host("c"), i("c", "2", ["urn:pulumi:s::p::opsfleet:index:Host::b"]), step("c", "cfg", "y")], hosts);
    const cs = diffPlans(before, chained);
    expect(cs.replacementWaves).toEqual([["a"], ["b"], ["c"]]);
    const parallel = diffPlans(before, plan([host("a"), i("a", "2"), step("a", "cfg", "x"), host("b"), i("b", "2"), step("b", "cfg", "x"), host("c"), i("c", "1"), step("c", "cfg", "y")], hosts));
    expect(parallel.replacementWaves).toEqual([["a", "b"]]);
    expect(parallel.stepRuns).toEqual([{ host: "c", instance: "same", steps: [{ step: "cfg", resource: "c-cfg", op: "update", runs: "create", why: "update: stdin" }] }]);
    // a command with its own `update` (e.g. a no-op for a new connection) runs that, not the step again
    const withUpdate = (n: string, stdin: string) => ({ ...step(n, "cfg", stdin), inputs: { stdin, create: "bash -s", update: "true" } });
    const own = diffPlans(plan([host("c"), i("c", "1"), withUpdate("c", "x")], hosts), plan([host("c"), i("c", "1"), withUpdate("c", "y")], hosts));
    expect(own.stepRuns[0].steps[0]).toMatchObject({ op: "update", runs: "update" });
    expect(renderChanges(own, { stack: "s", against: "x" })).toMatch(/runs the update command of cfg/);
    const text = renderChanges(parallel, { stack: "s", against: "x" });
    expect(text.indexOf("Replacements")).toBeLessThan(text.indexOf("Provisioning steps that run"));
    expect(text).toMatch(/c:\n\s+re-runs cfg\s+\(update: stdin\)/);
  });
});

/**
 * Pulumi's delete-before-replace cascade (engine step_generator.go, calculateDependentReplacements): the
 * dependents whose replace-forcing inputs take outputs of a resource replaced delete-before-replace are
 * replaced too (deleted first), transitively, even when the value they get back is the same.
 */
describe("plans saved with the mock monitor's URNs (parent's own type only)", () => {
  const o = { ignoreChanges: [], replaceOnChanges: [], dependsOn: [] as string[], deletedWith: null as string | null, protect: false, deleteBeforeReplace: false, aliases: [] as string[] };
  const old = (q: string, name: string) => `urn:pulumi:prod::opsfleet::${q}::${name}`;
  const HOST = "opsfleet:index:Host";
  const res = (urn: string, type: string, name: string, parent: string | null, more: Partial<typeof o> = {}, deps?: Record<string, string[]>) =>
    ({ urn, type, name, parent, custom: !type.startsWith("opsfleet:"), inputs: {}, ...(deps ? { propertyDependencies: deps } : {}), options: { ...o, ...more } });
  const cluster = res(old("opsfleet:index:RedisCluster", "c"), "opsfleet:index:RedisCluster", "c", null);
  const host = res(old(`opsfleet:index:RedisCluster$${HOST}`, "h"), HOST, "h", cluster.urn);
  const inst = res(old(`${HOST}$${INSTANCE}`, "h"), INSTANCE, "h", host.urn);
  const step = res(old(`${HOST}$command:remote:Command`, "h-s"), "command:remote:Command", "h-s", host.urn, { dependsOn: [inst.urn], deletedWith: inst.urn }, { triggers: [inst.urn] });
  const saved = { stack: "prod", project: "opsfleet", resources: [cluster, host, inst, step] };

  test("get the engine's URNs from their parent links, references included; idempotent", () => {
    const p = withPulumiUrns(saved);
    const full = old(`opsfleet:index:RedisCluster$${HOST}$${INSTANCE}`, "h");
    expect(p.resources.map((r) => r.urn)).toEqual([cluster.urn, host.urn, full, old(`opsfleet:index:RedisCluster$${HOST}$command:remote:Command`, "h-s")]);
    expect(p.resources[3]).toMatchObject({ parent: host.urn, propertyDependencies: { triggers: [full] }, options: { dependsOn: [full], deletedWith: full } });
    expect(withPulumiUrns(p)).toBe(p);
  });
});

describe("delete-before-replace dependents (issue 10)", () => {
  const opts = { ignoreChanges: [] as string[], replaceOnChanges: [], dependsOn: [] as string[], protect: false, deleteBeforeReplace: false, aliases: [] as string[] };
  type R = PlanLike["resources"][number];
  const u = (type: string, name: string) => `urn:pulumi:s::p::opsfleet:index:Host$${type}::${name}`;
  const r = (name: string, type: string, inputs: Record<string, unknown>, deps: Record<string, string[]> = {}, more: Partial<typeof opts> = {}): R =>
    ({ urn: u(type, name), type, name, custom: true, parent: null, inputs, propertyDependencies: deps, options: { ...opts, ...more } });
  const plan = (resources: R[]): PlanLike => ({ region: "eu-west-1", resources, hosts: [] });
  const VOL = "aws:ebs/volume:Volume";
  const ATT = "aws:ec2/volumeAttachment:VolumeAttachment";
  const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
  const world = (ami: string, dbr = true, protect = false) => {
    const i = r("h", INSTANCE, { ami, availabilityZone: "eu-west-1a" }, {}, { deleteBeforeReplace: dbr });
    // 0.1.0: the volume's zone came from the instance (same value after the replacement)
    const v = r("h-data", VOL, { availabilityZone: "eu-west-1a", size: 10 }, { availabilityZone: [i.urn] }, { protect });
    const a = r("h-att", ATT, { instanceId: "h-id", volumeId: "vol-1", deviceName: "/dev/sdf" }, { volumeId: [v.urn] }, { deleteBeforeReplace: true });
    const alarm = r("h-alarm", ALARM, { name: "h-status", dimensions: { InstanceId: "h-id" } }, { dimensions: [i.urn] });
    const after = r("h-after", "aws:sqs/queue:Queue", { fifoQueue: false }, {}, { dependsOn: [i.urn] });
    return [i, v, a, alarm, after];
  };
  const op = (cs: ReturnType<typeof diffPlans>, name: string) => cs.changes.find((c) => c.name === name)!;

  test("replaces the dependents whose replace-forcing inputs reference the replaced resource, transitively", () => {
    const cs = diffPlans(plan(world("ami-1")), plan(world("ami-2")));
    expect(cs.changes.map((c) => [c.name, c.op])).toEqual([["h", "replace"], ["h-data", "replace"], ["h-att", "replace"], ["h-alarm", "same"], ["h-after", "same"]]);
    expect(op(cs, "h-data")).toMatchObject({ changedInputs: [], replaceReasons: ["availabilityZone (dependent replacement: references h, replaced delete-before-replace)"], dependentOf: [u(INSTANCE, "h")] });
    expect(op(cs, "h-att")).toMatchObject({ replaceReasons: ["volumeId (dependent replacement: references h-data, replaced delete-before-replace)"], dependentOf: [u(VOL, "h-data")] });
    expect(op(cs, "h").dependentOf).toBeUndefined();
    expect(cs.changeSummary).toMatchObject({ replace: 3, same: 2 });
    expect(renderChanges(cs, { stack: "s", against: "x" })).toMatch(/h-data\s+because availabilityZone \(dependent replacement: .*\) \(deleted before h, created after\)/);
  });

  test("no cascade without deleteBeforeReplace on the replaced resource, nor through a non-forcing input or dependsOn", () => {
    expect(diffPlans(plan(world("ami-1", false)), plan(world("ami-2", false))).changes.map((c) => [c.name, c.op])).toEqual([["h", "replace"], ["h-data", "same"], ["h-att", "same"], ["h-alarm", "same"], ["h-after", "same"]]);
    // a plan saved without propertyDependencies cannot show the cascade (and shows none)
    const bare = world("ami-1").map((x) => ({ ...x, propertyDependencies: undefined }));
    expect(diffPlans(plan(bare), plan(world("ami-2"))).changeSummary).toMatchObject({ replace: 1 });
  });

  test("a protected dependent blocks the up", () => {
    const cs = diffPlans(plan(world("ami-1", true, true)), plan(world("ami-2", true, true)));
    expect(cs.notes).toEqual([expect.stringMatching(/^BLOCKED: h-data \(aws:ebs\/volume:Volume\) is protected and would be replaced \(it references h, replaced delete-before-replace\)/), expect.stringMatching(/^DATA LOSS: data volume h-data is replaced by a new, empty volume/)]);
  });

  test("the mock provider gives a dependent replacement a new id (its own dependents see it change)", () => {
    const [i, v] = world("ami-1");
    const prior = priorStateOf({ region: "r", resources: [{ ...i, id: "h-id" }, { ...v, id: "vol-1" }] });
    const reg = (x: R, inputs = x.inputs) => ({ urn: x.urn, type: x.type, name: x.name, inputs, ignoreChanges: [], replaceOnChanges: [], aliases: [], deleteBeforeReplace: x.options.deleteBeforeReplace });
    expect(answer(reg(i, { ...i.inputs, ami: "ami-2" }), { id: "h-id", outputs: {} }, prior, "r").id).not.toBe("h-id");
    expect(answer(reg(v), { id: "vol-1", outputs: {} }, prior, "r").id).not.toBe("vol-1");
    // without the replacement before it, the volume is kept
    expect(answer(reg(v), { id: "vol-1", outputs: {} }, priorStateOf({ region: "r", resources: [{ ...i, id: "h-id" }, { ...v, id: "vol-1" }] }), "r").id).toBe("vol-1");
  });
});

describe("README's change-safety table", () => {
  test("is generated from the rows the tests prove (npm run docs:changes)", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
    expect(readme).toBe(readmeWithTable(readme));
    for (const r of SAFETY_ROWS) expect(readme).toContain(`| ${r.change.replace(/\|/g, "\\|")} | ${r.stack} |`);
  });
});
