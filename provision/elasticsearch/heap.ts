import { instanceSpec } from "./instance-types";

/**
 * Heap cap: 30 GiB. The JVM keeps compressed object pointers up to just under 32 GiB, but above
 * ~30 GiB it can no longer place the heap for *zero-based* compressed oops and falls back to a
 * slower heap-based mode (measured with JDK 17 on Debian 12: 30g → "Zero based", 31g → "Non-zero
 * disjoint base", 32g → compressed oops off). Elastic's JVM guide says the threshold is "26GB safe on
 * most systems and can be as large as 30GB". Big hosts lose nothing by the cap: everything above it
 * serves as filesystem cache, which Elasticsearch wants at least half of RAM for anyway.
 */
export const ES_HEAP_CAP_MB = 30 * 1024;

/** Below this the node cannot run a useful Elasticsearch (1 GiB heap). */
export const ES_MIN_MEMORY_GIB = 2;

export interface HeapDecision {
  instanceType: string;
  memoryGiB: number;
  /** Heap in MiB, used for both -Xms and -Xmx. */
  heapMb: number;
  /** True when 50 % of memory exceeded the cap. */
  capped: boolean;
}

/** Elasticsearch heap: 50 % of the instance type's memory, capped at {@link ES_HEAP_CAP_MB}. */
export function elasticsearchHeap(instanceType: string, what = "instanceType"): HeapDecision {
  const { memoryGiB } = instanceSpec(instanceType, what);
  if (memoryGiB < ES_MIN_MEMORY_GIB) {
    throw new Error(
      `${what}: ${instanceType} has ${memoryGiB} GiB of memory; an Elasticsearch node needs at least ` +
        `${ES_MIN_MEMORY_GIB} GiB (allowed: t3.small or larger)`,
    );
  }
  const half = Math.floor((memoryGiB * 1024) / 2);
  return { instanceType, memoryGiB, heapMb: Math.min(half, ES_HEAP_CAP_MB), capped: half > ES_HEAP_CAP_MB };
}

/** Logstash heap: 50 % of memory, at most 8 GiB (Logstash's tuning guide: 4–8 GB for typical ingestion). */
export const LOGSTASH_HEAP_CAP_MB = 8 * 1024;

export function logstashHeap(instanceType: string, what = "instanceType"): HeapDecision {
  const { memoryGiB } = instanceSpec(instanceType, what);
  if (memoryGiB < 2) {
    throw new Error(`${what}: ${instanceType} has ${memoryGiB} GiB of memory; Logstash needs at least 2 GiB (allowed: t3.small or larger)`);
  }
  const half = Math.floor((memoryGiB * 1024) / 2);
  return { instanceType, memoryGiB, heapMb: Math.min(half, LOGSTASH_HEAP_CAP_MB), capped: half > LOGSTASH_HEAP_CAP_MB };
}

/** JVM size literal: whole GiB as `16g`, anything else as `1536m`. */
export function jvmSize(mb: number): string {
  if (!Number.isInteger(mb) || mb <= 0) throw new Error(`heap must be a positive whole number of MiB (got ${mb})`);
  return mb % 1024 === 0 ? `${mb / 1024}g` : `${mb}m`;
}

/** `jvm.options.d/heap.options`: -Xms = -Xmx (a bootstrap check in production mode). */
export function renderHeapOptions(h: Pick<HeapDecision, "heapMb" | "instanceType" | "memoryGiB" | "capped">, rule: string): string {
  const size = jvmSize(h.heapMb);
  return [
    `# Managed by opsfleet. ${h.instanceType}: ${h.memoryGiB} GiB of memory; ${rule}${h.capped ? " (capped)" : ""}.`,
    `-Xms${size}`,
    `-Xmx${size}`,
    "",
  ].join("\n");
}

/**
 * GC flags, pinned to what Elasticsearch 8's shipped `jvm.options` uses (G1, reserve 25 %, start
 * concurrent marking at 30 % occupancy) so the heap we size is collected the way it was sized for.
 */
export const ES_GC_FLAGS = ["-XX:+UseG1GC", "-XX:G1ReservePercent=25", "-XX:InitiatingHeapOccupancyPercent=30"];

export function renderGcOptions(): string {
  return ["# Managed by opsfleet. G1 as in Elasticsearch 8's jvm.options.", ...ES_GC_FLAGS, ""].join("\n");
}

/** The JVM flags a rendered options file contributes (comments and blank lines dropped). */
export function jvmFlagsOf(optionsFile: string): string[] {
  return optionsFile
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}
