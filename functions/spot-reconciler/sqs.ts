/**
 * The Lambda is invoked by an SQS FIFO event source mapping (batch size 1, one message group): that
 * serializes reconciles without reserved concurrency. Each message body is one EventBridge event (the
 * rules' target is the queue). Unwrap, hand each event to the reconciler; a malformed invocation or
 * message, or one from another queue, is logged and ignored (the message is consumed: the 1-minute
 * schedule keeps the tier reconciled). A failed reconcile throws, so SQS redelivers the message and
 * after `maxReceiveCount` moves it to the queue's dead-letter queue.
 */
import type { LogSink, MetricSink, ReconcileResult } from "./reconcile";

export type SqsOutcome =
  | { messageId: string; ignored: "malformed" | "foreign"; why: string }
  | ({ messageId: string } & ReconcileResult);

export interface SqsUnwrapped {
  records: ({ messageId: string; event: unknown } | { messageId: string; ignored: "malformed" | "foreign"; why: string })[];
  /** Set when the invocation itself is not an SQS batch. */
  malformed?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Pure: what the invocation carries. `queueArn`: only records from this queue are ours. */
export function unwrapSqs(raw: unknown, queueArn?: string): SqsUnwrapped {
  if (!isRecord(raw) || !Array.isArray(raw["Records"]))
    return { records: [], malformed: `not an SQS batch (expected {"Records": [...]}, got ${raw === null ? "null" : Array.isArray(raw) ? "an array" : typeof raw === "object" ? `keys ${JSON.stringify(Object.keys(raw))}` : typeof raw})` };
  const records = (raw["Records"] as unknown[]).map((r, i) => {
    if (!isRecord(r)) return { messageId: `#${i}`, ignored: "malformed" as const, why: `record ${i} is not an object` };
    const messageId = typeof r["messageId"] === "string" ? r["messageId"] : `#${i}`;
    if (r["eventSource"] !== "aws:sqs") return { messageId, ignored: "malformed" as const, why: `record eventSource ${JSON.stringify(r["eventSource"])}, expected "aws:sqs"` };
    if (queueArn !== undefined && r["eventSourceARN"] !== queueArn)
      return { messageId, ignored: "foreign" as const, why: `message from ${JSON.stringify(r["eventSourceARN"])}, not ${queueArn}` };
    const body = r["body"];
    if (typeof body !== "string") return { messageId, ignored: "malformed" as const, why: "message body is not a string" };
    try {
      return { messageId, event: JSON.parse(body) as unknown };
    } catch {
      return { messageId, ignored: "malformed" as const, why: `message body is not JSON (${body.length} bytes, starts ${JSON.stringify(body.slice(0, 40))})` };
    }
  });
  return { records };
}

export interface SqsHandlerDeps {
  reconcile: (event: unknown) => Promise<ReconcileResult>;
  logger: LogSink;
  metrics: MetricSink;
  queueArn?: string;
}

export function createSqsHandler(d: SqsHandlerDeps): (event: unknown) => Promise<SqsOutcome[]> {
  const ignore = (kind: "malformed" | "foreign", why: string, messageId?: string) => {
    (kind === "malformed" ? d.logger.warn : d.logger.info).call(d.logger, `ignoring ${kind} message`, { why, ...(messageId ? { messageId } : {}) });
    d.metrics.addMetric(kind === "malformed" ? "MalformedEvents" : "ForeignEvents", "Count", 1);
    d.metrics.publishStoredMetrics();
  };
  return async (event) => {
    const u = unwrapSqs(event, d.queueArn);
    if (u.malformed !== undefined) {
      ignore("malformed", u.malformed);
      return [];
    }
    const out: SqsOutcome[] = [];
    for (const r of u.records) { // batch size 1: one record; in order if ever more
      if ("ignored" in r) {
        ignore(r.ignored, r.why, r.messageId);
        out.push(r);
      } else out.push({ messageId: r.messageId, ...(await d.reconcile(r.event)) });
    }
    return out;
  };
}
