import { _InstanceType } from "@aws-sdk/client-ec2";
import { pinnedAmiFor } from "./ami";
import { architectureOf, architectureProblem, classifyInstanceType, familyOf, INSTANCE_FAMILIES } from "./instance-architecture";

/** Every instance type name the EC2 API knows (the SDK's InstanceType enum). */
const EC2_TYPES: string[] = Object.values(_InstanceType);
const EC2_FAMILIES = [...new Set(EC2_TYPES.map(familyOf))].sort();

describe("instance type architecture", () => {
  test("the table classifies every family of the EC2 API, and lists none the API does not have", () => {
    expect(EC2_FAMILIES.length).toBeGreaterThan(150);
    expect(EC2_FAMILIES.filter((f) => !(f in INSTANCE_FAMILIES))).toEqual([]);
    expect(Object.keys(INSTANCE_FAMILIES).filter((f) => !EC2_FAMILIES.includes(f))).toEqual([]);
    for (const t of EC2_TYPES) expect(classifyInstanceType(t)).toBeDefined();
  });

  test("Graviton 1 (a1) and Grace (p6e-gb200) are arm64: the naming rule alone gets them wrong", () => {
    expect(architectureOf("a1.medium")).toBe("arm64");
    expect(architectureOf("a1.metal")).toBe("arm64");
    expect(architectureOf("p6e-gb200.36xlarge")).toBe("arm64");
  });

  test("every other arm64 family is a Graviton name (a g right after the generation), and no x86_64 family is", () => {
    const graviton = (f: string) => /^[a-z]+\d+g[a-z]*$/.test(f);
    for (const [f, c] of Object.entries(INSTANCE_FAMILIES)) {
      if (c === "mac" || f === "a1" || f === "p6e-gb200") continue;
      expect({ f, arm64: c === "arm64" }).toEqual({ f, arm64: graviton(f) });
    }
  });

  test("examples from the AWS instance type pages", () => {
    const cases: [string, string][] = [
      ["t3.micro", "x86_64"], ["t3a.micro", "x86_64"], ["t2.micro", "x86_64"], ["t4g.micro", "arm64"], ["r6g.large", "arm64"],
      ["m6i.large", "x86_64"], ["m5a.large", "x86_64"], ["c7gn.xlarge", "arm64"], ["im4gn.large", "arm64"], ["is4gen.medium", "arm64"],
      ["x2gd.medium", "arm64"], ["g5g.xlarge", "arm64"], ["g4dn.xlarge", "x86_64"], ["gr6.4xlarge", "x86_64"], ["inf2.xlarge", "x86_64"],
      ["u-12tb1.112xlarge", "x86_64"], ["m7i-flex.large", "x86_64"],
    ];
    for (const [t, a] of cases) expect({ t, a: architectureOf(t) }).toEqual({ t, a });
  });

  test("Mac types and unknown families are errors naming the type and what is allowed", () => {
    expect(() => architectureOf("mac2.metal")).toThrow('instance type "mac2.metal" is an EC2 Mac type (macOS only, no Debian image); allowed: an x86_64 or arm64 Linux type');
    expect(architectureProblem("q9.large")).toMatch(/^is not an EC2 instance family opsfleet knows \(family "q9"\); allowed: /);
    expect(architectureProblem("t3.micro")).toBeUndefined();
  });

  test("a pinned AMI set serves each type with its architecture's AMI, and names both when one is missing", () => {
    const ids = { x86_64: "ami-0aaaaaaaaaaaaaaa0", arm64: "ami-0bbbbbbbbbbbbbbb0" };
    expect(pinnedAmiFor("r6g.large", ids)).toBe(ids.arm64);
    expect(pinnedAmiFor("a1.large", ids)).toBe(ids.arm64);
    expect(pinnedAmiFor("m5.large", ids)).toBe(ids.x86_64);
    expect(() => pinnedAmiFor("r6g.large", { x86_64: ids.x86_64 }, "amiId")).toThrow("amiId.arm64: no AMI pinned for arm64, but instance type r6g.large is arm64 (pinned: x86_64)");
  });
});
