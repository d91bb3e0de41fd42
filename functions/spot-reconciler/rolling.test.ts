/**
 * Rolling replacement of a Spot Fleet after a launch-template change (issue 9 item 5), driven through
 * the real reconciler against the FakeAccount: the fleet (maintain, "$Default" version, NoTermination)
 * relaunches what is terminated on the newest template version, instances take 20 s to run and 60 s
 * more to pass health checks, deregistered targets drain for 30 s. The 1-minute schedule wakes the
 * reconciler every 10 s here (more reconciles: more chances to do something wrong).
 */
import { createReconciler } from "./reconcile";
import { FakeAccount } from "./testing/fake-account";
import { directClients } from "./testing/mock-clients";
import { FLEET_ID, scenarioConfig, TG_ARN } from "./testing/scenario";
import { fixture } from "./testing/fixtures";
import { decide, Observation, SpotMember } from "./decide";
import { servedHealthPaths } from "../../components/spot-failover/user-data";

const TICK = 10_000;
const TARGET = 3;

interface World {
  account: FakeAccount;
  /** Paths each instance's nginx answers. */
  serves: Map<string, string[]>;
  /** Per tick: healthy spot instances in the target group, instances being retired, target group path. */
  timeline: { t: number; healthy: number; unhealthy: number; retiring: number; path: string; action: string }[];
  writes: string[];
}

function world(o: { templateVersion: string; newServes: string[]; oldServes: string[] }): { w: World; run: (ticks: number, cfg: { version: string; path: string }) => Promise<void> } {
  const account = new FakeAccount(TG_ARN);
  account.addGroup({ name: "web-ondemand", desired: 0, max: TARGET });
  account.fleet = { id: FLEET_ID, state: "active", activity: "fulfilled", target: TARGET, active: [] };
  const serves = new Map<string, string[]>();
  const ready = new Map<string, number>();
  const drainEnd = new Map<string, number>();
  let now = Date.parse("2026-03-01T10:00:00Z");
  for (let i = 0; i < TARGET; i++) {
    const inst = account.addInstance({ spot: true, templateVersion: "1" });
    account.fleet.active.push(inst.id);
    serves.set(inst.id, o.oldServes);
    ready.set(inst.id, 0);
  }
  const w: World = { account, serves, timeline: [], writes: [] };
  const health = (id: string) => (serves.get(id)!.includes(account.healthCheckPath) ? "healthy" : "unhealthy");
  for (const id of account.fleet.active) account.targetHealth.set(id, health(id));

  const step = () => {
    const f = account.fleet!;
    if (f.state === "modifying") f.state = "active";
    // maintain: relaunch on the template's default version
    if (f.active.length < f.target) {
      const inst = account.addInstance({ spot: true, state: "pending", launchMs: now, templateVersion: o.templateVersion });
      f.active.push(inst.id);
      serves.set(inst.id, o.newServes);
      ready.set(inst.id, now + 80_000);
    }
    f.activity = f.active.length < f.target ? "pending_fulfillment" : "fulfilled";
    for (const id of f.active) {
      const inst = account.instances.get(id)!;
      if (inst.state === "pending" && now >= inst.launchMs + 20_000) inst.state = "running";
      if (account.deregistered.has(id)) {
        if (!drainEnd.has(id)) drainEnd.set(id, now + 30_000);
        if (now >= drainEnd.get(id)!) account.targetHealth.delete(id);
        continue;
      }
      if (now >= ready.get(id)!) account.targetHealth.set(id, health(id)); // registered by the fleet
    }
  };

  const run = async (ticks: number, cfg: { version: string; path: string }) => {
    const config = scenarioConfig("fleet", { targetCapacity: TARGET, launchTemplateVersion: cfg.version, healthCheckPath: cfg.path, launchTemplateId: "lt-0123456789abcdef0" });
    const reconcile = createReconciler({ clients: directClients(account), config, logger: { info() {}, warn() {}, error() {} } as any, metrics: { addMetric() {}, publishStoredMetrics() {} }, now: () => now });
    for (let i = 0; i < ticks; i++, now += TICK) {
      step();
      const before = account.calls.length;
      const r = await reconcile({ ...(fixture("scheduled-reconcile.json") as object), time: new Date(now).toISOString() });
      w.writes.push(...account.writesSince(before).map((c) => `${c.command.replace(/Command$/, "")}`));
      step(); // state right after the write, before the next reconcile
      const f = account.fleet!;
      w.timeline.push({
        t: i * 10,
        healthy: f.active.filter((id) => account.targetHealth.get(id) === "healthy").length,
        unhealthy: f.active.filter((id) => account.targetHealth.get(id) === "unhealthy").length,
        retiring: f.active.filter((id) => account.deregistered.has(id)).length,
        path: account.healthCheckPath,
        action: r.reconciled ? r.decision.action.kind : "ignored",
      });
    }
  };
  return { w, run };
}

