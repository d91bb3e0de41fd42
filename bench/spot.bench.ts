/**
 * Spot reconciler figures:
 * - AWS API calls per reconcile as the account grows from 10 to 10,000 instances (must stay constant;
 *   the FakeAccount refuses any unscoped call), for both spot sources, plus a larger fleet for contrast;
 * - decision latency (pure decide()) and a whole in-process reconcile against the fake account;
 * - size and module init time of the esbuild bundle the component deploys (fresh Node process);
 * - from the seeded fault simulation: seconds below target per interruption and on-demand
 *   instance-hours relative to the ideal (an oracle with instant on-demand capacity).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { bundleReconciler } from "../components/spot-failover/bundle";
import { decide, Observation } from "../functions/spot-reconciler/decide";
import { createReconciler } from "../functions/spot-reconciler/reconcile";
import { FakeAccount } from "../functions/spot-reconciler/testing/fake-account";
import { directClients } from "../functions/spot-reconciler/testing/mock-clients";
import { scenarioAccount, scenarioConfig } from "../functions/spot-reconciler/testing/scenario";
import { randomScenario, runSimulation, SimResult } from "../functions/spot-reconciler/testing/simulation";

const ACCOUNT_SIZES = [10, 100, 1_000, 10_000];
/** What the component always sets in the Lambda's environment (health path, template version: one more read). */
const DEPLOYED = { healthCheckPath: "/health", launchTemplateVersion: "1" };
const SIM_SEQUENCES = 400;
const INIT_RUNS = 7;

const silent = { info() {}, warn() {}, error() {} } as any;
const noMetrics = { addMetric() {}, publishStoredMetrics() {} };
const schedule = { version: "0", id: "b", "detail-type": "Scheduled Event", source: "aws.events", account: "123456789012", time: "2026-03-01T10:00:00Z", region: "us-east-2", resources: [], detail: {} };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Adds `n` spot members to the scenario's spot source (to contrast fleet size with account size). */
function growFleet(a: FakeAccount, source: "fleet" | "asg", n: number) {
  for (let i = 0; i < n; i++) {
    const inst = a.addInstance({ spot: true });
    a.targetHealth.set(inst.id, "healthy");
    if (source === "fleet") a.fleet!.active.push(inst.id);
    else a.groups.get("web-spot")!.instances.push({ id: inst.id, lifecycle: "InService" });
  }
}

async function callsPerReconcile(source: "fleet" | "asg", foreign: number, extraMembers = 0) {
  const account = scenarioAccount(source, foreign);
  growFleet(account, source, extraMembers);
  const reconcile = createReconciler({ clients: directClients(account), config: scenarioConfig(source, DEPLOYED), logger: silent, metrics: noMetrics, now: () => Date.parse(schedule.time) });
  await reconcile(schedule);
  return { total: account.calls.length, byCommand: account.countCalls() };
}

function decisionLatency() {
  const members = Array.from({ length: 20 }, (_, i) => ({ instanceId: `i-${String(i).padStart(17, "0")}`, healthy: i % 7 !== 0, ...(i % 5 === 0 ? { reclaimReason: "spot-request:marked-for-termination" } : {}) }));
  const obs: Observation = { nowMs: 0, spot: { state: "steady", requested: 20, members }, onDemand: { desired: 4, max: 20, instanceIds: ["i-od1", "i-od2", "i-od3", "i-od4"] } };
  const settings = { targetCapacity: 20, stabilizationSeconds: 600 };
  for (let i = 0; i < 20_000; i++) decide(obs, settings); // warm up
  const batches: number[] = [];
  for (let b = 0; b < 20; b++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 10_000; i++) decide(obs, settings);
    batches.push(Number(process.hrtime.bigint() - t) / 1e3 / 10_000);
  }
  return { microsecondsMedian: round(median(batches), 3), microsecondsWorstBatch: round(Math.max(...batches), 3), members: 20 };
}

async function reconcileLatency() {
  const account = scenarioAccount("fleet", 1000);
  const reconcile = createReconciler({ clients: directClients(account), config: scenarioConfig("fleet", DEPLOYED), logger: silent, metrics: noMetrics, now: () => Date.parse(schedule.time) });
  for (let i = 0; i < 200; i++) await reconcile(schedule);
  const t = process.hrtime.bigint();
  for (let i = 0; i < 2000; i++) await reconcile(schedule);
  return round(Number(process.hrtime.bigint() - t) / 1e6 / 2000, 3);
}

