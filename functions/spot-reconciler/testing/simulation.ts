/**
 * Seeded fault simulation: a FakeAccount driven through time (10 s ticks) with Spot reclaims,
 * capacity outages, relaunches, health blips, fleet drift, and an EventBridge that drops,
 * duplicates, delays and reorders events, plus foreign and malformed ones. Every delivered event
 * runs the real reconciler (observe → decide → act through SDK command objects); the invariants
 * of issue 3 are checked after every reconcile. Used by simulation.test.ts and bench/spot.bench.ts.
 */
import { createReconciler } from "../reconcile";
import type { ReconcilerConfig } from "../config";
import { COVERED_SINCE_TAG } from "../decide";
import { FakeAccount, FakeInstance } from "./fake-account";
import { directClients } from "./mock-clients";

export interface SimScenario {
  seed: number;
  source: "fleet" | "asg";
  target: number;
  windowSeconds: number;
  /** Length of the faulty phase; a calm phase follows to check the hand-back. */
  faultySeconds: number;
  /** Mean reclaims per spot instance-hour outside outages. */
  reclaimPerHour: number;
  /** Probability per tick that a capacity outage starts (most spot reclaimed, none relaunched). */
  outagePerTick: number;
  dropProb: number;
  duplicateProb: number;
  /** Probability an event arrives minutes late (stale, out of order). */
  lateProb: number;
  blipPerTick: number;
  rebalanceCountsAsLost: boolean;
  /** Fleet only: a launch-template change (new version) at this second of the faulty phase; the reconciler rolls the fleet. */
  templateChangeAtSeconds?: number;
}

export interface SimResult {
  scenario: SimScenario;
  reconciles: number;
  /** Malformed or foreign events logged and ignored. */
  ignoredEvents: number;
  writes: number;
  /** Writes that put the spot source's capacity back to the target (fleet drift). */
  spotCapacityRepairs: number;
  interruptions: number;
  scaleUps: number;
  scaleDowns: number;
  /** Seconds with fewer healthy instances serving than the target. */
  secondsBelowTarget: number;
  onDemandInstanceSeconds: number;
  /** Instance-seconds an oracle with instant on-demand would need: Σ max(0, target − healthy spot not reclaimed). */
  idealOnDemandInstanceSeconds: number;
  /** Seconds from the end of faults until on-demand desired is 0 again. */
  handBackSeconds: number;
  /** Fleet instances drained and terminated by the reconciler (rolling replacement, surplus). */
  retirements: number;
  violations: string[];
}

const TICK = 10_000;
const REGION_ARN = "arn:aws:ec2:us-east-2:123456789012";
const TG = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/web/0123456789abcdef";
const FLEET_ID = "sfr-00000000-0000-4000-8000-000000000001";

/** mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomScenario(seed: number): SimScenario {
  const r = prng(seed ^ 0x5eed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const sc: SimScenario = {
    seed,
    source: r() < 0.5 ? "fleet" : "asg",
    target: 1 + Math.floor(r() * 5),
    windowSeconds: pick([0, 60, 120, 300, 600]),
    faultySeconds: pick([1800, 3600, 5400]),
    reclaimPerHour: pick([0.2, 0.5, 1, 2]),
    outagePerTick: pick([0, 0.001, 0.003]),
    dropProb: pick([0, 0.1, 0.3]),
    duplicateProb: pick([0, 0.1, 0.3]),
    lateProb: pick([0, 0.05, 0.15]),
    blipPerTick: pick([0, 0.002, 0.01]),
    rebalanceCountsAsLost: r() < 0.3,
    ...(r() < 0.5 ? {} : { templateChangeAtSeconds: pick([300, 900, 1500]) }), // drawn last: earlier fields keep their values per seed
  };
  if (sc.source !== "fleet") delete sc.templateChangeAtSeconds;
  return sc;
}

interface Pending { deliverAt: number; seq: number; event: unknown }
interface Meta { kind: "spot" | "od"; readyAt: number; terminateAt?: number; goneAt?: number; blipUntil?: number; drainUntil?: number }

export async function runSimulation(s: SimScenario, trace?: (line: string) => void): Promise<SimResult> {
  const rnd = prng(s.seed);
  const account = new FakeAccount(TG);
  const meta = new Map<string, Meta>();
  let now = Date.parse("2026-03-01T00:00:00Z");
  const od = account.addGroup({ name: "web-ondemand", desired: 0, max: s.target });
  const spotAsg = s.source === "asg" ? account.addGroup({ name: "web-spot", desired: s.target, max: s.target, lastActivity: "Successful" }) : undefined;
  if (s.source === "fleet") account.fleet = { id: FLEET_ID, state: "active", activity: "fulfilled", target: s.target, active: [] };
  const foreign = Array.from({ length: 20 }, () => account.addInstance({ spot: rnd() < 0.5 }).id);

  // The launch template's default version; new instances get it. A change updates the Lambda's environment (a new reconciler).
  let templateVersion = "1";
  const reconcilerFor = (version: string) => {
    const config: ReconcilerConfig = {
      spotSource: s.source, ...(s.source === "fleet" ? { spotFleetRequestId: FLEET_ID } : { spotAsgName: "web-spot" }),
      onDemandAsgName: "web-ondemand", targetGroupArn: TG, targetCapacity: s.target, stabilizationSeconds: s.windowSeconds,
      rebalanceCountsAsLost: s.rebalanceCountsAsLost, maxHintAgeSeconds: 180, launchTemplateVersion: version, launchTemplateId: "lt-0123456789abcdef0",
    };
    const silent = { info() {}, warn() {}, error() {} } as any;
    return createReconciler({ clients: directClients(account), config, logger: silent, metrics: { addMetric() {}, publishStoredMetrics() {} }, now: () => now });
  };
  let reconcile = reconcilerFor(templateVersion);

  const res: SimResult = {
    scenario: s, reconciles: 0, ignoredEvents: 0, writes: 0, spotCapacityRepairs: 0, retirements: 0, interruptions: 0, scaleUps: 0, scaleDowns: 0,
    secondsBelowTarget: 0, onDemandInstanceSeconds: 0, idealOnDemandInstanceSeconds: 0, handBackSeconds: 0, violations: [],
  };
  const violation = (what: string) => { if (res.violations.length < 20) res.violations.push(`t=${(now - start) / 1000}s ${what}`); };
  const start = now;
  let calm = false;

  // --- EventBridge: drops, duplicates, delays (out of order), late deliveries
  const queue: Pending[] = [];
  let seq = 0;
  const emit = (event: Record<string, unknown>, reliable = false) => {
    const full = { version: "0", id: `ev-${seq}`, account: "123456789012", region: "us-east-2", time: new Date(now).toISOString(), resources: [], ...event };
    const faulty = !calm && !reliable;
    if (faulty && rnd() < s.dropProb) return;
    const copies = faulty && rnd() < s.duplicateProb ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const late = faulty && rnd() < s.lateProb;
      queue.push({ deliverAt: now + (late ? 120_000 + rnd() * 600_000 : rnd() * 8_000), seq: seq++, event: full });
    }
  };
  const instanceEvent = (detailType: string, id: string, detail: Record<string, unknown> = {}) =>
    emit({ source: "aws.ec2", "detail-type": detailType, resources: [`${REGION_ARN}:instance/${id}`], detail: { "instance-id": id, ...detail } });

  // --- instances
  const spotIds = () => (s.source === "fleet" ? account.fleet!.active : spotAsg!.instances.map((i) => i.id));
  const launch = (kind: "spot" | "od") => {
    const inst = account.addInstance({ spot: kind === "spot", state: "pending", launchMs: now, templateVersion });
    meta.set(inst.id, { kind, readyAt: now + 60_000 + rnd() * 90_000 });
    account.targetHealth.set(inst.id, "initial");
    if (kind === "od") {
      od.instances.push({ id: inst.id, lifecycle: "Pending" });
      emit({ source: "aws.autoscaling", "detail-type": "EC2 Instance Launch Successful", detail: { AutoScalingGroupName: "web-ondemand", EC2InstanceId: inst.id } });
    } else if (s.source === "fleet") {
      account.fleet!.active.push(inst.id);
      emit({ source: "aws.ec2spotfleet", "detail-type": "EC2 Spot Fleet Instance Change", resources: [`${REGION_ARN}:spot-fleet-request/${FLEET_ID}`], detail: { "instance-id": inst.id, "sub-type": "launched" } });
    } else {
      spotAsg!.instances.push({ id: inst.id, lifecycle: "Pending" });
      emit({ source: "aws.autoscaling", "detail-type": "EC2 Instance Launch Successful", detail: { AutoScalingGroupName: "web-spot", EC2InstanceId: inst.id } });
    }
  };
  const reclaim = (id: string, code = "instance-terminated-no-capacity") => {
    const m = meta.get(id)!;
    if (m.terminateAt !== undefined) return;
    m.terminateAt = now + 120_000;
    account.setSpotStatus(id, code);
    res.interruptions++;
    instanceEvent("EC2 Spot Instance Interruption Warning", id, { "instance-action": "terminate" });
  };
  const removeFromGroups = (id: string) => {
    if (account.fleet) account.fleet.active = account.fleet.active.filter((x) => x !== id);
    for (const g of account.groups.values()) g.instances = g.instances.filter((x) => x.id !== id);
  };

  let outageUntil = 0;
  const step = () => {
    const spotAvailable = calm || now >= outageUntil;
    if (!calm && spotAvailable && rnd() < s.outagePerTick) {
      outageUntil = now + (300 + rnd() * 2100) * 1000;
      for (const id of spotIds()) if (rnd() < 0.8) reclaim(id);
    }
    // lifecycle of every instance we launched
    for (const [id, m] of meta) {
      const inst = account.instances.get(id) as FakeInstance;
      if (m.goneAt !== undefined) {
        if (now >= m.goneAt && inst.state !== "terminated") { inst.state = "terminated"; account.targetHealth.delete(id); instanceEvent("EC2 Instance State-change Notification", id, { state: "terminated" }); }
        continue;
      }
      if (m.terminateAt === undefined && inst.state === "shutting-down") { // terminated by the reconciler (already out of its group)
        m.goneAt = now + 30_000;
        continue;
      }
      if (m.terminateAt === undefined && account.deregistered.has(id)) { // deregistered by the reconciler: drains 30 s, then out of the target group
        m.drainUntil ??= now + 30_000;
        if (now >= m.drainUntil) account.targetHealth.delete(id);
        continue;
      }
      if (m.terminateAt !== undefined && now >= m.terminateAt) {
        inst.state = "shutting-down"; account.targetHealth.set(id, "draining"); m.goneAt = now + 30_000; removeFromGroups(id);
        instanceEvent("EC2 Instance State-change Notification", id, { state: "shutting-down" });
        continue;
      }
      if (inst.state === "pending" && now >= inst.launchMs + 20_000) { inst.state = "running"; instanceEvent("EC2 Instance State-change Notification", id, { state: "running" }); }
      const group = m.kind === "od" ? od : spotAsg;
      if (now >= m.readyAt) {
        const blipping = m.blipUntil !== undefined && now < m.blipUntil;
        if (!blipping && !calm && rnd() < s.blipPerTick) m.blipUntil = now + (20 + rnd() * 60) * 1000;
        account.targetHealth.set(id, m.blipUntil !== undefined && now < m.blipUntil ? "unhealthy" : "healthy");
        const gi = group?.instances.find((x) => x.id === id);
        if (gi) gi.lifecycle = "InService";
      }
      if (m.kind === "spot" && !calm && m.terminateAt === undefined && inst.state === "running" && rnd() < (s.reclaimPerHour * TICK) / 3_600_000) {
        if (rnd() < 0.5) instanceEvent("EC2 Instance Rebalance Recommendation", id);
        reclaim(id);
      } else if (m.kind === "spot" && !calm && rnd() < 0.0005) instanceEvent("EC2 Instance Rebalance Recommendation", id); // false alarm
    }
    // spot source relaunches what it lost (maintain); nothing during an outage
    const wanted = s.source === "fleet" ? account.fleet!.target : spotAsg!.desired;
    const active = spotIds().length;
    if (active < wanted && spotAvailable) launch("spot");
    if (s.source === "fleet") {
      const f = account.fleet!;
      if (f.state === "modifying" && rnd() < 0.5) f.state = "active";
      // excessCapacityTerminationPolicy NoTermination: a lowered target removes nothing; the reconciler retires surplus.
      f.activity = !spotAvailable && active < wanted ? (rnd() < 0.5 ? "error" : "pending_fulfillment") : active < wanted ? "pending_fulfillment" : "fulfilled";
      if (!calm && rnd() < 0.0005) f.target = Math.max(0, f.target - 1); // operator drift: the reconciler must put it back
    } else {
      spotAsg!.lastActivity = !spotAvailable && active < wanted ? "Failed" : "Successful";
    }
    // on-demand ASG converges to desired
    const live = od.instances.filter((i) => meta.get(i.id)!.terminateAt === undefined);
    for (let i = live.length; i < od.desired; i++) launch("od");
    for (let i = od.desired; i < live.length; i++) { meta.get(live[i].id)!.terminateAt = now; live[i].lifecycle = "Terminating"; }
    // noise: foreign and malformed events, the schedule
    if (!calm && rnd() < 0.05) instanceEvent("EC2 Instance State-change Notification", foreign[Math.floor(rnd() * foreign.length)], { state: "running" });
    if (!calm && rnd() < 0.01) emit({ source: "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning", detail: { "instance-id": 42 } });
    if ((now - start) % 60_000 === 0) emit({ source: "aws.events", "detail-type": "Scheduled Event", resources: [`${REGION_ARN}:rule/schedule`], detail: {} });
  };

  // Truth as the reconciler could see it now (before hints).
  const truth = () => {
    let covering = 0, servingSpot = 0, servingOd = 0;
    for (const id of spotIds()) {
      const healthy = account.targetHealth.get(id) === "healthy" && account.instances.get(id)!.state === "running";
      if (healthy) servingSpot++;
      if (healthy && meta.get(id)!.terminateAt === undefined) covering++;
    }
    for (const i of od.instances) if (account.targetHealth.get(i.id) === "healthy") servingOd++;
    return { covering, serving: servingSpot + servingOd };
  };

  let lastUncoveredAt = now, lastScaleUpAt = -Infinity;
  const deliver = async () => {
    queue.sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
    while (queue.length && queue[0].deliverAt <= now) {
      const { event } = queue.shift()!;
      const before = od.desired;
      const callsBefore = account.calls.length;
      const { covering, serving } = truth();
      const healthyBefore = new Set(spotIds().filter((id) => account.targetHealth.get(id) === "healthy"));
      let r;
      try { r = await reconcile(event); } catch (e) { violation(`reconcile threw: ${String(e)}`); continue; }
      if (!r.reconciled) { // ignored event: nothing observed, nothing written; an instance event costs one scoped lookup
        const named = (event as { detail?: Record<string, unknown> }).detail?.["instance-id"];
        const calls = account.calls.slice(callsBefore);
        const lookup = calls.length === 1 && calls[0].command === "DescribeInstancesCommand" && JSON.stringify(calls[0].input.Filters) === JSON.stringify([{ Name: "instance-id", Values: [named] }]);
        if (calls.length > 0 && !lookup) violation(`an ignored event made AWS calls: ${calls.map((c) => c.command).join(", ")}`);
        if (typeof named === "string" && meta.has(named)) violation(`an event of the tier's own instance ${named} was ignored (${r.why})`);
        res.ignoredEvents++;
        continue;
      }
      if (covering < s.target) lastUncoveredAt = now;
      trace?.(`t=${(now - start) / 1000} ${r.wakeUp} truth=${covering} od=${before}->${od.desired} ${r.decision.action.kind} ${r.decision.reason} tag=${od.tags.get(COVERED_SINCE_TAG) ?? "-"} od-ids=${od.instances.map((i) => i.id.slice(-3)).join(",")} spot=${spotIds().map((id) => id.slice(-3) + ":" + account.targetHealth.get(id)).join(",")}`);
      res.reconciles++;
      const written = account.writesSince(callsBefore);
      const writes = written.length;
      res.writes += writes;
      if (written.some((w) => w.command === "ModifySpotFleetRequestCommand" || w.input.AutoScalingGroupName === "web-spot")) res.spotCapacityRepairs++;
      // One action per reconcile; a retire-deregister is the retiring tag plus the deregistration of that one instance.
      const actions = written.filter((w) => w.command !== "CreateTagsCommand").length;
      if (actions > 1) violation(`${actions} writes in one reconcile`);
      const marked = written.filter((w) => w.command === "CreateTagsCommand").flatMap((w) => w.input.Resources as string[]);
      const deregistered = written.filter((w) => w.command === "DeregisterTargetsCommand").flatMap((w) => w.input.Targets.map((t: { Id: string }) => t.Id));
      if (JSON.stringify(marked) !== JSON.stringify(deregistered)) violation(`tagged ${marked} but deregistered ${deregistered}`);
      for (const w of written.filter((x) => x.command === "DeregisterTargetsCommand")) {
        res.retirements++;
        const wasHealthy = w.input.Targets.some((t: { Id: string }) => healthyBefore.has(t.Id));
        if (wasHealthy && serving - 1 < s.target) violation(`rolling took a healthy instance out with ${serving} serving (target ${s.target})`);
      }
      const need = Math.min(Math.max(0, s.target - covering), od.max);
      if (od.desired < need) violation(`on-demand ${od.desired} does not cover the deficit ${need} (spot covering ${covering}/${s.target})`);
      if (od.desired > before) { res.scaleUps++; lastScaleUpAt = now; }
      if (od.desired < before) {
        res.scaleDowns++;
        if (now - lastUncoveredAt < s.windowSeconds * 1000) violation(`scale-down ${before}→${od.desired} only ${(now - lastUncoveredAt) / 1000}s after spot last fell short (window ${s.windowSeconds}s)`);
        if (now - lastScaleUpAt < s.windowSeconds * 1000) violation(`flap: scale-down ${(now - lastScaleUpAt) / 1000}s after a scale-up`);
      }
    }
  };

  const end = start + s.faultySeconds * 1000;
  const changeAt = s.templateChangeAtSeconds !== undefined ? start + s.templateChangeAtSeconds * 1000 : Infinity;
  for (; now < end; now += TICK) {
    if (now === changeAt) { templateVersion = "2"; reconcile = reconcilerFor(templateVersion); } // pulumi up: new template version + Lambda env
    step();
    await deliver();
    const { covering, serving } = truth();
    if (serving < s.target) res.secondsBelowTarget += TICK / 1000;
    res.onDemandInstanceSeconds += (od.instances.length * TICK) / 1000;
    res.idealOnDemandInstanceSeconds += (Math.max(0, s.target - covering) * TICK) / 1000;
  }
  // Calm phase: no faults, reliable delivery. On-demand must go back to 0 within window + relaunch time.
  calm = true;
  outageUntil = 0;
  if (account.fleet) account.fleet.state = "active";
  const rolled = () => s.source !== "fleet" || (account.fleet!.active.length === s.target && account.fleet!.active.every((id) => account.instances.get(id)!.templateVersion === templateVersion));
  // Rolling: about 5 minutes per instance (surge boot, drain, terminate, relaunch).
  const deadline = now + (s.windowSeconds + 900 + (changeAt < Infinity ? 300 * s.target : 0)) * 1000;
  for (; now < deadline && !(od.desired === 0 && now - end > 60_000 && !od.tags.has(COVERED_SINCE_TAG) && rolled()); now += TICK) {
    step();
    await deliver();
  }
  res.handBackSeconds = (now - end) / 1000;
  if (od.desired !== 0) violation(`on-demand still at ${od.desired} ${(s.windowSeconds + 900)}s after faults stopped (spot covering ${truth().covering}/${s.target})`);
  if (s.source === "fleet" && account.fleet!.target !== s.target) violation(`fleet target left at ${account.fleet!.target}, not ${s.target}`);
  if (!rolled()) violation(`fleet not rolled to template version ${templateVersion}: ${account.fleet!.active.map((id) => account.instances.get(id)!.templateVersion).join(",")} (target ${s.target})`);
  return res;
}
