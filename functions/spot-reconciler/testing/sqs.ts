/**
 * Wraps EventBridge events the way EventBridge → SQS FIFO (content-based deduplication, one message
 * group) → Lambda delivers them (test helper; the shape is checked against
 * test/fixtures/sqs-events/fifo-message.json).
 */
import { createHash } from "node:crypto";

export const QUEUE_ARN = "arn:aws:sqs:us-east-2:123456789012:web-reconcile.fifo";
export const MESSAGE_GROUP = "reconcile";

let sequence = 18849496460467696128n;

/** SQS's content-based deduplication id: SHA-256 of the body. */
export const contentDedupId = (body: string) => createHash("sha256").update(body).digest("hex");

export function sqsRecord(event: unknown, o: { queueArn?: string; body?: string; receiveCount?: number } = {}) {
  const body = o.body ?? JSON.stringify(event);
  const sent = String(Date.parse("2026-03-01T10:00:00Z"));
  sequence += 1n;
  return {
    messageId: `${contentDedupId(body).slice(0, 8)}-4cc7-4302-9e22-${String(sequence).slice(-12)}`,
    receiptHandle: "AQEBBX8nesZEXmkhsmZeyIE8iQAMig7qw...",
    body,
    attributes: {
      ApproximateReceiveCount: String(o.receiveCount ?? 1),
      SentTimestamp: sent,
      SequenceNumber: String(sequence),
      MessageGroupId: MESSAGE_GROUP,
      SenderId: "AIDAIO23YVJENQZJOL4VO",
      MessageDeduplicationId: contentDedupId(body),
      ApproximateFirstReceiveTimestamp: sent,
    },
    messageAttributes: {},
    md5OfBody: createHash("md5").update(body).digest("hex"),
    eventSource: "aws:sqs",
    eventSourceARN: o.queueArn ?? QUEUE_ARN,
    awsRegion: "us-east-2",
  };
}

/** One invocation of the event source mapping (batch size 1). */
export const sqsDelivery = (event: unknown, o: Parameters<typeof sqsRecord>[1] = {}) => ({ Records: [sqsRecord(event, o)] });