function bundleFigures() {
  const t = process.hrtime.bigint();
  const js = bundleReconciler();
  const bundleMs = Number(process.hrtime.bigint() - t) / 1e6;
  const dir = path.join(__dirname, "../node_modules/.cache/spot-reconciler-bench");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "index.js");
  fs.writeFileSync(file, js);
  const env = { ...process.env, AWS_REGION: "us-east-2", SPOT_SOURCE: "fleet", SPOT_FLEET_REQUEST_ID: "sfr-1", ON_DEMAND_ASG_NAME: "web-od", TARGET_CAPACITY: "2",
    TARGET_GROUP_ARN: "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/web/0123456789abcdef", NODE_NO_WARNINGS: "1" };
  const probe = `const t=process.hrtime.bigint();const m=require(${JSON.stringify(file)});if(typeof m.handler!=="function")process.exit(2);process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));`;
  const inits: number[] = [];
  for (let i = 0; i < INIT_RUNS; i++) {
    const r = spawnSync(process.execPath, ["-e", probe], { env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`bundle init failed: ${r.stderr}`);
    inits.push(Number(r.stdout));
  }
  return { bytes: js.length, kib: round(js.length / 1024, 1), bundleMs: round(bundleMs, 1), moduleInitMsMedian: round(median(inits), 1), moduleInitMsRuns: inits.map((x) => round(x, 1)), awsSdk: "external (provided by the nodejs22.x runtime)" };
}

function simulationFigures(results: SimResult[]) {
  const agg = (rs: SimResult[]) => {
    const sum = (f: (r: SimResult) => number) => rs.reduce((a, r) => a + f(r), 0);
    const interruptions = sum((r) => r.interruptions);
    return {
      sequences: rs.length,
      interruptions,
      secondsBelowTargetPerInterruption: round(sum((r) => r.secondsBelowTarget) / Math.max(1, interruptions), 1),
      onDemandInstanceHours: round(sum((r) => r.onDemandInstanceSeconds) / 3600, 1),
      idealOnDemandInstanceHours: round(sum((r) => r.idealOnDemandInstanceSeconds) / 3600, 1),
      onDemandRelativeToIdeal: round(sum((r) => r.onDemandInstanceSeconds) / Math.max(1, sum((r) => r.idealOnDemandInstanceSeconds)), 2),
      writesPerReconcile: round(sum((r) => r.writes) / Math.max(1, sum((r) => r.reconciles)), 3),
      handBackSecondsMedian: median(rs.map((r) => r.handBackSeconds)),
      sequencesWithViolations: rs.filter((r) => r.violations.length).length,
    };
  };
  const byWindow: Record<string, ReturnType<typeof agg>> = {};
  for (const w of [...new Set(results.map((r) => r.scenario.windowSeconds))].sort((a, b) => a - b))
    byWindow[`window${w}s`] = agg(results.filter((r) => r.scenario.windowSeconds === w));
  return { all: agg(results), fleet: agg(results.filter((r) => r.scenario.source === "fleet")), asg: agg(results.filter((r) => r.scenario.source === "asg")), byWindow };
}

export async function run(): Promise<Record<string, unknown>> {
  const apiCalls: Record<string, Record<string, number>> = {};
  for (const source of ["fleet", "asg"] as const) {
    apiCalls[source] = {};
    for (const n of ACCOUNT_SIZES) apiCalls[source][`account${n}`] = (await callsPerReconcile(source, n)).total;
  }
  const constant = Object.values(apiCalls).every((bySize) => new Set(Object.values(bySize)).size === 1);
  const byCommand = { fleet: (await callsPerReconcile("fleet", 10_000)).byCommand, asg: (await callsPerReconcile("asg", 10_000)).byCommand };
  const fleetOf500 = { fleet: (await callsPerReconcile("fleet", 10, 500)).total, asg: (await callsPerReconcile("asg", 10, 500)).total };

  const results: SimResult[] = [];
  for (let seed = 1; seed <= SIM_SEQUENCES; seed++) results.push(await runSimulation(randomScenario(seed)));

  return {
    apiCallsPerReconcile: { ...apiCalls, constantInAccountSize: constant, byCommandAt10000: byCommand, spotMembers502ChunkedBy200: fleetOf500 },
    decisionLatency: decisionLatency(),
    inProcessReconcileMs: await reconcileLatency(),
    bundle: bundleFigures(),
    simulation: simulationFigures(results),
  };
}
