/**
 * The Lambda entry as AWS runs it: module init from environment variables, real Powertools Logger
 * and Metrics (JSON logs + CloudWatch EMF on stdout) — once from source and once from the esbuild
 * bundle the component deploys.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { FLEET_ID, scenarioAccount, TG_ARN } from "./testing/scenario";
import type * as Ec2 from "@aws-sdk/client-ec2";
import type * as Asg from "@aws-sdk/client-auto-scaling";
import type * as Elb from "@aws-sdk/client-elastic-load-balancing-v2";
import type * as MockClients from "./testing/mock-clients";
import type * as Handler from "./handler";
import { bundleReconciler } from "../../components/spot-failover/bundle";
import { QUEUE_ARN, sqsDelivery } from "./testing/sqs";

const FIXTURES = path.join(__dirname, "../../test/fixtures/aws-events");
const ENV = {
  SPOT_SOURCE: "fleet", SPOT_FLEET_REQUEST_ID: FLEET_ID, ON_DEMAND_ASG_NAME: "web-ondemand", TARGET_GROUP_ARN: TG_ARN,
  AWS_REGION: "us-east-2", TARGET_CAPACITY: "2", RECONCILE_QUEUE_ARN: QUEUE_ARN, STABILIZATION_SECONDS: "600", POWERTOOLS_SERVICE_NAME: "spot-reconciler", POWERTOOLS_METRICS_NAMESPACE: "Opsfleet/SpotFailover",
};
const savedEnv = { ...process.env };
let lines: string[] = [];
let restoreMocks: (() => void) | undefined;

beforeEach(() => {
  jest.resetModules();
  process.env = { ...savedEnv, ...ENV };
  delete process.env.POWERTOOLS_DEV;
  lines = [];
  jest.spyOn(process.stdout, "write").mockImplementation((chunk: any) => { lines.push(...String(chunk).split("\n").filter(Boolean)); return true; });
  jest.spyOn(process.stderr, "write").mockImplementation((chunk: any) => { lines.push(...String(chunk).split("\n").filter(Boolean)); return true; });
  jest.spyOn(console, "log").mockImplementation((...a: any[]) => { lines.push(a.join(" ")); });
  jest.spyOn(console, "info").mockImplementation((...a: any[]) => { lines.push(a.join(" ")); });
  jest.spyOn(console, "warn").mockImplementation((...a: any[]) => { lines.push(a.join(" ")); });
});
afterEach(() => {
  jest.restoreAllMocks();
  restoreMocks?.();
  process.env = savedEnv;
});

async function runInterruption(handler: (e: unknown) => Promise<any>) {
  // Same module registry as the handler (jest.resetModules): the SDK classes must be the handler's.
  const { EC2Client } = require("@aws-sdk/client-ec2") as typeof Ec2;
  const { AutoScalingClient } = require("@aws-sdk/client-auto-scaling") as typeof Asg;
  const { ElasticLoadBalancingV2Client } = require("@aws-sdk/client-elastic-load-balancing-v2") as typeof Elb;
  const { wireFakeAccount } = require("./testing/mock-clients") as typeof MockClients;
  const account = scenarioAccount("fleet");
  restoreMocks = wireFakeAccount(account, { ec2: EC2Client, autoscaling: AutoScalingClient, elbv2: ElasticLoadBalancingV2Client }).restore;
  const event = JSON.parse(fs.readFileSync(path.join(FIXTURES, "spot-interruption-warning.json"), "utf8"));
  event.time = new Date(Date.now() - 30_000).toISOString();
  const result = await handler(sqsDelivery(event));
  return { account, result: result[0] };
}

function expectLogsAndMetrics() {
  const json = lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const decision = json.find((j) => j.message === "reconciled");
  expect(decision).toMatchObject({ level: "WARN", service: "spot-reconciler", reason: expect.stringMatching(/^scale-up/), onDemandWanted: 1 });
  const emf = json.find((j) => j._aws);
  expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: "Opsfleet/SpotFailover" });
  expect(emf).toMatchObject({ SpotHealthyCapacity: 1, OnDemandDesiredCapacity: 1, OnDemandAsg: "web-ondemand" });
}

test("handler.ts: reads its configuration at init and reconciles with Powertools logs and EMF metrics", async () => {
  const { handler } = require("./handler") as typeof Handler;
  const { account, result } = await runInterruption(handler);
  expect(result.decision.action).toEqual({ kind: "set-on-demand-desired", from: 0, to: 1 });
  expect(account.groups.get("web-ondemand")!.desired).toBe(1);
  expectLogsAndMetrics();
});

test("handler.ts: an EventBridge event delivered directly (not through the queue) is logged and ignored, no AWS call", async () => {
  const { handler } = require("./handler") as typeof Handler;
  const { wireFakeAccount } = require("./testing/mock-clients") as typeof MockClients;
  const account = scenarioAccount("fleet");
  restoreMocks = wireFakeAccount(account, { ec2: require("@aws-sdk/client-ec2").EC2Client, autoscaling: require("@aws-sdk/client-auto-scaling").AutoScalingClient, elbv2: require("@aws-sdk/client-elastic-load-balancing-v2").ElasticLoadBalancingV2Client }).restore;
  const event = JSON.parse(fs.readFileSync(path.join(FIXTURES, "spot-interruption-warning.json"), "utf8"));
  expect(await handler(event)).toEqual([]);
  expect(account.calls).toEqual([]);
  expect(lines.map((l) => (l.startsWith("{") ? JSON.parse(l) : {})).find((j) => j.message === "ignoring malformed message")).toMatchObject({ level: "WARN", why: expect.stringContaining("not an SQS batch") });
});

test("handler.ts: a bad environment fails the init, naming the variable", () => {
  process.env.TARGET_CAPACITY = "lots";
  expect(() => require("./handler")).toThrow('TARGET_CAPACITY must be an integer >= 1 (got "lots")');
});

test("the esbuild bundle the component deploys behaves like the source (fresh Node process)", () => {
  // Inside the project so the bundle's external @aws-sdk/* imports resolve as from the Lambda runtime's SDK.
  const dir = path.join(__dirname, "../../node_modules/.cache/spot-reconciler-bundle-test");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "index.js");
  fs.writeFileSync(file, bundleReconciler());
  const run = spawnSync(process.execPath, [require.resolve("tsx/cli"), path.join(__dirname, "testing/run-bundle.ts"), file, path.join(FIXTURES, "spot-interruption-warning.json")], {
    env: { ...savedEnv, ...ENV, POWERTOOLS_DEV: "" }, encoding: "utf8", timeout: 60_000,
  });
  expect(run.status).toBe(0);
  // Powertools writes WARN/ERROR to stderr, like console.warn in Lambda.
  lines = [...run.stdout.split("\n"), ...run.stderr.split("\n")].filter(Boolean);
  const result = JSON.parse(lines.find((l) => l.startsWith("RESULT "))!.slice(7))[0];
  expect(result.decision.action).toEqual({ kind: "set-on-demand-desired", from: 0, to: 1 });
  expectLogsAndMetrics();
});
