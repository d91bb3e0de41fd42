/**
 * Single-writer reconciles without reserved concurrency (accounts with the default Lambda quota of 10
 * cannot reserve any: "…decreases account's UnreservedConcurrentExecution below its minimum value of [10]"):
 * EventBridge rules → one SQS FIFO queue, every event in ONE message group → the Lambda through an event
 * source mapping with batch size 1. SQS hands out the next message of a group only after the previous
 * one is deleted (processed) or has failed, so at most one reconcile runs at a time — AutoSpotting's design.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** Every event goes to this one message group: that is what serializes the reconciles. */
export const MESSAGE_GROUP_ID = "reconcile";
/** Lambda timeout of the reconciler (seconds); a reconcile takes well under a second. */
export const RECONCILER_TIMEOUT_SECONDS = 30;
/**
 * Visibility timeout of the wake-up queue: AWS advises at least 6 × the function timeout for an SQS
 * event source (retries of throttled invocations happen within it; CreateEventSourceMapping refuses
 * less than 1 ×). A failed message holds its group that long; the schedule reconciles after it anyway.
 */
export const VISIBILITY_TIMEOUT_SECONDS = 6 * RECONCILER_TIMEOUT_SECONDS;
/** Deliveries of one message before it moves to the queue's dead-letter queue. */
export const MAX_RECEIVE_COUNT = 3;

/**
 * Retention of the wake-up queue: `maxEventAgeSeconds` (older wake-ups are worth nothing), but at least
 * long enough for a failing message to be received MAX_RECEIVE_COUNT times and reach the dead-letter
 * queue — a shorter retention would let failures expire silently instead of showing up in the DLQ.
 */
export function wakeUpRetentionSeconds(maxEventAgeSeconds: number): number {
  return Math.max(maxEventAgeSeconds, MAX_RECEIVE_COUNT * VISIBILITY_TIMEOUT_SECONDS);
}

/**
 * FIFO queue names must end in `.fifo` (<= 80 characters, letters, digits, - and _) and be unique per
 * account and region. Named explicitly (not autonamed) so the suffix does not depend on provider
 * autonaming. Readable part: `<component>-<role>`, cut to fit; uniqueness comes from the hash of
 * everything that tells two queues apart — organization, project, stack, component AND role (a long
 * component name cuts the role off the readable part: the queue and its DLQ must still differ).
 */
export function fifoQueueName(component: string, role: string, project = pulumi.getProject(), stack = pulumi.getStack(), organization = currentOrganization()): string {
  const hash = createHash("sha256").update(JSON.stringify([organization, project, stack, component, role])).digest("hex").slice(0, 12);
  const base = `${component}-${role}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 80 - ".fifo".length - hash.length - 1);
  return `${base}-${hash}.fifo`;
}

/** The Pulumi organization of the stack ("organization" on a self-managed backend), or "" where the engine does not say. */
function currentOrganization(): string {
  try {
    return pulumi.getOrganization();
  } catch {
    return "";
  }
}

export interface WakeUpQueue {
  queue: aws.sqs.Queue;
  deadLetterQueue: aws.sqs.Queue;
}

/** The FIFO wake-up queue and its FIFO dead-letter queue (a FIFO queue's DLQ must be FIFO), both encrypted (SSE-SQS). */
export function wakeUpQueue(name: string, o: { /** maxEventAgeSeconds (see wakeUpRetentionSeconds) */ retentionSeconds: number; tags: Record<string, string>; parent: pulumi.Resource }): WakeUpQueue {
  const deadLetterQueue = new aws.sqs.Queue(`${name}-reconcile-dlq`, {
    name: fifoQueueName(name, "reconcile-dlq"), fifoQueue: true, sqsManagedSseEnabled: true, messageRetentionSeconds: 14 * 86400, tags: o.tags,
  }, { parent: o.parent });
  const queue = new aws.sqs.Queue(`${name}-reconcile`, {
    name: fifoQueueName(name, "reconcile"),
    fifoQueue: true,
    // SHA-256 of the body: EventBridge gives every event (each minute's schedule too) its own id and
    // time, so only a duplicate delivery of one event is dropped — never a needed reconcile.
    contentBasedDeduplication: true,
    deduplicationScope: "queue",
    fifoThroughputLimit: "perQueue",
    sqsManagedSseEnabled: true,
    visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
    messageRetentionSeconds: wakeUpRetentionSeconds(o.retentionSeconds),
    redrivePolicy: deadLetterQueue.arn.apply((deadLetterTargetArn) => JSON.stringify({ deadLetterTargetArn, maxReceiveCount: MAX_RECEIVE_COUNT })),
    tags: o.tags,
  }, { parent: o.parent });
  return { queue, deadLetterQueue };
}
