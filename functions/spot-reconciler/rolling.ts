/**
 * Rolling replacement of Spot Fleet instances after a launch-template change, and the health-check
 * path switch that follows it. Pure (decide.ts calls it); one write per reconcile like everything else.
 *
 * A Spot Fleet request names the template's "$Default" version, so a template change replaces nothing
 * and new fleet instances use the new version — but running ones stay on the old one. The reconciler
 * rolls them while the tier is steady on Spot (no failover in progress, fleet fulfilled):
 *   1. surge: ask the fleet for target + 1 while any member is outdated (spotRequested);
 *   2. retire one outdated member at a time, and only while the others cover the target:
 *      deregister it from the target group (connections drain), then terminate it once it left the
 *      target group; the fleet (maintain) launches a replacement on the new version;
 *   3. once the last outdated member has drained, the fleet is asked for the target again; with
 *      `NoTermination` it keeps the drained member, which is then terminated as surplus (no relaunch).
 *      Any other surplus (e.g. an operator raised the fleet's target) is retired the same graceful way.
 * Healthy capacity never drops below the target for the roll's sake: a healthy member is deregistered
 * only when healthy capacity without it still covers the target.
 *
 * Health-check path: the target group's path is not a Pulumi-managed input after creation. New
 * instances serve both the path the target group checks now and the configured one; once no instance
 * of either group is outdated, the reconciler points the target group at the configured path.
 */
import type { Action, DecideSettings, Observation, SpotMember } from "./decide";

export interface Step { action: Action; reason: string }

const live = (o: Observation) => o.spot.members.filter((m) => !m.reclaimReason);
const outdatedLive = (o: Observation) => live(o).filter((m) => m.outdated);

const notRegistered = (m: SpotMember) => m.targetHealth === undefined || m.targetHealth === "unused";
/** Drained by the reconciler itself (tagged when deregistered) and out of the target group: safe to terminate. */
const drained = (m: SpotMember) => !!m.retiring && notRegistered(m);

/**
 * Capacity the spot source should be asked for: the target, plus one while an outdated member is
 * still in the target group. Once the last one has drained the surge ends; the fleet (NoTermination)
 * keeps it until it is terminated as surplus, so no replacement is launched for it.
 */
export function spotRequested(o: Observation, target: number): number {
  return target + (outdatedLive(o).some((m) => !notRegistered(m)) ? 1 : 0);
}

/** Retire outdated members first, then those not serving, then by id (deterministic). */
const byCost = (a: SpotMember, b: SpotMember) =>
  Number(!a.outdated) - Number(!b.outdated) || Number(a.healthy) - Number(b.healthy) || a.instanceId.localeCompare(b.instanceId);

/**
 * A retired member that has left the target group serves nothing: terminate it whatever else is going
 * on (a failover may have started while it drained; keeping it would hold the fleet's slot forever).
 */
export function drainedStep(o: Observation, s: DecideSettings): Step | undefined {
  if (!s.rollSpot) return undefined;
  const members = live(o);
  const surplus = members.length - o.spot.requested;
  const x = (surplus > 0 ? members : outdatedLive(o)).slice().sort(byCost).find(drained);
  if (!x || (!x.outdated && surplus <= 0)) return undefined;
  return { action: { kind: "retire-terminate", instanceId: x.instanceId }, reason: `rolling: terminate ${x.instanceId}, ${x.outdated ? "outdated" : "surplus"}, out of the target group` };
}

export function rollingStep(o: Observation, s: DecideSettings): Step | undefined {
  if (!s.rollSpot || o.spot.state !== "steady") return undefined;
  const members = live(o);
  const draining = members.find((m) => m.targetHealth === "draining");
  if (draining) return { action: { kind: "none" }, reason: `rolling: waiting for ${draining.instanceId} to drain` };
  const outdated = outdatedLive(o);
  const surplus = members.length - o.spot.requested;
  const candidates = (surplus > 0 ? members : outdated).slice().sort(byCost);
  const x = candidates[0];
  if (!x) return undefined;
  const why = x.outdated ? `outdated (${outdated.length} left)` : `surplus (${surplus} over ${o.spot.requested})`;
  if (drained(x)) return { action: { kind: "retire-terminate", instanceId: x.instanceId }, reason: `rolling: terminate ${x.instanceId}, ${why}, out of the target group` };
  const covering = members.filter((m) => m.healthy).length;
  if (x.healthy && covering - 1 < s.targetCapacity)
    return { action: { kind: "none" }, reason: `rolling: waiting for a healthy replacement before retiring ${x.instanceId} (${covering} healthy, target ${s.targetCapacity})` };
  return { action: { kind: "retire-deregister", instanceId: x.instanceId }, reason: `rolling: deregister ${x.instanceId}, ${why}` };
}

export function healthPathStep(o: Observation, s: DecideSettings): Step | undefined {
  const now = o.targetGroup?.healthCheckPath;
  if (s.healthCheckPath === undefined || now === undefined || now === s.healthCheckPath) return undefined;
  // This reconciler's path may already be superseded: the new template serves the configured path of
  // the `up` in progress and the path checked now — not necessarily this one.
  if (o.deployInProgress !== undefined)
    return { action: { kind: "none" }, reason: `health path: not switching to ${s.healthCheckPath}: a deploy is in progress (${o.deployInProgress})` };
  const outdated = o.spot.members.filter((m) => m.outdated).length + (o.onDemand.outdated ?? 0);
  const covering = o.spot.members.filter((m) => m.healthy && !m.reclaimReason).length;
  if (outdated > 0 || covering < s.targetCapacity || o.spot.state !== "steady")
    return { action: { kind: "none" }, reason: `health path: waiting for the roll (${outdated} outdated, ${covering}/${s.targetCapacity} healthy) before checking ${s.healthCheckPath}` };
  return { action: { kind: "set-health-check-path", from: now, to: s.healthCheckPath }, reason: "health path: every instance serves the new path" };
}
