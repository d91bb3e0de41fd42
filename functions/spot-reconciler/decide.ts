/**
 * The reconciler's brain: pure functions from an observation of the account to at most ONE write.
 * No AWS SDK, no clock, no environment here — everything arrives as data, so the decision table
 * (decide.test.ts) and the fault simulation can drive it exhaustively.
 */

import { drainedStep, healthPathStep, rollingStep, spotRequested } from "./rolling";

/** Spot request status codes meaning "this instance's capacity is going away". */
const RECLAIM_STATUS_PREFIXES = ["marked-for-", "instance-terminated-", "instance-stopped-"];

/**
 * `gone`: the Spot Fleet request is cancelled (by an operator, or by AWS at its validUntil) or no
 * longer listed. It holds no capacity and takes no writes: the on-demand ASG covers the whole target.
 */
export type SpotSourceState = "steady" | "modifying" | "error" | "gone";

/** One spot instance as observed (raw facts, before judging whether it covers capacity). */
export interface SpotInstanceFacts {
  instanceId: string;
  /** EC2 instance state name (`running`, `shutting-down`, …); undefined if DescribeInstances did not return it. */
  state?: string;
  /** Spot request status code (`fulfilled`, `marked-for-termination`, …); undefined if unknown. */
  spotRequestStatus?: string;
  /** ALB target health state (`healthy`, `initial`, `draining`, …); undefined if not registered. */
  targetHealth?: string;
  /** Auto Scaling lifecycle state for the `asg` spot source (`InService`, `Terminating`, …). */
  lifecycleState?: string;
  /** Launch template version the instance was launched from (tag `aws:ec2launchtemplate:version` / ASG instance), if known. */
  templateVersion?: string;
  /** Carries RETIRING_TAG: the reconciler deregistered it to retire it. */
  retiring?: boolean;
}

/** Instance tag the reconciler writes when it deregisters an instance to retire it; only such instances are ever terminated. */
export const RETIRING_TAG = "opsfleet:retiring";

/**
 * Older than the configured version? Only a strictly older (numeric) version is: the template's default
 * may be ahead of the reconciler's configuration (a deploy in progress, a manual version), and an
 * instance on a newer version must never be rolled back — the fleet would relaunch it on that version.
 */
export function olderVersion(instance: string | undefined, configured: string | undefined): boolean {
  if (instance === undefined || configured === undefined || !/^\d+$/.test(instance) || !/^\d+$/.test(configured)) return false;
  return Number(instance) < Number(configured);
}

/** Instance ids named by fresh wake-up events (interruption warnings, rebalance recommendations). */
export interface EventHints {
  interruptions: string[];
  rebalances: string[];
}

export interface SpotMember {
  instanceId: string;
  /** Healthy in the target group and running. */
  healthy: boolean;
  /** Why its capacity is going away, if it is. */
  reclaimReason?: string;
  /** Launched from an older launch template version than the current one (never true when unknown). */
  outdated?: boolean;
  /** ALB target health state as observed (`draining` while it is being retired; undefined when not registered). */
  targetHealth?: string;
  /** The reconciler deregistered it to retire it (RETIRING_TAG). */
  retiring?: boolean;
}

/** Judge each spot instance: healthy? being reclaimed (and why)? */
export function assessSpotMembers(
  facts: SpotInstanceFacts[],
  hints: EventHints,
  rebalanceCountsAsLost: boolean,
  /** Configured launch template version; members launched from an older (known) version are outdated. */
  templateVersion?: string,
): SpotMember[] {
  const interrupted = new Set(hints.interruptions);
  const rebalanced = new Set(hints.rebalances);
  return facts.map((f) => {
    const status = f.spotRequestStatus ?? "";
    let reclaimReason: string | undefined;
    if (RECLAIM_STATUS_PREFIXES.some((p) => status.startsWith(p))) reclaimReason = `spot-request:${status}`;
    else if (interrupted.has(f.instanceId)) reclaimReason = "interruption-warning";
    else if (rebalanceCountsAsLost && rebalanced.has(f.instanceId)) reclaimReason = "rebalance-recommendation";
    else if (f.state !== undefined && f.state !== "running" && f.state !== "pending") reclaimReason = `instance:${f.state}`;
    else if (f.lifecycleState !== undefined && /^(Terminating|Detach|Standby|EnteringStandby)/.test(f.lifecycleState))
      reclaimReason = `lifecycle:${f.lifecycleState}`;
    const healthy = f.targetHealth === "healthy" && (f.state === undefined || f.state === "running");
    const outdated = olderVersion(f.templateVersion, templateVersion);
    return {
      instanceId: f.instanceId, healthy, reclaimReason, ...(outdated ? { outdated } : {}), ...(f.targetHealth !== undefined ? { targetHealth: f.targetHealth } : {}),
      ...(f.retiring ? { retiring: true } : {}),
    };
  });
}

