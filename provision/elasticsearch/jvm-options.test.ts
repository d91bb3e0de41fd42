/**
 * The rendered JVM options, started on a real JVM (java 17 on this machine; Elasticsearch bundles
 * its own JDK, whose flag set and compressed-oops rules are the same for these flags). Every distinct
 * heap the table can produce is tried with its exact flags from heap.options + gc.options.
 */
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import { INSTANCE_TYPES } from "./instance-types";
import { ES_HEAP_CAP_MB, ES_MIN_MEMORY_GIB, elasticsearchHeap, jvmFlagsOf, logstashHeap, renderGcOptions, renderHeapOptions } from "./heap";

const MiB = 1024 * 1024;

function runJava(flags: string[]) {
  const r = spawnSync("java", [...flags, "-XX:+PrintFlagsFinal", "-Xlog:gc+heap+coops=debug", "-version"], { encoding: "utf8", timeout: 60_000 });
  if (r.error) throw new Error(`java could not be started (${r.error.message}); a JDK 17+ must be on PATH for this test`);
  const out = `${r.stdout}\n${r.stderr}`;
  const flag = (name: string) => out.match(new RegExp(`\\s${name}\\s+=\\s+(\\S+)`))?.[1];
  return {
    status: r.status,
    out,
    maxHeap: Number(flag("MaxHeapSize")),
    initialHeap: Number(flag("InitialHeapSize")),
    compressedOops: flag("UseCompressedOops"),
    g1: flag("UseG1GC"),
    reserve: flag("G1ReservePercent"),
    ihop: flag("InitiatingHeapOccupancyPercent"),
    coopsMode: out.match(/Compressed Oops mode: ([^,]+)/)?.[1],
  };
}

const esHeaps = [...new Set(
  Object.entries(INSTANCE_TYPES).filter(([, s]) => s.memoryGiB >= ES_MIN_MEMORY_GIB).map(([t]) => elasticsearchHeap(t).heapMb),
)].sort((a, b) => a - b);
const typeFor = (mb: number) => Object.keys(INSTANCE_TYPES).find((t) => INSTANCE_TYPES[t].memoryGiB >= ES_MIN_MEMORY_GIB && elasticsearchHeap(t).heapMb === mb)!;

test("the table yields these distinct Elasticsearch heaps (so the JVM runs below cover all of them)", () => {
  expect(esHeaps).toEqual([1024, 2048, 4096, 8192, 16384, 30720]);
});

describe.each(esHeaps.map((mb) => [typeFor(mb), mb] as const))("heap.options + gc.options of %s (%d MiB) on a real JVM", (type, mb) => {
  const flags = [...jvmFlagsOf(renderHeapOptions(elasticsearchHeap(type), "r")), ...jvmFlagsOf(renderGcOptions())];

  test("the exact flags start the JVM with Xms = Xmx = heap, G1 and compressed oops", () => {
    const r = runJava(flags);
    if (r.status !== 0) {
      // Only acceptable failure: committing an -Xms larger than this machine's RAM (flags parsed, ergonomics done).
      expect(mb * MiB).toBeGreaterThan(os.totalmem());
      expect(r.out).toMatch(/Native memory allocation \(mmap\) failed to map \d+ bytes.*committing reserved memory/);
      expect(r.out).not.toMatch(/Unrecognized VM option|Invalid (initial|maximum) heap size|Improperly specified VM option/);
      console.log(`${type}: -Xms${mb}m exceeds this machine's ${Math.round(os.totalmem() / 2 ** 30)} GiB; exact flags parsed, commit refused by the kernel`);
      return;
    }
    expect(r.maxHeap).toBe(mb * MiB);
    expect(r.initialHeap).toBe(mb * MiB);
    expect(r.g1).toBe("true");
    expect(r.reserve).toBe("25");
    expect(r.ihop).toBe("30");
    expect(r.compressedOops).toBe("true");
  });

  test("the exact -Xmx keeps compressed oops on (PrintFlagsFinal)", () => {
    const xmx = flags.filter((f) => !f.startsWith("-Xms")); // Xms only decides how much is committed up front
    const r = runJava(xmx);
    expect(r.status).toBe(0);
    expect(r.maxHeap).toBe(mb * MiB);
    expect(r.compressedOops).toBe("true");
    if (mb === ES_HEAP_CAP_MB) console.log(`cap ${mb} MiB: UseCompressedOops=${r.compressedOops}, mode "${r.coopsMode}"`);
  });
});

test("control: one step above the compressed-oops limit (32g) switches them off, so the cap matters", () => {
  const r = runJava(["-Xmx32g", ...jvmFlagsOf(renderGcOptions())]);
  expect(r.status).toBe(0);
  expect(r.compressedOops).toBe("false");
});

test.each([["t3.medium"], ["m5.xlarge"]])("Logstash heap lines of %s start the JVM", (type) => {
  const h = logstashHeap(type);
  const r = runJava(jvmFlagsOf(renderHeapOptions(h, "r")));
  expect(r.status).toBe(0);
  expect([r.initialHeap, r.maxHeap]).toEqual([h.heapMb * MiB, h.heapMb * MiB]);
});