const versions = (w: World) => w.account.fleet!.active.map((id) => w.account.instances.get(id)!.templateVersion);

test("a new template version rolls every fleet instance, one at a time, never below the target healthy", async () => {
  const { w, run } = world({ templateVersion: "2", oldServes: ["/health"], newServes: ["/health"] });
  await run(150, { version: "2", path: "/health" });
  expect(versions(w)).toEqual(["2", "2", "2"]);
  expect(w.account.fleet!.active).toHaveLength(TARGET);
  expect(w.account.fleet!.target).toBe(TARGET);
  expect(Math.min(...w.timeline.map((x) => x.healthy))).toBeGreaterThanOrEqual(TARGET);
  expect(Math.max(...w.timeline.map((x) => x.retiring))).toBe(1);
  expect(w.account.groups.get("web-ondemand")!.desired).toBe(0); // no failover for a roll
  // surge to 4 and back; each of the 3 old ones drained, then terminated; no instance launched in vain
  expect(w.writes.filter((x) => x === "ModifySpotFleetRequest")).toHaveLength(2);
  expect(w.writes.filter((x) => x === "DeregisterTargets")).toHaveLength(3);
  expect(w.writes.filter((x) => x === "TerminateInstances")).toHaveLength(3);
  expect(w.account.instances.size).toBe(2 * TARGET); // 3 old, 3 new (the first new one was the surge)
  // done: nothing more to do
  const n = w.writes.length;
  await run(10, { version: "2", path: "/health" });
  expect(w.writes).toHaveLength(n);
});

test("the reconciler's configured version lags the template's default: a relaunched (newer) instance is never terminated", async () => {
  // A deploy in progress (template updated, Lambda not yet) or a manual version: the fleet relaunches on v2.
  const { w, run } = world({ templateVersion: "2", oldServes: ["/health"], newServes: ["/health"] });
  const lost = w.account.fleet!.active[0]; // one v1 instance interrupted
  w.account.instances.get(lost)!.state = "terminated";
  w.account.targetHealth.delete(lost);
  w.account.fleet!.active = w.account.fleet!.active.slice(1);
  await run(30, { version: "1", path: "/health" });
  expect(w.writes.filter((x) => x === "TerminateInstances" || x === "DeregisterTargets")).toEqual([]);
  expect(w.account.instances.size).toBe(TARGET + 1); // the lost one plus exactly one replacement
  expect(versions(w).sort()).toEqual(["1", "1", "2"]);
  expect(w.timeline.at(-1)!.healthy).toBe(TARGET);
});

test("an outdated instance out of the target group that the reconciler did not drain is never terminated", () => {
  const member = (id: string, extra: Partial<SpotMember>): SpotMember => ({ instanceId: id, healthy: false, ...extra });
  const o = (m: SpotMember[]): Observation => ({
    nowMs: 0, spot: { state: "steady", requested: 3, members: m },
    onDemand: { desired: 0, max: 3, instanceIds: [], inService: 0, healthy: 0 },
  } as unknown as Observation);
  const healthy = ["a", "b", "c"].map((id) => member(id, { healthy: true, targetHealth: "healthy" }));
  const s = { targetCapacity: 3, stabilizationSeconds: 600, rollSpot: true } as any;
  // outdated, launched a moment ago and not registered yet: deregister (tag) first, never terminate straight away
  expect(decide(o([...healthy, member("z", { outdated: true })]), s).action).not.toEqual({ kind: "retire-terminate", instanceId: "z" });
  // drained by the reconciler (tagged): terminated
  expect(decide(o([...healthy, member("z", { outdated: true, retiring: true })]), s).action).toEqual({ kind: "retire-terminate", instanceId: "z" });
});

