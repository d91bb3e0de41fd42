/** `opsfleet:elk`: the Elasticsearch cluster, its index tuning profile and the Logstash (+ Kibana) host. */
import { z } from "zod";
import { instanceType, intBetween } from "./common";
import { logstashInFlightProblem } from "./aws-limits";
import { describeSupportedTypes, isKnownInstanceType, INSTANCE_TYPES } from "../../provision/elasticsearch/instance-types";
import { ES_MIN_MEMORY_GIB } from "../../provision/elasticsearch/heap";
import { DEFAULT_ELASTIC_VERSION, ELASTIC_VERSION_PATTERN } from "../../provision/elasticsearch/apt";
import { PROFILES } from "../../provision/elasticsearch/profiles";

const nodeGroup = (d: { count: number; instanceType: string; volumeSizeGb: number }, what: string) =>
  z
    .strictObject({
      count: intBetween(1, 25).default(d.count).describe(what === "data"
        ? "Number of data nodes. Change it on a running stack to scale: leaving nodes are drained of shards before they are deleted (docs/elk.md, Scaling data nodes)."
        : `Number of ${what} nodes (not scaled by a count change on a running cluster: docs/elk.md).`),
      instanceType: instanceType.default(d.instanceType)
        .describe(`EC2 instance type of the ${what} nodes; must be in the memory table (heap = 50 % of its memory, at most 30g).`),
      volumeSizeGb: intBetween(8, 16384).default(d.volumeSizeGb).describe(`Size of each ${what} node's encrypted gp3 data volume (GiB).`),
    })
    .describe(`The ${what} node group.`);

