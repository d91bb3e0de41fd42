import { validateConfig, type RawConfig } from "./load";
import { usedInstanceTypes } from "./architecture";

import { PUBKEY, SECRETS } from "./test-fixtures";

function raw(over: Record<string, unknown>): RawConfig {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries({ adminCidrs: ["203.0.113.0/24"], ssh: { publicKey: PUBKEY }, ...over, ...SECRETS })) {
    values[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return { values, secretKeys: new Set(Object.keys(SECRETS)), others: { "aws:region": "eu-west-1" } };
}
const problems = (over: Record<string, unknown>): string[] => {
  const r = validateConfig(raw(over));
  return r.ok ? [] : r.problems;
};

describe("CPU architecture and pinned AMIs in the stack config", () => {
  test("the used instance types are those of the enabled systems, with their keys", () => {
    const r = validateConfig(raw({ features: { elk: false }, redis: { instanceType: "r6g.large", maxmemoryMb: 1024 } }));
    if (!r.ok) throw new Error(r.problems.join("\n"));
    expect(usedInstanceTypes(r.config)).toEqual([
      { key: "bastion.instanceType", type: "t3.micro" },
      { key: "spot.instanceTypes[0]", type: "t3.micro" }, { key: "spot.instanceTypes[1]", type: "t3a.micro" }, { key: "spot.instanceTypes[2]", type: "t2.micro" },
      { key: "redis.instanceType", type: "r6g.large" },
      { key: "database.instanceType", type: "t3.medium" },
    ]);
  });

  test("pinned AMIs for every architecture in use pass", () => {
    expect(problems({ redis: { instanceType: "r6g.large", maxmemoryMb: 1024 }, amiIds: { x86_64: "ami-0123456789abcdef0", arm64: "ami-0fedcba9876543210" } })).toEqual([]);
    expect(problems({ amiIds: { x86_64: "ami-0123456789abcdef0" } })).toEqual([]);
  });

  test("an architecture in use without a pinned AMI is an error naming both keys", () => {
    expect(problems({ redis: { instanceType: "r6g.large", maxmemoryMb: 1024 }, amiIds: { x86_64: "ami-0123456789abcdef0" } })).toEqual([
      "opsfleet:amiIds.arm64: no arm64 AMI pinned, but opsfleet:redis.instanceType=r6g.large is arm64; allowed: an arm64 AMI id here, or only x86_64-architecture instance types (got nothing)",
    ]);
  });

  test("the removed single amiId is an error that says what to set instead", () => {
    const [p, ...rest] = problems({ amiId: "ami-0123456789abcdef0", redis: { instanceType: "r6g.large", maxmemoryMb: 1024 } });
    expect(rest).toEqual([]);
    expect(p).toMatch(/^opsfleet:amiId: is replaced by opsfleet:amiIds \(one AMI per CPU architecture; an AMI runs only on its own\); this stack uses x86_64 \(opsfleet:bastion.instanceType=t3.micro, .*\) and arm64 \(opsfleet:redis.instanceType=r6g.large\): set opsfleet:amiIds: \{ x86_64: <x86_64 AMI>, arm64: <arm64 AMI> \} and remove opsfleet:amiId \(got "ami-0123456789abcdef0"\)$/);
  });

  test("Graviton 1 counts as arm64: a1.medium with t3.micro is two architectures, a1 alone needs an arm64 AMI", () => {
    expect(problems({ spot: { instanceTypes: ["a1.medium", "t3.micro"] } })).toEqual([
      'opsfleet:spot.instanceTypes: mixes CPU architectures (a1.medium (arm64), t3.micro (x86_64)); one launch template has one AMI, so use one architecture (got ["a1.medium","t3.micro"])',
    ]);
    expect(problems({ spot: { instanceTypes: ["a1.medium", "a1.large"] }, amiIds: { x86_64: "ami-0123456789abcdef0" } })).toEqual([
      expect.stringMatching(/^opsfleet:amiIds.arm64: no arm64 AMI pinned, but opsfleet:spot.instanceTypes\[0\]=a1.medium, opsfleet:spot.instanceTypes\[1\]=a1.large are arm64/),
    ]);
  });

  test("a family EC2 does not have, or a Mac type, is an error at its key", () => {
    expect(problems({ bastion: { instanceType: "q9.large" } })).toEqual([
      'opsfleet:bastion.instanceType: is not an EC2 instance family opsfleet knows (family "q9"); allowed: a current EC2 type such as t3.medium, m6i.large or r6g.large (got "q9.large")',
    ]);
    expect(problems({ database: { instanceType: "mac2.metal" } })).toEqual([expect.stringMatching(/^opsfleet:database.instanceType: is an EC2 Mac type/)]);
  });
});
