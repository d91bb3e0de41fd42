/**
 * One reconcile: classify the wake-up, observe → decide → act, log the decision, emit metrics.
 * Dependencies are injected so tests and the simulation drive the very code the Lambda runs.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { ReconcilerConfig } from "./config";
import { assessSpotMembers, decide, Decision, deployAhead, EventHints, Observation } from "./decide";
import { classifyEvent, instanceOwnership, WakeUp } from "./events";
import { act } from "./act";
import { AwsClients, instanceTags, observe } from "./observe";

/** How many instance ids seen in the tier's groups a warm reconciler remembers (ids are never reused). */
const KNOWN_IDS = 1000;

/** The parts of Powertools Logger / Metrics the reconciler uses (both classes satisfy these). */
export type LogSink = Pick<Logger, "info" | "warn" | "error">;
export interface MetricSink {
  addMetric(name: string, unit: "Count", value: number): unknown;
  publishStoredMetrics(): void;
}

export interface ReconcilerDeps {
  clients: AwsClients;
  config: ReconcilerConfig;
  logger: LogSink;
  metrics: MetricSink;
  now?: () => number;
}

export type ReconcileResult =
  | { reconciled: false; ignored: "malformed" | "foreign"; why: string }
  | { reconciled: true; wakeUp: WakeUp["kind"]; decision: Decision };

