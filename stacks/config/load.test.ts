import { validateConfig, type RawConfig } from "./load";

import { PUBKEY, SECRETS } from "./test-fixtures";

/** A valid stack with every system on; tests override single keys. */
function raw(over: Record<string, unknown> = {}, o: { secrets?: Record<string, string>; plainSecrets?: string[]; secretKeys?: string[]; others?: Record<string, string> } = {}): RawConfig {
  const base: Record<string, unknown> = { adminCidrs: ["203.0.113.0/24"], ssh: { publicKey: PUBKEY } };
  const merged = { ...base, ...over };
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(merged)) if (v !== undefined) values[k] = typeof v === "string" ? v : JSON.stringify(v);
  const secrets = o.secrets ?? SECRETS;
  for (const [k, v] of Object.entries(secrets)) values[k] = v;
  const secretKeys = new Set([...Object.keys(secrets).filter((k) => !(o.plainSecrets ?? []).includes(k)), ...(o.secretKeys ?? [])]);
  return { values, secretKeys, others: o.others ?? { "aws:region": "us-east-1" } };
}

function problems(r: RawConfig): string[] {
  const res = validateConfig(r);
  if (res.ok) throw new Error("expected the config to be rejected");
  return res.problems;
}

describe("stack config validation", () => {
  test("a complete valid config passes, with defaults applied", () => {
    const res = validateConfig(raw());
    if (!res.ok) throw new Error(res.problems.join("\n"));
    expect(res.config.features).toEqual({ spotWeb: true, redis: true, elk: true, database: true, backup: true });
    expect(res.config.ssh.user).toBe("admin");
    expect(res.config.bastion.instanceType).toBe("t3.micro");
    expect(res.config.protectData).toBe(false);
  });

  test("a web-only stack needs no SSH key, admin CIDRs or host secrets", () => {
    const res = validateConfig(raw({ features: { redis: false, elk: false, database: false }, adminCidrs: undefined, ssh: undefined }, { secrets: {} }));
    if (!res.ok) throw new Error(res.problems.join("\n"));
    expect(res.config.features.spotWeb).toBe(true);
  });

  // [description, overrides, options, expected key, expected fragment of "allowed"]
  const cases: [string, Record<string, unknown>, Parameters<typeof raw>[1], string, RegExp][] = [
    ["feature toggle of the wrong type", { features: { redis: "yes" } }, {}, "opsfleet:features.redis", /^opsfleet:features.redis: must be true or false \(got "yes"\)$/],
    ["unknown top-level key (typo)", { redsi: { instanceType: "t3.small" } }, {}, "opsfleet:redsi", /unknown key/],
    ["unknown nested key", { network: { cidr: "10.0.0.0/16" } }, {}, "opsfleet:network.cidr", /unknown key/],
    ["malformed CIDR", { network: { cidrBlock: "10.0.0.0/33" } }, {}, "opsfleet:network.cidrBlock", /IPv4 CIDR.*got "10.0.0.0\/33"/],
    ["CIDR with host bits", { network: { cidrBlock: "10.0.0.1/16" } }, {}, "opsfleet:network.cidrBlock", /no host bits/],
    ["VPC CIDR too large", { network: { cidrBlock: "10.0.0.0/8" } }, {}, "opsfleet:network.cidrBlock", /\/16 to \/24/],
    ["one AZ only", { network: { availabilityZoneCount: 1 } }, {}, "opsfleet:network.availabilityZoneCount", /at least 2.*got 1/],
    ["fractional AZ count", { network: { availabilityZoneCount: 2.5 } }, {}, "opsfleet:network.availabilityZoneCount", /whole number from 2 to 6/],
    ["AZ count as a string", { network: { availabilityZoneCount: "three" } }, {}, "opsfleet:network.availabilityZoneCount", /whole number/],
    ["unknown NAT strategy", { network: { natGateways: "two" } }, {}, "opsfleet:network.natGateways", /"none"\|"single"\|"onePerAz".*got "two"/],
    ["own VPC plus a CIDR to create", { network: { vpcId: "vpc-0123456789abcdef0", cidrBlock: "10.0.0.0/16", publicSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"], privateSubnetIds: ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"] } }, {}, "opsfleet:network.cidrBlock", /cannot be combined with network.vpcId/],
    ["own VPC without subnets", { network: { vpcId: "vpc-0123456789abcdef0" } }, {}, "opsfleet:network.publicSubnetIds", /required when network.vpcId/],
    ["own VPC with unequal subnet lists", { network: { vpcId: "vpc-0123456789abcdef0", publicSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"], privateSubnetIds: ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3", "subnet-0123456789abcdef4"] } }, {}, "opsfleet:network.privateSubnetIds", /as many subnets as publicSubnetIds/],
    ["subnets without a VPC id", { network: { publicSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"] } }, {}, "opsfleet:network.publicSubnetIds", /only applies with network.vpcId/],
    ["malformed VPC id", { network: { vpcId: "vpc-xyz", publicSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"], privateSubnetIds: ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"] } }, {}, "opsfleet:network.vpcId", /VPC id such as vpc-/],
    ["one subnet only", { network: { vpcId: "vpc-0123456789abcdef0", publicSubnetIds: ["subnet-0123456789abcdef0"], privateSubnetIds: ["subnet-0123456789abcdef2"] } }, {}, "opsfleet:network.publicSubnetIds", /at least 2 subnets/],
    ["no admin CIDRs while hosts need SSH", { adminCidrs: [] }, {}, "opsfleet:adminCidrs", /at least one CIDR/],
    ["SSH open to the internet", { adminCidrs: ["0.0.0.0/0"] }, {}, "opsfleet:adminCidrs[0]", /whole internet/],
    ["admin CIDR that is not a CIDR", { adminCidrs: ["203.0.113.0/24", "office"] }, {}, "opsfleet:adminCidrs[1]", /IPv4 CIDR.*got "office"/],
    ["admin CIDR inside the VPC", { adminCidrs: ["10.0.5.0/24"], network: { cidrBlock: "10.0.0.0/16" } }, {}, "opsfleet:adminCidrs[0]", /overlaps the VPC/],
    ["missing SSH public key", { ssh: {} }, {}, "opsfleet:ssh.publicKey", /required/],
    ["malformed SSH public key", { ssh: { publicKey: "AAAAC3Nza" } }, {}, "opsfleet:ssh.publicKey", /OpenSSH public key/],
    ["no NAT for private hosts", { network: { natGateways: "none" } }, {}, "opsfleet:network.natGateways", /without outbound access/],
    ["malformed AMI id", { amiId: "ami-123" }, {}, "opsfleet:amiId", /AMI id/],
    ["not an instance type", { bastion: { instanceType: "huge" } }, {}, "opsfleet:bastion.instanceType", /EC2 instance type.*got "huge"/],
    ["bad tag key", { tags: { "bad!key": "x" } }, {}, "opsfleet:tags.bad!key", /invalid key: tag keys use letters/],
    ["protectData as a string", { protectData: "sometimes" }, {}, "opsfleet:protectData", /must be true or false \(got "sometimes"\)/],
    ["list given as a string", { spot: { instanceTypes: "t3.micro" } }, {}, "opsfleet:spot.instanceTypes", /must be a list .*\(got "t3.micro"\)/],
    ["missing dns.zoneId", { spot: { dns: { name: "www.example.com" } } }, {}, "opsfleet:spot.dns.zoneId", /is required when opsfleet:spot.dns is set; allowed: a string \(Route53 hosted zone id\) \(got nothing\)/],
    ["pool count with another strategy: the value shown once", { spot: { fleet: { allocationStrategy: "diversified", instancePoolsToUseCount: 2 } } }, {}, "opsfleet:spot.fleet.instancePoolsToUseCount", /^[^(]*lowestPrice \(allocationStrategy is diversified\) \(got 2\)$/],
    ["dotted key written by `pulumi config set` without --path", { "redis.hostCount": 6 }, {}, "opsfleet:redis.hostCount", /unknown key \(got 6\).*pulumi config set --path 'opsfleet:redis.hostCount' 6/],
    ["unknown key lists the allowed ones", { redis: { hostcount: 6 } }, {}, "opsfleet:redis.hostcount", /unknown key \(got 6\); allowed keys here: .*hostCount/],
    ["missing required secret", {}, { secrets: { ...SECRETS, redisPassword: undefined as unknown as string } }, "opsfleet:redisPassword", /missing secret.*--secret/],
    ["secret stored in plain text", {}, { plainSecrets: ["dbRootPassword"] }, "opsfleet:dbRootPassword", /plain text.*--secret/],
    ["weak password", {}, { secrets: { ...SECRETS, dbAppPassword: "short" } }, "opsfleet:dbAppPassword", /16-128 characters/],
    ["password with a quote", {}, { secrets: { ...SECRETS, elasticPassword: "abc'defghijklmnopq" } }, "opsfleet:elasticPassword", /no spaces, quotes/],
    ["private key that is not a key", {}, { secrets: { ...SECRETS, sshPrivateKey: "hunter2hunter2hunter2" } }, "opsfleet:sshPrivateKey", /not a private key/],
    ["plain setting stored as a secret", { tags: { team: "ops" } }, { secretKeys: ["tags"] }, "opsfleet:tags", /not a secret setting/],
    ["no AWS region", {}, { others: {} }, "aws:region", /not set/],
    ["database subnet that does not exist", { network: { availabilityZoneCount: 2 }, database: { subnetIndex: 2 } }, {}, "opsfleet:database.subnetIndex", /below the number of private subnets \(2\): allowed 0 to 1.*got 2/],
  ];

  test.each(cases)("%s", (_desc, over, opts, key, allowed) => {
    const msgs = problems(raw(over, opts));
    const mine = msgs.filter((m) => m.startsWith(`${key}:`) || m.startsWith(`${key},`));
    if (mine.length === 0) throw new Error(`no message names ${key}; got:\n${msgs.join("\n")}`);
    expect(mine.join("\n")).toMatch(allowed);
  });

  test("reports every problem at once, one line each", () => {
    const msgs = problems(raw({ network: { natGateways: "two", availabilityZoneCount: 9 }, adminCidrs: ["0.0.0.0/0"] }, { others: {} }));
    expect(msgs.every((m) => !m.includes("\n"))).toBe(true);
    const keys = msgs.map((m) => m.split(":").slice(0, 2).join(":"));
    expect(keys).toEqual(expect.arrayContaining(["opsfleet:network.natGateways", "opsfleet:network.availabilityZoneCount", "opsfleet:adminCidrs[0]", "aws:region"]));
  });

  test("no zod boilerplate, and the value shown once, in any message", () => {
    const msgs = problems(raw({
      features: { redis: "yes", elk: 1 }, protectData: "no", tags: { a: 5 }, redis: "big", spot: { dns: { name: "x.example.com" }, instanceTypes: "t3.micro", fleet: { allocationStrategy: "diversified", instancePoolsToUseCount: 2 } },
      network: { availabilityZoneCount: "three", natGateways: "two" }, "elk.masters": 3,
    }));
    expect(msgs.length).toBeGreaterThanOrEqual(9);
    for (const m of msgs) {
      expect(m).toMatch(/^(opsfleet|aws):[^:]+: /);
      expect(m).not.toMatch(/Invalid (input|option)|received (string|number|undefined)|Too (big|small)/);
      expect(m.match(/\(got /g)?.length ?? 0).toBe(1);
    }
  });

  test("secret values never appear in messages", () => {
    const msgs = problems(raw({}, { secrets: { ...SECRETS, dbAppPassword: "short'pw" } }));
    expect(msgs.join("\n")).not.toContain("short'pw");
    expect(msgs.join("\n")).toContain("8 characters");
  });
});
