import { generateKeyPairSync } from "node:crypto";
import { validateConfig, type RawConfig } from "./load";
import { albSubnetProblem, gp3IopsProblem, gp3MaxIops, gp3MaxThroughput, gp3ThroughputProblem, logstashInFlightProblem, sshPublicKeyProblem } from "./aws-limits";
import { PUBKEY, SECRETS } from "./test-fixtures";

function problems(over: Record<string, unknown>, region = "eu-west-1"): string[] {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries({ adminCidrs: ["203.0.113.0/24"], ssh: { publicKey: PUBKEY }, ...over, ...SECRETS })) values[k] = typeof v === "string" ? v : JSON.stringify(v);
  const r: RawConfig = { values, secretKeys: new Set(Object.keys(SECRETS)), others: { "aws:region": region } };
  const res = validateConfig(r);
  return res.ok ? [] : res.problems;
}

/** An OpenSSH public key line made by node's own key generator (SSH wire format, RFC 4253). */
function opensshEd25519(): string {
  const raw = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from("ssh-ed25519")), str(raw)]).toString("base64")} me@host`;
}

/** ECDSA P-256 and FIDO sk-ed25519 public key lines in SSH wire format (RFC 5656, OpenSSH PROTOCOL.u2f). */
function opensshOther(): { ecdsa: string; sk: string } {
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const point = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "der", type: "spki" }).subarray(-65);
  const ed = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const t = "sk-ssh-ed25519@openssh.com";
  return {
    ecdsa: `ecdsa-sha2-nistp256 ${Buffer.concat([str(Buffer.from("ecdsa-sha2-nistp256")), str(Buffer.from("nistp256")), str(point)]).toString("base64")} me@host`,
    sk: `${t} ${Buffer.concat([str(Buffer.from(t)), str(ed), str(Buffer.from("ssh:"))]).toString("base64")} me@host`,
  };
}

describe("values AWS or the services reject are config errors naming the key, the value and what is allowed", () => {
  test("gp3: IOPS up to 500 per GiB (3000 always, at most 80000); throughput up to 0.25 MiB/s per IOPS (125 always, at most 2000)", () => {
    expect([gp3MaxIops(1), gp3MaxIops(6), gp3MaxIops(10), gp3MaxIops(32), gp3MaxIops(100), gp3MaxIops(160), gp3MaxIops(1000)]).toEqual([3000, 3000, 5000, 16000, 50000, 80000, 80000]);
    expect([gp3MaxThroughput(3000), gp3MaxThroughput(4000), gp3MaxThroughput(6000), gp3MaxThroughput(8000), gp3MaxThroughput(80000)]).toEqual([750, 1000, 1500, 2000, 2000]);
    expect(gp3IopsProblem(80000, 160)).toBeUndefined();
    expect(gp3IopsProblem(80001, 1000)).toMatch(/allowed: 3000 to 80000$/);
    expect(gp3ThroughputProblem(2000, 8000)).toBeUndefined();
    expect(gp3ThroughputProblem(2001, 80000)).toMatch(/allowed: 125 to 2000$/);
    expect(gp3IopsProblem(5000, 10)).toBeUndefined();
    expect(gp3IopsProblem(5001, 10)).toBe("5001 IOPS is not possible on a 10 GiB gp3 volume (AWS: 3000 to 80000 IOPS, at most 500 per GiB); allowed: 3000 to 5000");
    expect(gp3ThroughputProblem(750, 3000)).toBeUndefined();
    expect(gp3ThroughputProblem(751, 3000)).toBe("751 MiB/s is not possible at 3000 IOPS on gp3 (AWS: 125 to 2000 MiB/s, at most 0.25 MiB/s per IOPS); allowed: 125 to 750");
    expect(problems({ database: { dataVolumeSizeGb: 10, dataVolumeIops: 6000 } })).toEqual([
      "opsfleet:database.dataVolumeIops: 6000 IOPS is not possible on a 10 GiB gp3 volume (AWS: 3000 to 80000 IOPS, at most 500 per GiB); allowed: 3000 to 5000 (dataVolumeSizeGb 10) (got 6000)",
    ]);
    expect(problems({ database: { dataVolumeSizeGb: 200, dataVolumeIops: 80000 } })).toEqual([]);
    expect(problems({ database: { dataVolumeSizeGb: 12, dataVolumeIops: 6000 } })).toEqual([]);
  });

  test("Logstash: workers x batch size above 10,000 in-flight events, workers given or from the instance's vCPUs", () => {
    expect(logstashInFlightProblem(8, 1250)).toBeUndefined();
    expect(problems({ elk: { logstash: { instanceType: "m5.2xlarge", batchSize: 2000 } } })).toEqual([
      "opsfleet:elk.logstash.batchSize: 8 workers x 2000 = 16000 in-flight events, above the 10000 Logstash warns about (each worker holds a whole batch in the heap); allowed: batchSize at most 1250 with 8 workers (workers from the m5.2xlarge's vCPUs (logstash.workers default)) (got 2000)",
    ]);
    expect(problems({ elk: { logstash: { workers: 20, batchSize: 1000 } } })).toEqual([expect.stringMatching(/^opsfleet:elk.logstash.batchSize: 20 workers x 1000 = 20000 .* at most 500 with 20 workers \(workers from logstash.workers\)/)]);
  });

  test("a created VPC whose subnets cannot take the ALB (a /24 is cut into /28s; an ALB needs /27)", () => {
    expect(albSubnetProblem("10.0.0.0/23")).toBeUndefined();
    expect(problems({ network: { cidrBlock: "10.0.0.0/24" }, adminCidrs: ["203.0.113.0/24"] })).toEqual([
      'opsfleet:network.cidrBlock: is cut into /28 subnets (16 per VPC, 11 usable addresses each), but the web tier\'s ALB needs /27 or larger subnets with 8 free addresses; allowed: /16 to /23 while features.spotWeb is on (got "10.0.0.0/24")',
    ]);
    expect(problems({ network: { cidrBlock: "10.0.0.0/24" }, features: { spotWeb: false } })).toEqual([]);
  });

  test("an ACM certificate from another region than the stack's", () => {
    const arn = (r: string) => `arn:aws:acm:${r}:123456789012:certificate/00000000-0000-0000-0000-000000000000`;
    expect(problems({ spot: { certificateArn: arn("eu-west-1") } })).toEqual([]);
    expect(problems({ spot: { certificateArn: arn("us-east-1") } })).toEqual([
      `opsfleet:spot.certificateArn: is in us-east-1, but the stack (aws:region) is eu-west-1: an ALB takes only certificates of its own region; allowed: an ACM certificate ARN in eu-west-1 (request or import one there) (got "${arn("us-east-1")}")`,
    ]);
  });

  test("an aws:region that does not exist", () => {
    expect(problems({}, "eu-west-9")).toEqual([expect.stringMatching(/^aws:region: "eu-west-9" is not an AWS region; allowed: us-east-1, us-east-2, .*eu-west-1,/)]);
    expect(problems({}, "ap-southeast-5")).toEqual([]);
  });

  test("an ssh.publicKey that is not a public key: parsed, the key data must be a key of the type it names", () => {
    const good = opensshEd25519();
    expect(sshPublicKeyProblem(good)).toBeUndefined();
    const [, blob] = good.split(" ");
    expect(sshPublicKeyProblem(`ssh-rsa ${blob}`)).toMatch(/^the key data does not belong to a ssh-rsa key \(it says "ssh-ed25519"\); allowed: /);
    expect(sshPublicKeyProblem(`ssh-ed25519 ${blob.slice(0, 40)}`)).toMatch(/not base64|truncated/);
    expect(sshPublicKeyProblem("ssh-ed25519 AAAAnotakey")).toMatch(/^the key after ssh-ed25519 is not base64|does not belong/);
    expect(sshPublicKeyProblem("ssh-dss AAAAB3NzaC1kc3M=")).toMatch(/^key type "ssh-dss" is not one EC2 imports/);
    expect(problems({ ssh: { publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 ops" } })).toEqual([
      expect.stringMatching(/^opsfleet:ssh.publicKey: is not an OpenSSH public key: the ssh-ed25519 key data is truncated; allowed: one OpenSSH public key line, .* \(got "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 ops"\)$/),
    ]);
  });

  test("ssh.publicKey is an EC2 key pair: ssh-rsa or ssh-ed25519 only, one line; ECDSA and sk- keys only as additionalPublicKeys", () => {
    const { ecdsa, sk } = opensshOther();
    const good = opensshEd25519();
    expect(sshPublicKeyProblem(ecdsa)).toMatch(/^key type "ecdsa-sha2-nistp256" cannot be imported: EC2 key pairs accept ssh-rsa or ssh-ed25519/);
    expect(sshPublicKeyProblem(`${good}\n${good}`)).toMatch(/^holds 2 key lines, not one/);
    expect(problems({ ssh: { publicKey: ecdsa } })).toEqual([expect.stringMatching(/^opsfleet:ssh.publicKey: .*EC2 key pairs accept ssh-rsa or ssh-ed25519/)]);
    expect(problems({ ssh: { publicKey: sk } })).toEqual([expect.stringMatching(/^opsfleet:ssh.publicKey: .*EC2 key pairs accept ssh-rsa or ssh-ed25519/)]);
    expect(problems({ ssh: { publicKey: `${good}\n${good}` } })).toEqual([expect.stringMatching(/^opsfleet:ssh.publicKey: .*holds 2 key lines/)]);
    expect(problems({ ssh: { publicKey: good, additionalPublicKeys: [ecdsa, sk] } })).toEqual([]);
    expect(problems({ ssh: { publicKey: good, additionalPublicKeys: ["ssh-dss AAAAB3NzaC1kc3M="] } })).toEqual([expect.stringMatching(/^opsfleet:ssh.additionalPublicKeys\[0\]: .*"ssh-dss" is not one OpenSSH authorizes/)]);
  });
});