/** Everything decide() needs, already reduced to plain values. */
export interface Observation {
  nowMs: number;
  spot: {
    state: SpotSourceState;
    /** Capacity the spot source is currently asked for (fleet target capacity / spot ASG desired). */
    requested: number;
    members: SpotMember[];
  };
  onDemand: {
    desired: number;
    max: number;
    /** Ids of every instance the on-demand ASG has (any lifecycle state). */
    instanceIds: string[];
    /** Value of the coverage tag ({@link COVERED_SINCE_TAG}) on the on-demand ASG, if present. */
    coveredTag?: string;
    /** On-demand instances launched from an older launch template version (their instance refresh is still rolling). */
    outdated?: number;
  };
  /** Health check path the target group checks now (when the reconciler is told the wanted one). */
  targetGroup?: { healthCheckPath?: string };
  /**
   * Set when the launch template or an instance is on a NEWER version than this reconciler's
   * configuration: an `up` is updating the tier and this configuration (its health path) is stale.
   */
  deployInProgress?: string;
}

/**
 * Why the tier runs ahead of the configured template version, if it does: the template's latest
 * version or an instance of the fleet / either group is newer (Lambda configuration not updated yet).
 */
export function deployAhead(configured: string | undefined, latest: string | undefined, instanceVersions: (string | undefined)[]): string | undefined {
  if (configured === undefined) return undefined;
  if (olderVersion(configured, latest)) return `launch template version ${latest} is newer than the configured ${configured}`;
  const newer = instanceVersions.filter((v) => olderVersion(configured, v));
  return newer.length ? `${newer.length} instance(s) on a template version newer than the configured ${configured}` : undefined;
}

export interface DecideSettings {
  targetCapacity: number;
  stabilizationSeconds: number;
  /**
   * The reconciler rolls the spot source's outdated instances itself and retires its surplus (Spot
   * Fleet: it never replaces running instances on a template change and, with `NoTermination`, never
   * removes surplus on its own). False for the Spot ASG: its instance refresh rolls it.
   */
  rollSpot?: boolean;
  /** Health check path the target group must check once every instance serves it (see rolling.ts). */
  healthCheckPath?: string;
}

/**
 * Tag on the on-demand ASG, written only by the reconciler: `<ISO time>|<desired>|<fingerprint>`.
 * It says "spot has covered the target at every reconcile since <time>, while the on-demand ASG
 * asked for <desired> and the covering spot + on-demand instance set had <fingerprint>". Any change
 * of desired capacity or of the instance set invalidates it, so a coverage gap between two
 * reconciles (interruption, relaunch, scale-up) can never leave a stale "covered since" behind —
 * even though a scale-up and the tag cleanup cannot share one reconcile (one write per reconcile).
 */
export const COVERED_SINCE_TAG = "opsfleet:spot-covered-since";

export type Action =
  | { kind: "none" }
  | { kind: "set-on-demand-desired"; from: number; to: number }
  | { kind: "set-spot-requested"; from: number; to: number }
  | { kind: "mark-covered"; tagValue: string }
  | { kind: "clear-covered" }
  | { kind: "retire-deregister"; instanceId: string }
  | { kind: "retire-terminate"; instanceId: string }
  | { kind: "set-health-check-path"; from: string; to: string };

export interface Decision {
  action: Action;
  /** Short machine-friendly reason, logged with every decision. */
  reason: string;
  target: number;
  /** Spot instances healthy in the target group and not being reclaimed. */
  covering: number;
  reclaiming: number;
  onDemandWanted: number;
  onDemandDesired: number;
  /** Seconds spot has covered the target (per the tag), when known. */
  coveredForSeconds?: number;
}

export const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

