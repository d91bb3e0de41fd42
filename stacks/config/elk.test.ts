import { elkConfigSchema } from "./elk";

const issues = (x: unknown) => {
  const r = elkConfigSchema.safeParse(x);
  if (r.success) throw new Error("expected the config to be rejected");
  return r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
};

describe("opsfleet:elk", () => {
  test("defaults: the seed's topology (3 × t3.medium masters, 2 × m5.2xlarge data), normal profile", () => {
    const c = elkConfigSchema.parse({});
    expect(c).toMatchObject({
      version: "8.19.2",
      masters: { count: 3, instanceType: "t3.medium", volumeSizeGb: 20 },
      data: { count: 2, instanceType: "m5.2xlarge", volumeSizeGb: 500 },
      index: { prefix: "logstash", shards: 2, replicas: 1, profile: "normal", greenTimeoutMinutes: 30 },
      logstash: { instanceType: "m5.xlarge", batchSize: 1000, batchDelayMs: 50, queueType: "persisted", queueMaxGb: 4, volumeSizeGb: 50 },
      kibana: { enabled: false },
    });
    expect(c.clusterName).toBeUndefined();
  });
  test("a dev config with one master and one data node is valid (the component warns)", () => {
    expect(elkConfigSchema.safeParse({ masters: { count: 1, instanceType: "t3.small" }, data: { count: 1, instanceType: "t3.large" }, index: { replicas: 0 } }).success).toBe(true);
  });
  test("an instance type outside the memory table names the key and lists what is allowed", () => {
    const [i] = issues({ data: { instanceType: "m7g.2xlarge" } });
    expect(i.path).toBe("data.instanceType");
    expect(i.message).toMatch(/not in the memory table.*allowed: t3\.\{nano,.*m5\.\{large,/);
    expect(issues({ masters: { instanceType: "x2iedn.xlarge" } })[0].path).toBe("masters.instanceType");
    expect(issues({ logstash: { instanceType: "m7i.large" } })[0].path).toBe("logstash.instanceType");
  });
  test("too little memory for Elasticsearch", () => {
    expect(issues({ masters: { instanceType: "t3.micro" } })).toEqual([
      { path: "masters.instanceType", message: "has 1 GiB; at least 2 GiB is needed (allowed: t3.small or larger)" },
    ]);
  });
  test("two masters are rejected (no HA, no quorum on loss)", () => {
    const [i] = issues({ masters: { count: 2 } });
    expect(i.path).toBe("masters.count");
    expect(i.message).toMatch(/use 3 \(HA\) or 1 \(dev only\)/);
  });
  test("more replicas than data nodes can hold", () => {
    expect(issues({ data: { count: 2 }, index: { replicas: 2 } })).toEqual([
      { path: "index.replicas", message: "needs 3 data nodes to place every copy but data.count is 2; allowed: 0..1" },
    ]);
    expect(issues({ data: { count: 1 } })[0].path).toBe("index.replicas"); // default 1 replica needs 2 data nodes
  });
  test("profile, version, prefix, numbers", () => {
    expect(issues({ index: { profile: "fast" } })[0].path).toBe("index.profile");
    expect(issues({ version: "7.17.0" })[0]).toEqual({ path: "version", message: "must be an Elastic 8.x release such as 8.19.2" });
    expect(issues({ index: { prefix: "Logs" } })[0].path).toBe("index.prefix");
    expect(issues({ index: { shards: 0 } })[0].path).toBe("index.shards");
    expect(issues({ data: { volumeSizeGb: 4 } })[0].path).toBe("data.volumeSizeGb");
    expect(issues({ masters: { count: 1.5 } })[0].path).toBe("masters.count");
  });
  test("Logstash queue must fit its volume; heap must leave memory", () => {
    expect(issues({ logstash: { queueMaxGb: 45, volumeSizeGb: 50 } })).toEqual([
      { path: "logstash.queueMaxGb", message: "must fit on the 50 GiB volume with headroom; allowed: at most 40" },
    ]);
    expect(issues({ logstash: { instanceType: "t3.medium", heapMb: 4096 } })).toEqual([
      { path: "logstash.heapMb", message: "leaves too little memory on t3.medium; allowed: at most 3072 (75 % of memory)" },
    ]);
  });
  test("unknown keys are rejected (typos do not silently fall back to defaults)", () => {
    expect(issues({ master: { count: 3 } })[0].message).toMatch(/Unrecognized key/);
    expect(issues({ index: { replica: 1 } })[0].path).toBe("index");
  });
});