export function createReconciler(deps: ReconcilerDeps): (event: unknown) => Promise<ReconcileResult> {
  const { clients, config, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const scope = {
    spotFleetRequestId: config.spotFleetRequestId, spotAsgName: config.spotAsgName, onDemandAsgName: config.onDemandAsgName,
    ...(config.launchTemplateId ? { launchTemplateId: config.launchTemplateId } : {}),
  };
  // Instances seen in the tier's groups by earlier reconciles of this (warm) Lambda: their events need no ownership check.
  const known = new Set<string>();
  const remember = (ids: string[]) => {
    for (const id of ids) { known.delete(id); known.add(id); }
    for (const id of known) { if (known.size <= KNOWN_IDS) break; known.delete(id); }
  };
  const ignore = (kind: "malformed" | "foreign", why: string, event: unknown): ReconcileResult => {
    // A bad or unrelated event is no reason to act; the 1-minute schedule keeps the tier reconciled.
    (kind === "malformed" ? logger.warn : logger.info).call(logger, `ignoring ${kind} event`, { why, eventId: idOf(event) });
    metrics.addMetric(kind === "malformed" ? "MalformedEvents" : "ForeignEvents", "Count", 1);
    metrics.publishStoredMetrics();
    return { reconciled: false, ignored: kind, why };
  };

  return async (event) => {
    const wake = classifyEvent(event, scope);
    if (wake.kind === "malformed") return ignore("malformed", wake.problem, event);
    if (wake.kind === "foreign") return ignore("foreign", wake.why, event);
    // Instance events fire for every instance of the account: one scoped call decides whether it is
    // ours before the full observation (which costs ~7 calls).
    if (wake.kind === "instance" && !known.has(wake.instanceId)) {
      const own = instanceOwnership(wake.instanceId, await instanceTags(clients, wake.instanceId), scope);
      if (!own.ours) return ignore("foreign", `"${wake.detailType}": ${own.why}`, event);
    }

    const nowMs = now();
    const hints: EventHints = { interruptions: [], rebalances: [] };
    if (wake.kind === "instance" && wake.detailType !== "EC2 Instance State-change Notification") {
      const ageSeconds = (nowMs - wake.eventMs) / 1000;
      if (Math.abs(ageSeconds) > config.maxHintAgeSeconds)
        logger.info("event too old to be a hint; reconciling from observed state only", { instanceId: wake.instanceId, ageSeconds, detailType: wake.detailType });
      else if (wake.detailType === "EC2 Spot Instance Interruption Warning") hints.interruptions.push(wake.instanceId);
      else hints.rebalances.push(wake.instanceId);
    }

    const raw = await observe(clients, config);
    if (raw.spot.state === "gone")
      logger.warn("Spot Fleet request cancelled (expired at validUntil or cancelled) or no longer listed: 0 Spot capacity, on-demand covers the target; "
        + "set a later fleet.validUntil or remove it and run pulumi up to run on Spot again", { spotFleetRequestId: config.spotFleetRequestId, spotSource: raw.spot.stateDetail });
    remember([...raw.spot.facts.map((f) => f.instanceId), ...raw.onDemand.instanceIds]);
    const members = assessSpotMembers(raw.spot.facts, hints, config.rebalanceCountsAsLost, config.launchTemplateVersion);
    if (wake.kind === "instance") {
      const mine = members.some((m) => m.instanceId === wake.instanceId) || raw.onDemand.instanceIds.includes(wake.instanceId);
      if (!mine) logger.info("event names an instance outside the spot and on-demand groups; hint not used", { instanceId: wake.instanceId, detailType: wake.detailType });
    }
    const ahead = deployAhead(config.launchTemplateVersion, raw.launchTemplateLatestVersion, [...raw.spot.facts.map((f) => f.templateVersion), ...(raw.onDemand.versions ?? [])]);
    const obs: Observation = {
      nowMs, spot: { state: raw.spot.state, requested: raw.spot.requested, members }, onDemand: raw.onDemand,
      ...(raw.targetGroup ? { targetGroup: raw.targetGroup } : {}), ...(ahead ? { deployInProgress: ahead } : {}),
    };
    const decision = decide(obs, {
      targetCapacity: config.targetCapacity, stabilizationSeconds: config.stabilizationSeconds,
      rollSpot: config.spotSource === "fleet", ...(config.healthCheckPath ? { healthCheckPath: config.healthCheckPath } : {}),
    });

    const logFields = {
      wakeUp: wake.kind === "instance" ? `${wake.detailType} ${wake.instanceId}` : wake.kind,
      action: decision.action,
      reason: decision.reason,
      target: decision.target,
      spotCovering: decision.covering,
      spotReclaiming: members.filter((m) => m.reclaimReason).map((m) => `${m.instanceId}:${m.reclaimReason}`),
      spotSource: `${config.spotSource}:${raw.spot.state}(${raw.spot.stateDetail}) requested=${raw.spot.requested}`,
      onDemandDesired: decision.onDemandDesired,
      onDemandWanted: decision.onDemandWanted,
      onDemandHealthy: raw.onDemand.healthy,
      ...(members.some((m) => m.outdated) || raw.onDemand.outdated ? { outdated: members.filter((m) => m.outdated).map((m) => m.instanceId), onDemandOutdated: raw.onDemand.outdated } : {}),
      ...(decision.coveredForSeconds !== undefined ? { coveredForSeconds: decision.coveredForSeconds } : {}),
    };
    try {
      await act(clients, config, decision.action);
    } catch (err) {
      logger.error("write failed; the next reconcile retries from observed state", { ...logFields, error: String(err) });
      throw err;
    }
    // Failover / hand-back moves are WARN so they stand out; everything else (rolling too) is INFO.
    (decision.action.kind === "set-on-demand-desired" ? logger.warn : logger.info).call(logger, "reconciled", logFields);

    metrics.addMetric("TargetCapacity", "Count", decision.target);
    metrics.addMetric("SpotHealthyCapacity", "Count", decision.covering);
    metrics.addMetric("SpotReclaiming", "Count", decision.reclaiming);
    metrics.addMetric("OnDemandDesiredCapacity", "Count", decision.action.kind === "set-on-demand-desired" ? decision.action.to : decision.onDemandDesired);
    metrics.addMetric("OnDemandHealthyCapacity", "Count", raw.onDemand.healthy);
    metrics.addMetric("CapacityDeficit", "Count", Math.max(0, decision.target - decision.covering - raw.onDemand.healthy));
    metrics.addMetric("ScalingWrites", "Count", decision.action.kind === "none" ? 0 : 1);
    metrics.addMetric("SpotSourceGone", "Count", raw.spot.state === "gone" ? 1 : 0);
    metrics.publishStoredMetrics();
    return { reconciled: true, wakeUp: wake.kind, decision };
  };
}

const idOf = (e: unknown) => (typeof e === "object" && e !== null && "id" in e ? String((e as { id: unknown }).id) : undefined);