test("no roll while the template version is unchanged (and none for instances of unknown version)", async () => {
  const { w, run } = world({ templateVersion: "1", oldServes: ["/health"], newServes: ["/health"] });
  await run(20, { version: "1", path: "/health" });
  expect(w.writes).toEqual([]);
});

test("a health-path change: new instances serve both paths, the target group switches only after the roll, never an unhealthy tier", async () => {
  const { w, run } = world({ templateVersion: "2", oldServes: ["/health"], newServes: ["/health", "/healthz"] });
  await run(150, { version: "2", path: "/healthz" });
  expect(w.account.healthCheckPath).toBe("/healthz");
  const switchedAt = w.timeline.findIndex((x) => x.path === "/healthz");
  const lastOld = w.timeline.findIndex((x, i) => i > 0 && x.action === "set-health-check-path");
  expect(lastOld).toBeGreaterThan(0);
  expect(switchedAt).toBe(lastOld);
  expect(versions(w)).toEqual(["2", "2", "2"]);
  expect(Math.min(...w.timeline.map((x) => x.healthy))).toBeGreaterThanOrEqual(TARGET);
  expect(w.writes.filter((x) => x === "ModifyTargetGroup")).toHaveLength(1);
});

test("why: switching the target group's path before the roll makes every target unhealthy at once", async () => {
  const { w, run } = world({ templateVersion: "2", oldServes: ["/health"], newServes: ["/health", "/healthz"] });
  w.account.healthCheckPath = "/healthz"; // what an in-place Pulumi update of the health check did
  await run(1, { version: "2", path: "/healthz" });
  expect(w.timeline[0].healthy).toBe(0);
});

describe("rolling decisions (pure)", () => {
  const m = (id: string, o: Partial<SpotMember> = {}): SpotMember => ({ instanceId: id, healthy: true, targetHealth: "healthy", ...o });
  const obs = (members: SpotMember[], requested = 4, over: Partial<Observation> = {}): Observation => ({
    nowMs: 0, spot: { state: "steady", requested, members }, onDemand: { desired: 0, max: 3, instanceIds: [] }, ...over,
  });
  const s = { targetCapacity: 3, stabilizationSeconds: 600, rollSpot: true };
  test.each<[string, Observation, object]>([
    ["outdated members: surge the fleet to target + 1", obs([m("a", { outdated: true }), m("b"), m("c")], 3), { kind: "set-spot-requested", from: 3, to: 4 }],
    ["surge not healthy yet: wait (3 healthy, retiring one would leave 2)", obs([m("a", { outdated: true }), m("b"), m("c"), m("d", { healthy: false, targetHealth: "initial" })]), { kind: "none" }],
    ["surge healthy: deregister one outdated", obs([m("a", { outdated: true }), m("b"), m("c"), m("d")]), { kind: "retire-deregister", instanceId: "a" }],
    ["an unhealthy outdated member goes first", obs([m("a", { outdated: true }), m("b", { outdated: true, healthy: false, targetHealth: "unhealthy" }), m("c"), m("d"), m("e")]), { kind: "retire-deregister", instanceId: "b" }],
    ["one draining: nothing else", obs([m("a", { outdated: true, healthy: false, targetHealth: "draining" }), m("b", { outdated: true }), m("c"), m("d")]), { kind: "none" }],
    ["drained by the reconciler (tagged, out of the target group): terminate it", obs([m("a", { outdated: true, healthy: false, targetHealth: undefined, retiring: true }), m("b", { outdated: true }), m("c"), m("d")]), { kind: "retire-terminate", instanceId: "a" }],
    ["all new: the fleet back to the target", obs([m("b"), m("c"), m("d"), m("e")], 4), { kind: "set-spot-requested", from: 4, to: 3 }],
    ["the last outdated member drained: surge ends (the fleet keeps it: NoTermination)", obs([m("a", { outdated: true, healthy: false, targetHealth: undefined }), m("c"), m("d"), m("e")], 4), { kind: "set-spot-requested", from: 4, to: 3 }],
    ["...then it is terminated as surplus, no replacement launched", obs([m("a", { outdated: true, healthy: false, targetHealth: undefined, retiring: true }), m("c"), m("d"), m("e")], 3), { kind: "retire-terminate", instanceId: "a" }],
    ["surplus on the new version: retired gracefully", obs([m("b"), m("c"), m("d"), m("e")], 3), { kind: "retire-deregister", instanceId: "b" }],
    ["fleet still fulfilling: wait", obs([m("a", { outdated: true }), m("b"), m("c"), m("d")], 4, { spot: { state: "modifying", requested: 4, members: [m("a", { outdated: true }), m("b"), m("c"), m("d")] } }), { kind: "none" }],
    ["a failover started while one drained: it is terminated anyway (it serves nothing)", obs([m("a", { outdated: true, healthy: false, targetHealth: undefined, retiring: true }), m("b", { outdated: true }), m("c"), m("d", { healthy: false, targetHealth: "unhealthy" })], 4, { onDemand: { desired: 1, max: 3, instanceIds: ["i-od"] } }), { kind: "retire-terminate", instanceId: "a" }],
    ["failover in progress (on-demand up): no roll", obs([m("a", { outdated: true }), m("b"), m("c"), m("d")], 4, { onDemand: { desired: 1, max: 3, instanceIds: ["i-od"] } }), { kind: "mark-covered" }],
  ])("%s", (_what, o, action) => {
    expect(decide(o, s).action).toMatchObject(action);
  });
  test("the Spot ASG is never rolled by the reconciler (its instance refresh does it)", () => {
    expect(decide(obs([m("a", { outdated: true }), m("b"), m("c")], 3), { ...s, rollSpot: false }).action).toEqual({ kind: "none" });
  });
  test("the health path waits for outdated on-demand instances too", () => {
    const o = obs([m("b"), m("c"), m("d")], 3, { targetGroup: { healthCheckPath: "/health" }, onDemand: { desired: 0, max: 3, instanceIds: [], outdated: 1 } });
    expect(decide(o, { ...s, healthCheckPath: "/healthz" }).action).toEqual({ kind: "none" });
    expect(decide({ ...o, onDemand: { ...o.onDemand, outdated: 0 } }, { ...s, healthCheckPath: "/healthz" }).action).toEqual({ kind: "set-health-check-path", from: "/health", to: "/healthz" });
  });
});

