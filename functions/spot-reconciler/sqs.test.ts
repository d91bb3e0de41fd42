/**
 * Delivery through EventBridge → SQS FIFO → Lambda (issue 9 item 2): every EventBridge fixture wrapped
 * the way SQS delivers it gives the same outcome as the event itself; malformed or foreign messages are
 * logged and ignored without a single AWS call; content-based deduplication only drops true duplicates.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createReconciler } from "./reconcile";
import { createSqsHandler, unwrapSqs } from "./sqs";
import { WRITE_COMMANDS } from "./testing/fake-account";
import { fakeClients } from "./testing/mock-clients";
import { recordingSinks, scenarioAccount, scenarioConfig } from "./testing/scenario";
import { callsBeforeIgnoring, EXPECTED, fixture } from "./testing/fixtures";
import { contentDedupId, QUEUE_ARN, sqsDelivery, sqsRecord } from "./testing/sqs";

const SAMPLE = JSON.parse(fs.readFileSync(path.join(__dirname, "../../test/fixtures/sqs-events/fifo-message.json"), "utf8"));
const NOW = Date.parse("2026-03-01T10:01:00Z");

let restore: (() => void) | undefined;
afterEach(() => restore?.());

function setup(source: "fleet" | "asg") {
  const account = scenarioAccount(source);
  const { clients, restore: r } = fakeClients(account);
  restore = r;
  const sinks = recordingSinks();
  const config = scenarioConfig(source, { queueArn: QUEUE_ARN });
  const reconcile = createReconciler({ clients, config, logger: sinks.logger, metrics: sinks.metricSink, now: () => NOW });
  const handler = createSqsHandler({ reconcile, logger: sinks.logger, metrics: sinks.metricSink, queueArn: config.queueArn });
  return { account, handler, ...sinks };
}

test("the test wrapper has the shape of the documented SQS FIFO event (same keys, attributes, event source)", () => {
  const ours = sqsRecord({ hello: 1 });
  const doc = SAMPLE.Records[0];
  expect(Object.keys(ours).sort()).toEqual(Object.keys(doc).sort());
  expect(Object.keys(ours.attributes).sort()).toEqual(Object.keys(doc.attributes).sort());
  expect(ours.eventSource).toBe(doc.eventSource);
  expect(ours.eventSourceARN).toMatch(/\.fifo$/);
  expect(JSON.parse(ours.body)).toEqual({ hello: 1 });
});

test("the documented sample itself (a body that is no EventBridge event) is logged and ignored", async () => {
  const { account, handler, logs } = setup("fleet");
  const out = await handler({ Records: [{ ...SAMPLE.Records[0], eventSourceARN: QUEUE_ARN }] });
  expect(out).toEqual([{ messageId: "11d6ee51-4cc7-4302-9e22-7cd8afdaadf5", ignored: "malformed", why: expect.stringContaining("not JSON") }]);
  expect(account.calls).toEqual([]);
  expect(logs[0]).toMatchObject({ level: "warn", message: "ignoring malformed message", fields: { messageId: "11d6ee51-4cc7-4302-9e22-7cd8afdaadf5" } });
});

describe.each(["fleet", "asg"] as const)("every EventBridge fixture delivered through the FIFO queue (spot source %s)", (source) => {
  test.each(Object.keys(EXPECTED))("%s", async (name) => {
    const { account, handler } = setup(source);
    const [r] = await handler(sqsDelivery(fixture(name)));
    const expected = EXPECTED[name][source];
    const writes = account.calls.filter((c) => WRITE_COMMANDS.has(c.command));
    if (expected === "malformed" || expected === "foreign") {
      expect(r).toMatchObject({ reconciled: false, ignored: expected });
      expect(account.calls).toEqual(callsBeforeIgnoring(name)); // at most one call, scoped by the instance id
    } else if (expected === "none") {
      expect(r).toMatchObject({ reconciled: true, decision: { action: { kind: "none" } } });
      expect(writes).toEqual([]);
    } else {
      expect(r).toMatchObject({ reconciled: true, decision: { action: { kind: "set-on-demand-desired", from: 0, to: 1 } } });
      expect(writes).toHaveLength(1);
    }
  });
});

describe("malformed and foreign deliveries: logged, ignored, no AWS call, never a throw (no poison message)", () => {
  test.each<[string, unknown, RegExp]>([
    ["a direct EventBridge event", fixture("scheduled-reconcile.json"), /not an SQS batch/],
    ["null", null, /not an SQS batch/],
    ["an array", [], /not an SQS batch/],
    ["Records not a list", { Records: "x" }, /not an SQS batch/],
  ])("%s", async (_what, event, why) => {
    const { account, handler, logs, metrics } = setup("fleet");
    expect(await handler(event)).toEqual([]);
    expect(account.calls).toEqual([]);
    expect(logs).toEqual([expect.objectContaining({ level: "warn", fields: { why: expect.stringMatching(why) } })]);
    expect(metrics).toEqual([{ MalformedEvents: 1 }]);
  });
  test.each<[string, object, "malformed" | "foreign", RegExp]>([
    ["body not JSON", { body: "{oops" }, "malformed", /not JSON/],
    ["body JSON but no event", { body: "[1,2]" }, "malformed", /event is object|expected an object|missing/],
    ["another queue", { queueArn: "arn:aws:sqs:us-east-2:123456789012:other.fifo" }, "foreign", /not arn:aws:sqs/],
  ])("%s", async (_what, o, kind, why) => {
    const { account, handler } = setup("fleet");
    const [r] = await handler(sqsDelivery(fixture("spot-interruption-warning.json"), o));
    expect(r).toMatchObject({ ignored: kind, why: expect.stringMatching(why) });
    expect(account.calls).toEqual([]);
  });
  test("a record that is not from SQS", () => {
    expect(unwrapSqs({ Records: [{ ...sqsRecord({}), eventSource: "aws:kinesis" }] }).records[0]).toMatchObject({ ignored: "malformed", why: expect.stringContaining("aws:kinesis") });
  });
});

test("a failed reconcile throws, so SQS redelivers the message (then its dead-letter queue)", async () => {
  const { account, handler } = setup("fleet");
  account.SetDesiredCapacity = () => { throw new Error("Throttling: Rate exceeded"); };
  await expect(handler(sqsDelivery(fixture("spot-interruption-warning.json")))).rejects.toThrow("Rate exceeded");
});

describe("content-based deduplication only drops true duplicates", () => {
  const scheduled = (minute: number, id: string) => ({ ...(fixture("scheduled-reconcile.json") as object), id, time: `2026-03-01T10:0${minute}:00Z` });
  test("each minute's scheduled event is a new message (EventBridge gives each a new id and time): the schedule reconciles every minute", () => {
    const ids = [0, 1, 2, 3, 4].map((m) => contentDedupId(JSON.stringify(scheduled(m, `53dc4d37-cffa-4f76-80c9-8b7d4a4d2ea${m}`))));
    expect(new Set(ids).size).toBe(5);
  });
  test("a duplicate delivery of one event (same id, same body) is dropped: harmless, the reconciler is level-triggered", () => {
    const e = JSON.stringify(fixture("spot-interruption-warning.json"));
    expect(contentDedupId(e)).toBe(contentDedupId(JSON.stringify(JSON.parse(e))));
  });
});
