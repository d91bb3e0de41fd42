import { INSTANCE_TYPES, instanceSpec, isKnownInstanceType, SUPPORTED_FAMILIES } from "./instance-types";
import { ES_HEAP_CAP_MB, elasticsearchHeap, jvmFlagsOf, jvmSize, logstashHeap, renderGcOptions, renderHeapOptions } from "./heap";

// Independent expectation: AWS's published memory per type (GiB), written out, not derived from the table's ladders.
const AWS_MEMORY_GIB: Record<string, number> = {
  "t3.small": 2, "t3.medium": 4, "t3.large": 8, "t3.xlarge": 16, "t3.2xlarge": 32,
  "m5.large": 8, "m5.xlarge": 16, "m5.2xlarge": 32, "m5.4xlarge": 64, "m5.8xlarge": 128, "m5.12xlarge": 192, "m5.16xlarge": 256, "m5.24xlarge": 384,
  "m6i.large": 8, "m6i.xlarge": 16, "m6i.2xlarge": 32, "m6i.4xlarge": 64, "m6i.8xlarge": 128, "m6i.12xlarge": 192, "m6i.16xlarge": 256, "m6i.24xlarge": 384, "m6i.32xlarge": 512,
  "r5.large": 16, "r5.xlarge": 32, "r5.2xlarge": 64, "r5.4xlarge": 128, "r5.8xlarge": 256, "r5.12xlarge": 384, "r5.16xlarge": 512, "r5.24xlarge": 768,
  "r6i.large": 16, "r6i.xlarge": 32, "r6i.2xlarge": 64, "r6i.4xlarge": 128, "r6i.8xlarge": 256, "r6i.12xlarge": 384, "r6i.16xlarge": 512, "r6i.24xlarge": 768, "r6i.32xlarge": 1024,
  "c5.large": 4, "c5.xlarge": 8, "c5.2xlarge": 16, "c5.4xlarge": 32, "c5.9xlarge": 72, "c5.12xlarge": 96, "c5.18xlarge": 144, "c5.24xlarge": 192,
  "c6i.large": 4, "c6i.xlarge": 8, "c6i.2xlarge": 16, "c6i.4xlarge": 32, "c6i.8xlarge": 64, "c6i.12xlarge": 96, "c6i.16xlarge": 128, "c6i.24xlarge": 192, "c6i.32xlarge": 256,
};

describe("instance type table", () => {
  test("covers t3/m5/m6i/r5/r6i/c5/c6i with AWS's memory figures", () => {
    expect(SUPPORTED_FAMILIES).toEqual(["t3", "m5", "m6i", "r5", "r6i", "c5", "c6i"]);
    for (const [type, gib] of Object.entries(AWS_MEMORY_GIB)) expect([type, INSTANCE_TYPES[type]?.memoryGiB]).toEqual([type, gib]);
  });
  test("vCPUs of the types the defaults and the Logstash worker count use", () => {
    expect(instanceSpec("t3.medium").vcpus).toBe(2);
    expect(instanceSpec("m5.xlarge").vcpus).toBe(4);
    expect(instanceSpec("m5.2xlarge").vcpus).toBe(8);
    expect(instanceSpec("c5.9xlarge").vcpus).toBe(36);
    expect(instanceSpec("r6i.32xlarge").vcpus).toBe(128);
  });
  test("an unknown type is an error naming the setting, the value and what is allowed", () => {
    expect(isKnownInstanceType("m7g.large")).toBe(false);
    expect(() => instanceSpec("m7g.large", "opsfleet:elk.data.instanceType")).toThrow(
      /opsfleet:elk\.data\.instanceType: unknown instance type "m7g\.large".*allowed: t3\.\{nano,micro,small,medium,large,xlarge,2xlarge\}, m5\.\{large/,
    );
  });
});

describe("Elasticsearch heap = 50 % of memory, capped at 30g", () => {
  test.each(Object.entries(AWS_MEMORY_GIB))("%s (%d GiB)", (type, gib) => {
    const h = elasticsearchHeap(type);
    const expected = Math.min(gib * 512, 30 * 1024);
    expect(h.heapMb).toBe(expected);
    expect(h.capped).toBe(gib * 512 > 30 * 1024);
    const flags = jvmFlagsOf(renderHeapOptions(h, "rule"));
    expect(flags).toEqual([`-Xms${jvmSize(expected)}`, `-Xmx${jvmSize(expected)}`]); // Xms = Xmx
  });
  test("the seed's figures: t3.medium masters 2g, m5.2xlarge data 16g", () => {
    expect(jvmFlagsOf(renderHeapOptions(elasticsearchHeap("t3.medium"), "r"))).toEqual(["-Xms2g", "-Xmx2g"]);
    expect(jvmFlagsOf(renderHeapOptions(elasticsearchHeap("m5.2xlarge"), "r"))).toEqual(["-Xms16g", "-Xmx16g"]);
  });
  test("the cap: 64 GiB gives 30g, not 32g (which would switch compressed oops off)", () => {
    expect(ES_HEAP_CAP_MB).toBe(30720);
    expect(elasticsearchHeap("r5.2xlarge")).toMatchObject({ heapMb: 30720, capped: true });
    expect(elasticsearchHeap("c5.9xlarge")).toMatchObject({ heapMb: 30720, capped: true }); // 72 GiB
    expect(elasticsearchHeap("m5.4xlarge").capped).toBe(true); // 64 GiB → 32g wanted
    expect(elasticsearchHeap("t3.2xlarge")).toMatchObject({ heapMb: 16384, capped: false });
  });
  test("too little memory for Elasticsearch is a clear error", () => {
    expect(() => elasticsearchHeap("t3.micro", "opsfleet:elk.masters.instanceType")).toThrow(
      "opsfleet:elk.masters.instanceType: t3.micro has 1 GiB of memory; an Elasticsearch node needs at least 2 GiB (allowed: t3.small or larger)",
    );
  });
  test("the rendered file says why it holds this value", () => {
    expect(renderHeapOptions(elasticsearchHeap("r5.4xlarge"), "heap = 50 % of memory, at most 30g")).toBe(
      "# Managed by opsfleet. r5.4xlarge: 128 GiB of memory; heap = 50 % of memory, at most 30g (capped).\n-Xms30g\n-Xmx30g\n",
    );
  });
});

describe("Logstash heap = 50 % of memory, at most 8g", () => {
  test.each([["t3.small", 1024], ["t3.medium", 2048], ["m5.large", 4096], ["m5.xlarge", 8192], ["c5.4xlarge", 8192], ["r6i.32xlarge", 8192]] as const)(
    "%s → %d MiB", (type, mb) => expect(logstashHeap(type).heapMb).toBe(mb));
  test("below 2 GiB is an error", () => expect(() => logstashHeap("t3.micro", "opsfleet:elk.logstash.instanceType")).toThrow(/logstash\.instanceType: t3\.micro has 1 GiB/));
});

test("jvmSize and the GC file", () => {
  expect(jvmSize(2048)).toBe("2g");
  expect(jvmSize(1536)).toBe("1536m");
  expect(() => jvmSize(0)).toThrow(/positive/);
  expect(jvmFlagsOf(renderGcOptions())).toEqual(["-XX:+UseG1GC", "-XX:G1ReservePercent=25", "-XX:InitiatingHeapOccupancyPercent=30"]);
});