describe("health-path changes in a row, with the template serving what the component renders (configured + checked now)", () => {
  test("/health → /healthz → /ready: each roll ends on the new path, no instance ever fails its health check", async () => {
    const o = { templateVersion: "2", oldServes: ["/health"], newServes: servedHealthPaths("/healthz", "/health") };
    const { w, run } = world(o);
    w.account.launchTemplateLatestVersion = 2;
    await run(150, { version: "2", path: "/healthz" });
    expect(w.account.healthCheckPath).toBe("/healthz");
    // the second `up`: the component reads the live path (/healthz), not its state (/health)
    Object.assign(o, { templateVersion: "3", newServes: servedHealthPaths("/ready", w.account.healthCheckPath) });
    w.account.launchTemplateLatestVersion = 3;
    await run(150, { version: "3", path: "/ready" });
    expect(w.account.healthCheckPath).toBe("/ready");
    expect(versions(w)).toEqual(["3", "3", "3"]);
    expect(Math.max(...w.timeline.map((x) => x.unhealthy))).toBe(0);
    expect(Math.min(...w.timeline.map((x) => x.healthy))).toBeGreaterThanOrEqual(TARGET);
  });

  test("an `up` updated the template but not yet the Lambda: the old reconciler does not switch to its (superseded) path", async () => {
    // v2 instances serve /health + /healthz; the target group checks /health; the `up` for /ready made v3
    // (serving /health, the path checked then, + /ready) and has not updated the reconciler yet.
    const o = { templateVersion: "3", oldServes: servedHealthPaths("/healthz", "/health"), newServes: servedHealthPaths("/ready", "/health") };
    const { w, run } = world(o);
    for (const id of w.account.fleet!.active) w.account.instances.get(id)!.templateVersion = "2";
    w.account.launchTemplateLatestVersion = 3;
    await run(20, { version: "2", path: "/healthz" }); // the old configuration
    expect(w.account.healthCheckPath).toBe("/health");
    expect(w.writes).not.toContain("ModifyTargetGroup");
    await run(200, { version: "3", path: "/ready" }); // the Lambda updated
    expect(w.account.healthCheckPath).toBe("/ready");
    expect(versions(w)).toEqual(["3", "3", "3"]);
    expect(Math.max(...w.timeline.map((x) => x.unhealthy))).toBe(0);
    expect(Math.min(...w.timeline.map((x) => x.healthy))).toBeGreaterThanOrEqual(TARGET);
  });
});