/** 32-bit FNV-1a, hex: a stable short fingerprint of an instance-id set (fits in a tag value). */
export function fingerprint(spotIds: string[], onDemandIds: string[]): string {
  const text = [...spotIds].sort().join(",") + "/" + [...onDemandIds].sort().join(",");
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

export function formatCoveredTag(sinceMs: number, desired: number, fp: string): string {
  return `${new Date(sinceMs).toISOString()}|${desired}|${fp}`;
}

export function parseCoveredTag(value: string | undefined): { sinceMs: number; desired: number; fp: string } | undefined {
  const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\|(\d+)\|([0-9a-f]{8})$/.exec(value ?? "");
  if (!m) return undefined;
  const sinceMs = Date.parse(m[1]);
  return Number.isFinite(sinceMs) ? { sinceMs, desired: Number(m[2]), fp: m[3] } : undefined;
}

/**
 * Level-triggered decision. Priority (one write at most):
 * 1. on-demand scale-up to cover the spot deficit — at once;
 *    then, if spot is short of the target, clearing the coverage tag (the window restarts);
 * 2. spot source asked for a capacity other than the target — set it back (unless it is modifying);
 * 3. on-demand scale-down to 0 — only when spot covered the target for the whole window and the
 *    spot source is steady;
 * 4. bookkeeping of the coverage tag.
 */
export function decide(obs: Observation, s: DecideSettings): Decision {
  const target = s.targetCapacity;
  const coveringIds = obs.spot.members.filter((m) => m.healthy && !m.reclaimReason).map((m) => m.instanceId);
  const covering = coveringIds.length;
  const reclaiming = obs.spot.members.filter((m) => m.reclaimReason).length;
  const cur = obs.onDemand.desired;
  const wanted = clamp(target - covering, 0, Math.max(0, obs.onDemand.max));
  const covered = covering >= target;
  const tag = parseCoveredTag(obs.onDemand.coveredTag);
  const base = { target, covering, reclaiming, onDemandWanted: wanted, onDemandDesired: cur };
  const out = (action: Action, reason: string, extra: Partial<Decision> = {}): Decision => ({
    action, reason, ...base, ...extra,
  });
  const clearTagOr = (reason: string) =>
    obs.onDemand.coveredTag !== undefined ? out({ kind: "clear-covered" }, `${reason}; coverage tag cleared`) : out({ kind: "none" }, reason);

  if (wanted > cur) return out({ kind: "set-on-demand-desired", from: cur, to: wanted }, "scale-up: spot below target");

  // Spot fell short: the window must restart. This beats any other write, or a later reconcile
  // could still see an unbroken "covered since" (a scale-up invalidates the tag by itself).
  if (!covered && obs.onDemand.coveredTag !== undefined) return out({ kind: "clear-covered" }, "spot below target: coverage tag cleared");

  // While outdated spot instances are rolled, the spot source runs one extra instance (surge).
  const requested = s.rollSpot ? spotRequested(obs, target) : target;
  if (obs.spot.requested !== requested && obs.spot.state !== "modifying" && obs.spot.state !== "gone")
    return out({ kind: "set-spot-requested", from: obs.spot.requested, to: requested },
      requested > target ? "rolling: one extra spot instance while outdated ones are replaced" : "spot source asked for a capacity other than the target");

  const drained = drainedStep(obs, s);
  if (drained) return out(drained.action, drained.reason);

  if (cur === wanted) {
    if (cur === 0 && obs.onDemand.coveredTag === undefined) { // steady on Spot: roll, then switch the health path
      const step = rollingStep(obs, s) ?? healthPathStep(obs, s);
      if (step) return out(step.action, step.reason);
    }
    return clearTagOr(cur === 0 ? "steady: on spot only" : "hold: on-demand covers the deficit");
  }

  // cur > wanted from here on.
  if (!covered) return clearTagOr("hold: spot back only partly, waiting for the full target");

  const fp = fingerprint(coveringIds, obs.onDemand.instanceIds);
  const tagValid = tag !== undefined && tag.desired === cur && tag.fp === fp && tag.sinceMs <= obs.nowMs;
  if (!tagValid) return out({ kind: "mark-covered", tagValue: formatCoveredTag(obs.nowMs, cur, fp) }, "spot covers the target: stabilization window starts");

  const coveredForSeconds = Math.floor((obs.nowMs - tag.sinceMs) / 1000);
  if (obs.spot.state !== "steady") return out({ kind: "none" }, `hold: spot source ${obs.spot.state}`, { coveredForSeconds });
  if (coveredForSeconds < s.stabilizationSeconds)
    return out({ kind: "none" }, `hold: stabilizing (${coveredForSeconds}s of ${s.stabilizationSeconds}s)`, { coveredForSeconds });
  return out({ kind: "set-on-demand-desired", from: cur, to: wanted }, "scale-down: spot covered the target for the whole window", { coveredForSeconds });
}
