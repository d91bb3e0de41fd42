/**
 * A small, readable account for handler tests: a Spot Fleet (or Spot ASG) of healthy instances that
 * match the ids in test/fixtures/aws-events, an empty on-demand ASG, and foreign instances around.
 */
import type { ReconcilerConfig } from "../config";
import type { LogSink, MetricSink } from "../reconcile";
import { FakeAccount } from "./fake-account";

export const FLEET_ID = "sfr-c8a764a4-bedc-4b62-af9c-0095e6e3ba61";
export const TG_ARN = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/web/0123456789abcdef";
/** Spot instance ids used by the fixtures (interruption warning, fleet instance change). */
export const SPOT_IDS = ["i-1234567890abcdef0", "i-08b90df1e09c30c9b"];

export function scenarioConfig(source: "fleet" | "asg", over: Partial<ReconcilerConfig> = {}): ReconcilerConfig {
  return {
    spotSource: source,
    ...(source === "fleet" ? { spotFleetRequestId: FLEET_ID } : { spotAsgName: "web-spot" }),
    onDemandAsgName: "web-ondemand",
    targetGroupArn: TG_ARN,
    targetCapacity: 2,
    stabilizationSeconds: 600,
    rebalanceCountsAsLost: false,
    maxHintAgeSeconds: 180,
    ...over,
  };
}

/** Two healthy spot instances (SPOT_IDS), on-demand ASG at 0/0..2, `foreign` unrelated running instances. */
export function scenarioAccount(source: "fleet" | "asg", foreign = 3): FakeAccount {
  const a = new FakeAccount(TG_ARN);
  for (const id of SPOT_IDS) {
    const inst = a.addInstance({ spot: true, id });
    // what the fleet / the ASG tags its instances with at launch (kept after they leave it)
    inst.tags = new Map([source === "fleet" ? ["aws:ec2spot:fleet-request-id", FLEET_ID] : ["aws:autoscaling:groupName", "web-spot"]]);
    a.targetHealth.set(id, "healthy");
  }
  for (let i = 0; i < foreign; i++) a.addInstance({ spot: i % 2 === 0 });
  a.addGroup({ name: "web-ondemand", desired: 0, max: 2 });
  if (source === "fleet") a.fleet = { id: FLEET_ID, state: "active", activity: "fulfilled", target: 2, active: [...SPOT_IDS] };
  else a.addGroup({ name: "web-spot", desired: 2, max: 2, instances: SPOT_IDS.map((id) => ({ id, lifecycle: "InService" })), lastActivity: "Successful" });
  return a;
}

export interface LogEntry { level: "info" | "warn" | "error"; message: string; fields: Record<string, any> }

/** Logger and metrics that record what the reconciler emits. */
export function recordingSinks() {
  const logs: LogEntry[] = [];
  const metrics: Record<string, number>[] = [];
  let pending: Record<string, number> = {};
  const log = (level: LogEntry["level"]) => (message: any, ...extra: any[]) => { logs.push({ level, message, fields: Object.assign({}, ...extra) }); };
  const logger = { info: log("info"), warn: log("warn"), error: log("error") } as unknown as LogSink;
  const metricSink: MetricSink = {
    addMetric: (name, _unit, value) => { pending[name] = value; },
    publishStoredMetrics: () => { metrics.push(pending); pending = {}; },
  };
  return { logs, metrics, logger, metricSink };
}
