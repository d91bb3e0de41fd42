import * as pulumi from "@pulumi/pulumi";
import { byName, ofType, OptionsRecorder, settle, unsecret, useMocks, valueOf } from "../test/harness/pulumi-mocks";
import { composeRedis } from "./redis";
import { redisConfigSchema } from "./config/redis";
import type { StackContext } from "./context";
import { testContext } from "./test-context";

const ctx = (over: Partial<StackContext> = {}) => testContext({ secrets: { redisPassword: pulumi.secret("redis-Pa55word-long-enough") }, ...over });

describe("composeRedis", () => {
  beforeAll(() => useMocks());

  test("builds the cluster from config in the private subnets and returns endpoints and the seed list", async () => {
    const rec = new OptionsRecorder();
    const cfg = redisConfigSchema.parse({ instanceType: "r6g.large", maxmemoryMb: 4096, maxmemoryPolicy: "allkeys-lru", dataVolumeSizeGb: 50 });
    const out = composeRedis(cfg, ctx({ protectData: true, opts: rec.opts }));
    await settle();
    const ips = await valueOf(out.privateIps);
    expect(ips).toHaveLength(3);
    expect(await valueOf(out.seedList)).toBe(ips.map((ip) => `${ip}:7000`).join(","));
    expect(await valueOf(out.nodeEndpoints)).toHaveLength(6);
    expect(await valueOf(out.securityGroupId)).toBe("dev-redis-sg-id");
    expect(ofType("aws:ec2/instance:Instance").map((r) => [byName(r.name, "aws:ec2/networkInterface:NetworkInterface").inputs.subnetId, r.inputs.instanceType, r.inputs.tags.env])).toEqual([
      ["subnet-priv-a", "r6g.large", "dev"], ["subnet-priv-b", "r6g.large", "dev"], ["subnet-priv-c", "r6g.large", "dev"],
    ]);
    expect(byName("dev-redis-1-data", "aws:ebs/volume:Volume").inputs.size).toBe(50);
    expect(rec.optionsOf("dev-redis-1-data").protect).toBe(true);
    // the files a step writes travel base64-encoded, one heredoc block each
    const stdin = unsecret(byName("dev-redis-0-redis-nodes", "command:remote:Command").inputs.stdin) as string;
    const files = [...stdin.matchAll(/<<'OPSFLEET_B64'\n([\s\S]*?)\nOPSFLEET_B64/g)].map((m) => Buffer.from(m[1].replace(/\n/g, ""), "base64").toString("utf8"));
    const conf = files.find((f) => f.includes("port 7000\n")) ?? "";
    expect(conf).toContain("maxmemory 4096mb\nmaxmemory-policy allkeys-lru\n");
    expect(byName("dev-redis-in-redis-client-0", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").inputs.referencedSecurityGroupId).toBe("sg-web");
  });

  test("a missing password secret is named", () => {
    expect(() => composeRedis(redisConfigSchema.parse({}), ctx({ secrets: {} }))).toThrow("opsfleet:redisPassword: missing secret (needed by redis)");
  });
});