export const elkConfigSchema = z
  .strictObject({
    clusterName: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: "must be 1-64 letters, digits, '-' or '_'" }).optional()
      .describe("cluster.name. Default: <stack>-logs."),
    version: z.string().regex(ELASTIC_VERSION_PATTERN, { message: "must be an Elastic 8.x release such as 8.19.2" }).default(DEFAULT_ELASTIC_VERSION)
      .describe("Elasticsearch/Logstash/Kibana version, pinned and held (installed only if missing; a different installed version fails the step)."),
    masters: nodeGroup({ count: 3, instanceType: "t3.medium", volumeSizeGb: 20 }, "master-eligible")
      .prefault({}),
    data: nodeGroup({ count: 2, instanceType: "m5.2xlarge", volumeSizeGb: 500 }, "data").prefault({}),
    index: z
      .strictObject({
        prefix: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: "must be lowercase letters, digits, '-' or '_'" }).default("logstash")
          .describe("Daily indices are <prefix>-YYYY.MM.dd; the template and profiles apply to <prefix>-*."),
        shards: intBetween(1, 1024).default(2).describe("Primary shards of new indices (index template). Keep it a multiple of data.count."),
        replicas: intBetween(0, 10).default(1).describe("Replicas under the normal profile; at most data.count - 1 (or the cluster never turns green)."),
        profile: z.enum(PROFILES).default("normal")
          .describe("Index tuning profile `pulumi up` applies: bulk-ingest (translog async, 0 replicas, refresh 300s: can LOSE acknowledged writes on a crash) or normal (durable, replicated; waits for green)."),
        greenTimeoutMinutes: intBetween(1, 240).default(30).describe("How long the normal profile waits for green."),
      })
      .prefault({})
      .describe("Index template and tuning profile."),
    logstash: z
      .strictObject({
        instanceType: instanceType.default("m5.xlarge").describe("EC2 instance type of the Logstash host; must be in the memory table."),
        workers: intBetween(1, 512).optional().describe("pipeline.workers. Default: the instance type's vCPUs."),
        batchSize: intBetween(1, 10000).default(1000).describe("pipeline.batch.size (events per worker batch = documents per bulk request; Logstash's default is 125). workers x batchSize must stay at most 10000 in-flight events."),
        batchDelayMs: intBetween(1, 10000).default(50).describe("pipeline.batch.delay in ms."),
        heapMb: intBetween(512, 32768).optional().describe("Logstash heap in MiB. Default: 50 % of memory, at most 8192."),
        queueType: z.enum(["memory", "persisted"]).default("persisted").describe("queue.type: persisted survives Logstash restarts."),
        queueMaxGb: intBetween(1, 1024).default(4).describe("queue.max_bytes of the persisted queue (GiB); must fit on the volume."),
        volumeSizeGb: intBetween(8, 16384).default(50).describe("Encrypted gp3 volume for /var/lib/logstash (persisted queue)."),
      })
      .prefault({})
      .describe("The Logstash host (Beats on 5044)."),
    kibana: z
      .strictObject({
        enabled: z.boolean().default(false).describe("Run Kibana on the Logstash host (5601, reachable from the bastion only: use an SSH tunnel)."),
      })
      .prefault({})
      .describe("Optional Kibana."),
  })
  .superRefine((c, ctx) => {
    const typed = [
      [["masters", "instanceType"], c.masters.instanceType, ES_MIN_MEMORY_GIB],
      [["data", "instanceType"], c.data.instanceType, ES_MIN_MEMORY_GIB],
      [["logstash", "instanceType"], c.logstash.instanceType, 2],
    ] as const;
    for (const [path, t, minGiB] of typed) {
      if (!isKnownInstanceType(t)) {
        ctx.addIssue({ code: "custom", path: [...path], input: t, message: `is not in the memory table the heap is computed from; allowed: ${describeSupportedTypes()}` });
      } else if (INSTANCE_TYPES[t].memoryGiB < minGiB) {
        ctx.addIssue({ code: "custom", path: [...path], input: t, message: `has ${INSTANCE_TYPES[t].memoryGiB} GiB; at least ${minGiB} GiB is needed (allowed: t3.small or larger)` });
      }
    }
    if (c.masters.count === 2) {
      ctx.addIssue({ code: "custom", path: ["masters", "count"], input: 2, message: "2 master-eligible nodes cannot survive losing either one (quorum is 2); use 3 (HA) or 1 (dev only)" });
    }
    if (c.index.replicas > c.data.count - 1) {
      ctx.addIssue({
        code: "custom", path: ["index", "replicas"], input: c.index.replicas,
        message: `needs ${c.index.replicas + 1} data nodes to place every copy but data.count is ${c.data.count}; allowed: 0..${c.data.count - 1}`,
      });
    }
    if (c.logstash.queueType === "persisted" && c.logstash.queueMaxGb > c.logstash.volumeSizeGb * 0.8) {
      ctx.addIssue({ code: "custom", path: ["logstash", "queueMaxGb"], input: c.logstash.queueMaxGb, message: `must fit on the ${c.logstash.volumeSizeGb} GiB volume with headroom; allowed: at most ${Math.floor(c.logstash.volumeSizeGb * 0.8)}` });
    }
    const workers = c.logstash.workers ?? (isKnownInstanceType(c.logstash.instanceType) ? INSTANCE_TYPES[c.logstash.instanceType].vcpus : undefined);
    const inFlight = workers === undefined ? undefined : logstashInFlightProblem(workers, c.logstash.batchSize);
    if (inFlight) {
      const source = c.logstash.workers !== undefined ? "logstash.workers" : `the ${c.logstash.instanceType}'s vCPUs (logstash.workers default)`;
      ctx.addIssue({ code: "custom", path: ["logstash", "batchSize"], input: c.logstash.batchSize, message: `${inFlight} (workers from ${source})` });
    }
    if (c.logstash.heapMb !== undefined && isKnownInstanceType(c.logstash.instanceType)) {
      const maxMb = Math.floor(INSTANCE_TYPES[c.logstash.instanceType].memoryGiB * 1024 * 0.75);
      if (c.logstash.heapMb > maxMb) {
        ctx.addIssue({ code: "custom", path: ["logstash", "heapMb"], input: c.logstash.heapMb, message: `leaves too little memory on ${c.logstash.instanceType}; allowed: at most ${maxMb} (75 % of memory)` });
      }
    }
  });

export type ElkConfig = z.infer<typeof elkConfigSchema>;
