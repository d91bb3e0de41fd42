import { instanceMemoryMiB, redisConfigSchema } from "./redis";
import { rejectionIssues } from "./test-fixtures";

const issues = (x: unknown) => rejectionIssues(redisConfigSchema, x);

describe("opsfleet:redis config", () => {
  test("defaults: 3 t3.small hosts, 512 MiB per instance, noeviction, 5 s node timeout, 20 GiB data volume", () => {
    expect(redisConfigSchema.parse({})).toEqual({
      instanceType: "t3.small", hostCount: 3, maxmemoryMb: 512, maxmemoryPolicy: "noeviction", nodeTimeoutMs: 5000, dataVolumeSizeGb: 20,
    });
    expect(redisConfigSchema.parse({ instanceType: "r6g.large", maxmemoryMb: 4096, maxmemoryPolicy: "allkeys-lru" }))
      .toMatchObject({ instanceType: "r6g.large", maxmemoryMb: 4096, maxmemoryPolicy: "allkeys-lru" });
  });

  test.each([
    [{ instanceType: "big" }, "instanceType", /EC2 instance type/],
    [{ hostCount: 2 }, "hostCount", /at least 3/],
    [{ hostCount: 3.5 }, "hostCount", /whole number from 3 to 15/],
    [{ maxmemoryMb: 16 }, "maxmemoryMb", /at least 32/],
    [{ maxmemoryPolicy: "lru" }, "maxmemoryPolicy", /noeviction/],
    [{ nodeTimeoutMs: 500 }, "nodeTimeoutMs", /at least 1000/],
    [{ dataVolumeSizeGb: 0 }, "dataVolumeSizeGb", /at least 1/],
    [{ ports: [6379] }, "", /ports/],
  ])("rejects %p naming %s", (input, path, message) => {
    const found = issues(input);
    expect(found).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  test("rejects a maxmemory that cannot fit two forking instances in the host's RAM", () => {
    expect(issues({ instanceType: "t3.small", maxmemoryMb: 1024 })).toEqual([
      { path: "maxmemoryMb", message: "2 instances x 1024 MiB exceed half of t3.small's 2048 MiB (AOF rewrites and replica syncs fork and can double memory); use at most 512 or a bigger instanceType" },
    ]);
    expect(redisConfigSchema.safeParse({ instanceType: "r6i.large", maxmemoryMb: 4096 }).success).toBe(true);
  });

  test("knows the memory of common types and leaves unknown ones unchecked", () => {
    expect(instanceMemoryMiB("t3.small")).toBe(2048);
    expect(instanceMemoryMiB("m6i.xlarge")).toBe(16384);
    expect(instanceMemoryMiB("r7g.large")).toBe(16384);
    expect(instanceMemoryMiB("x2idn.16xlarge")).toBeUndefined();
    expect(redisConfigSchema.safeParse({ instanceType: "x2idn.16xlarge", maxmemoryMb: 100000 }).success).toBe(true);
  });
});
