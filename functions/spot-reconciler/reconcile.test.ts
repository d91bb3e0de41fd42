import * as fs from "node:fs";
import { createReconciler, ReconcileResult } from "./reconcile";
import { COVERED_SINCE_TAG } from "./decide";
import { FakeAccount, WRITE_COMMANDS } from "./testing/fake-account";
import { fakeClients } from "./testing/mock-clients";
import { recordingSinks, scenarioAccount, scenarioConfig, SPOT_IDS } from "./testing/scenario";
import { callsBeforeIgnoring, EXPECTED, fixture, FIXTURES } from "./testing/fixtures";
import type { ReconcilerConfig } from "./config";

const NOW = Date.parse("2026-03-01T10:01:00Z");

let restore: (() => void) | undefined;
afterEach(() => restore?.());

function setup(source: "fleet" | "asg", over: Partial<ReconcilerConfig> = {}, account = scenarioAccount(source)) {
  const { clients, restore: r } = fakeClients(account);
  restore = r;
  const sinks = recordingSinks();
  let now = NOW;
  const reconcile = createReconciler({ clients, config: scenarioConfig(source, over), logger: sinks.logger, metrics: sinks.metricSink, now: () => now });
  return { account, reconcile, ...sinks, setNow: (ms: number) => { now = ms; } };
}

test("every fixture has an expected outcome", () => {
  expect(fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".json")).sort()).toEqual(Object.keys(EXPECTED).sort());
});

describe.each(["fleet", "asg"] as const)("handler against every fixture (spot source %s)", (source) => {
  test.each(Object.keys(EXPECTED))("%s", async (name) => {
    const { account, reconcile, logs } = setup(source);
    const result = await reconcile(fixture(name));
    const expected = EXPECTED[name][source];
    const writes = account.calls.filter((c) => WRITE_COMMANDS.has(c.command));
    if (expected === "malformed" || expected === "foreign") {
      expect(result).toMatchObject({ reconciled: false, ignored: expected });
      expect(account.calls).toEqual(callsBeforeIgnoring(name)); // at most one call, scoped by the instance id
      expect(logs).toEqual([expect.objectContaining({ message: `ignoring ${expected} event`, fields: expect.objectContaining({ why: expect.any(String) }) })]);
      if (expected === "malformed") expect(logs[0].level).toBe("warn");
    } else if (expected === "none") {
      expect(result).toMatchObject({ reconciled: true, decision: { action: { kind: "none" } } });
      expect(writes).toEqual([]);
    } else {
      expect(result).toMatchObject({ reconciled: true, decision: { action: { kind: "set-on-demand-desired", from: 0, to: 1 } } });
      expect(writes).toEqual([{ command: "SetDesiredCapacityCommand", input: { AutoScalingGroupName: "web-ondemand", DesiredCapacity: 1, HonorCooldown: false } }]);
      expect(logs.find((l) => l.message === "reconciled")).toMatchObject({ level: "warn", fields: { reason: expect.stringMatching(/^scale-up/), spotCovering: 1 } });
    }
  });
});

describe("events are wake-ups, the account is the truth", () => {
  test("instance ids come from detail.instance-id even when resources carries a malformed ARN", async () => {
    const { reconcile, logs } = setup("fleet");
    await reconcile(fixture("variant-interruption-warning-malformed-resources.json"));
    expect(logs.find((l) => l.message === "reconciled")!.fields.spotReclaiming).toEqual(["i-08b90df1e09c30c9b:interruption-warning"]);
  });

  test("a duplicate interruption warning causes one write, not two", async () => {
    const { account, reconcile } = setup("fleet");
    await reconcile(fixture("spot-interruption-warning.json"));
    await reconcile(fixture("spot-interruption-warning.json"));
    expect(account.writesSince(0)).toHaveLength(1);
    expect(account.groups.get("web-ondemand")!.desired).toBe(1);
  });

  test("a lost warning is caught by the scheduled reconcile from the spot request status", async () => {
    const { account, reconcile } = setup("asg");
    account.setSpotStatus(SPOT_IDS[0], "instance-terminated-no-capacity");
    const r = await reconcile(fixture("scheduled-reconcile.json"));
    expect(r).toMatchObject({ decision: { action: { kind: "set-on-demand-desired", to: 1 }, reclaiming: 1 } });
  });

  test("a foreign instance's warning is logged as such and changes nothing", async () => {
    const { account, reconcile, logs } = setup("fleet");
    await reconcile(fixture("variant-interruption-warning-foreign-instance.json"));
    expect(account.writesSince(0)).toEqual([]);
    expect(logs).toEqual([expect.objectContaining({ level: "info", message: "ignoring foreign event", fields: expect.objectContaining({ why: expect.stringContaining("instance i-0f0f0f0f0f0f0f0f0 not found") }) })]);
  });

  describe.each(["fleet", "asg"] as const)("events of instances that are not ours are dropped after one scoped call (%s)", (source) => {
    // The real AWS samples, naming an instance of the account that belongs to another fleet / group / nobody.
    const samples = ["spot-interruption-warning.json", "rebalance-recommendation.json", "variant-instance-state-change-shutting-down.json", "instance-state-change-running.json"];
    test.each(samples)("%s", async (sample) => {
      const account = scenarioAccount(source);
      const others = [
        account.addInstance({ spot: true }).id, // launched outside any fleet or group
        account.addInstance({ spot: true }).id, // another Spot Fleet's
        account.addInstance({ spot: false }).id, // another ASG's
      ];
      account.instances.get(others[1])!.tags = new Map([["aws:ec2spot:fleet-request-id", "sfr-11111111-2222-3333-4444-555555555555"]]);
      account.instances.get(others[2])!.tags = new Map([["aws:autoscaling:groupName", "someone-elses-asg"], ["aws:ec2launchtemplate:id", "lt-0fedcba9876543210"]]);
      const { reconcile, logs, metrics } = setup(source, { launchTemplateId: "lt-0123456789abcdef0" }, account);
      for (const id of others) {
        const event = { ...(fixture(sample) as any), time: "2026-03-01T10:00:50Z" };
        event.detail = { ...event.detail, "instance-id": id };
        event.resources = [`arn:aws:ec2:us-east-2:123456789012:instance/${id}`];
        expect(await reconcile(event)).toMatchObject({ reconciled: false, ignored: "foreign" });
      }
      // one DescribeInstances per event, nothing else (no full observation), no write
      expect(account.calls.map((c) => `${c.command} ${c.input.Filters[0].Values}`)).toEqual(others.map((id) => `DescribeInstancesCommand ${id}`));
      expect(logs.map((l) => l.message)).toEqual(["ignoring foreign event", "ignoring foreign event", "ignoring foreign event"]);
      expect(logs[1].fields.why).toMatch(/is not of this tier \(fleet sfr-11111111/);
      expect(logs[2].fields.why).toMatch(/is not of this tier \(group someone-elses-asg, launch template lt-0fedcba9876543210\)/);
      expect(metrics).toEqual([{ ForeignEvents: 1 }, { ForeignEvents: 1 }, { ForeignEvents: 1 }]);
    });
    test("…while the same samples for our own instances still reconcile (and a warning still fails over at once)", async () => {
      const { account, reconcile } = setup(source);
      const ownershipChecks = () => account.calls.filter((c) => c.command === "DescribeInstancesCommand" && c.input.Filters[0].Values.length === 1).length;
      expect(await reconcile({ ...(fixture("rebalance-recommendation.json") as any), detail: { ...(fixture("rebalance-recommendation.json") as any).detail, "instance-id": SPOT_IDS[1] } })).toMatchObject({ reconciled: true });
      expect(ownershipChecks()).toBe(1); // cold: one check by tags
      expect(await reconcile(fixture("spot-interruption-warning.json"))).toMatchObject({ reconciled: true, decision: { action: { kind: "set-on-demand-desired", to: 1 } } });
      expect(await reconcile({ ...(fixture("variant-instance-state-change-shutting-down.json") as any), detail: { "instance-id": SPOT_IDS[1], state: "shutting-down" } })).toMatchObject({ reconciled: true });
      expect(ownershipChecks()).toBe(1); // warm: instances the reconciler saw in its groups need none
      expect(account.groups.get("web-ondemand")!.desired).toBe(1);
    });
    test("an instance launched from the tier's template but not (yet) in a group is ours", async () => {
      const account = scenarioAccount(source);
      const fresh = account.addInstance({ spot: true, templateVersion: "1" }).id;
      const { reconcile } = setup(source, { launchTemplateId: "lt-0123456789abcdef0" }, account);
      const event = { ...(fixture("variant-instance-state-change-shutting-down.json") as any), detail: { "instance-id": fresh, state: "running" } };
      expect(await reconcile(event)).toMatchObject({ reconciled: true });
    });
  });

  test("a stale warning (hours late) is no hint; it is logged with its age", async () => {
    const { reconcile, logs } = setup("fleet");
    await reconcile(fixture("variant-interruption-warning-stale.json"));
    expect(logs.find((l) => l.message.startsWith("event too old"))!.fields.ageSeconds).toBe(3 * 3600 + 60);
  });

  test("rebalance recommendation counts as lost only when configured", async () => {
    const { reconcile } = setup("fleet", { rebalanceCountsAsLost: true });
    const r = await reconcile({ ...(fixture("rebalance-recommendation.json") as object), time: "2026-03-01T10:00:30Z" });
    expect(r).toMatchObject({ decision: { action: { kind: "set-on-demand-desired", to: 1 } } });
  });

  test("a late 'running' event after the instance is gone does not hold capacity back", async () => {
    const { account, reconcile } = setup("fleet");
    account.instances.get(SPOT_IDS[0])!.state = "terminated";
    account.targetHealth.delete(SPOT_IDS[0]);
    account.fleet!.active = [SPOT_IDS[1]];
    const late = { ...(fixture("instance-state-change-running.json") as any), detail: { "instance-id": SPOT_IDS[0], state: "running" } };
    expect(await reconcile(late)).toMatchObject({ decision: { action: { kind: "set-on-demand-desired", to: 1 } } });
  });
});

describe("failover and hand-back across invocations", () => {
  test("scale down only after the stabilization window, state kept in the on-demand ASG tag", async () => {
    const { account, reconcile, setNow } = setup("fleet");
    const od = account.groups.get("web-ondemand")!;
    od.desired = 2;
    od.instances = [{ id: "i-0000000000000od01", lifecycle: "InService" }, { id: "i-0000000000000od02", lifecycle: "InService" }];
    const tick = async (minutes: number) => {
      setNow(NOW + minutes * 60_000);
      return ((await reconcile(fixture("scheduled-reconcile.json"))) as Extract<ReconcileResult, { reconciled: true }>).decision;
    };
    expect((await tick(0)).action.kind).toBe("mark-covered");
    expect(od.tags.get(COVERED_SINCE_TAG)).toMatch(/^2026-03-01T10:01:00.000Z\|2\|[0-9a-f]{8}$/);
    expect((await tick(5)).action.kind).toBe("none");
    expect((await tick(9)).reason).toContain("540s of 600s");
    expect((await tick(10)).action).toEqual({ kind: "set-on-demand-desired", from: 2, to: 0 });
    expect(od.desired).toBe(0);
    od.instances = [];
    expect((await tick(11)).action.kind).toBe("clear-covered");
    expect(od.tags.has(COVERED_SINCE_TAG)).toBe(false);
    expect((await tick(12)).action.kind).toBe("none");
  });

  test("a blip during the window restarts it", async () => {
    const { account, reconcile, setNow } = setup("fleet");
    const od = account.groups.get("web-ondemand")!;
    od.desired = 1;
    od.instances = [{ id: "i-0000000000000od01", lifecycle: "InService" }];
    const run = async (min: number) => { setNow(NOW + min * 60_000); return (await reconcile(fixture("scheduled-reconcile.json")) as any).decision; };
    await run(0);
    account.targetHealth.set(SPOT_IDS[1], "unhealthy");
    expect((await run(3)).action.kind).toBe("clear-covered");
    account.targetHealth.set(SPOT_IDS[1], "healthy");
    expect((await run(4)).action.kind).toBe("mark-covered");
    expect((await run(10)).action.kind).toBe("none");
    expect((await run(14)).action).toEqual({ kind: "set-on-demand-desired", from: 1, to: 0 });
  });

  test("no scale-down while the Spot Fleet is modifying or in error", async () => {
    const { account, reconcile, setNow } = setup("fleet");
    const od = account.groups.get("web-ondemand")!;
    od.desired = 1;
    await reconcile(fixture("scheduled-reconcile.json"));
    for (const [state, activity] of [["modifying", "fulfilled"], ["active", "error"], ["active", "pending_fulfillment"]]) {
      account.fleet!.state = state;
      account.fleet!.activity = activity;
      setNow(NOW + 3600_000);
      const r = (await reconcile(fixture("scheduled-reconcile.json"))) as any;
      expect(r.decision.action.kind).toBe("none");
      expect(r.decision.reason).toMatch(/hold: spot source (modifying|error)/);
    }
  });

  test("the Spot ASG counts as modifying while instances are pending", async () => {
    const account = scenarioAccount("asg");
    account.groups.get("web-spot")!.instances.push({ id: "i-00000000000000new", lifecycle: "Pending" });
    account.groups.get("web-ondemand")!.desired = 1;
    account.groups.get("web-ondemand")!.tags.set(COVERED_SINCE_TAG, "x");
    const { reconcile, logs } = setup("asg", {}, account);
    await reconcile(fixture("scheduled-reconcile.json"));
    expect(logs.find((l) => l.message === "reconciled")!.fields.spotSource).toMatch(/^asg:modifying/);
  });

  test("the reconciler puts the fleet's target capacity back when it drifted", async () => {
    const { account, reconcile } = setup("fleet", { targetCapacity: 2 });
    account.fleet!.target = 1;
    await reconcile(fixture("scheduled-reconcile.json"));
    expect(account.writesSince(0)).toEqual([{ command: "ModifySpotFleetRequestCommand", input: { SpotFleetRequestId: account.fleet!.id, TargetCapacity: 2 } }]);
  });
});

describe("a Spot source that was never fulfilled (issue 9 item 3)", () => {
  // The stack is created without waiting for Spot capacity: the first reconcile may find no Spot at all.
  test.each([
    ["fleet", (a: FakeAccount) => { a.fleet!.active = []; a.fleet!.activity = "error"; }],
    ["fleet", (a: FakeAccount) => { a.fleet!.active = []; a.fleet!.state = "submitted"; a.fleet!.activity = "pending_fulfillment"; }],
    ["asg", (a: FakeAccount) => { const g = a.groups.get("web-spot")!; g.instances = []; g.lastActivity = "Failed"; }],
    ["asg", (a: FakeAccount) => { const g = a.groups.get("web-spot")!; g.instances = []; g.lastActivity = "InProgress"; }],
  ] as const)("%s: the first reconcile raises on-demand to the whole target", async (source, empty) => {
    const account = scenarioAccount(source);
    for (const id of SPOT_IDS) account.targetHealth.delete(id);
    empty(account);
    const { reconcile } = setup(source, {}, account);
    const r = await reconcile(fixture("scheduled-reconcile.json"));
    expect(r).toMatchObject({ reconciled: true, decision: { action: { kind: "set-on-demand-desired", from: 0, to: 2 }, covering: 0 } });
    expect(account.groups.get("web-ondemand")!.desired).toBe(2);
  });
});

describe("failures", () => {
  test("a failed write is logged with the decision and rethrown (Lambda retries; the schedule catches up)", async () => {
    const account = scenarioAccount("fleet");
    account.SetDesiredCapacity = () => { throw new Error("Throttling: Rate exceeded"); };
    const { reconcile, logs } = setup("fleet", {}, account);
    await expect(reconcile(fixture("spot-interruption-warning.json"))).rejects.toThrow("Rate exceeded");
    expect(logs.find((l) => l.level === "error")).toMatchObject({ message: expect.stringContaining("write failed"), fields: { reason: expect.stringMatching(/^scale-up/) } });
  });

  test("a failed observation writes nothing", async () => {
    const account = scenarioAccount("fleet");
    account.DescribeTargetHealth = () => { throw new Error("AccessDenied"); };
    const { reconcile } = setup("fleet", {}, account);
    await expect(reconcile(fixture("spot-interruption-warning.json"))).rejects.toThrow("AccessDenied");
    expect(account.writesSince(0)).toEqual([]);
  });

  test("a missing on-demand group is an error, not a silent no-op", async () => {
    const account = scenarioAccount("fleet");
    account.groups.delete("web-ondemand");
    const { reconcile } = setup("fleet", {}, account);
    await expect(reconcile(fixture("scheduled-reconcile.json"))).rejects.toThrow("Auto Scaling group web-ondemand not found");
  });
});

describe("cost of a reconcile", () => {
  const callsFor = async (source: "fleet" | "asg", foreign: number) => {
    const account: FakeAccount = scenarioAccount(source, foreign);
    const { reconcile } = setup(source, {}, account);
    await reconcile(fixture("spot-interruption-warning.json"));
    restore?.();
    return account.countCalls();
  };
  test.each(["fleet", "asg"] as const)("API calls do not grow with the account (%s)", async (source) => {
    const small = await callsFor(source, 10);
    const large = await callsFor(source, 10_000);
    expect(large).toEqual(small);
    // 7 to observe, plus (cold Lambda) the one call that tells the warned instance is ours
    expect(Object.values(small).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(8);
  });
});

test("metrics: spot vs on-demand capacity after every reconcile", async () => {
  const { reconcile, metrics } = setup("fleet");
  await reconcile(fixture("spot-interruption-warning.json"));
  expect(metrics).toEqual([{
    TargetCapacity: 2, SpotHealthyCapacity: 1, SpotReclaiming: 1, OnDemandDesiredCapacity: 1, OnDemandHealthyCapacity: 0, CapacityDeficit: 1, ScalingWrites: 1, SpotSourceGone: 0,
  }]);
});

describe("a Spot Fleet request that expired at validUntil, was cancelled or is no longer listed", () => {
  // Before: the cancelled request counted as "error" (and its target capacity was still written to), and
  // once AWS stopped listing it every reconcile threw "Spot Fleet request … not found" forever.
  test.each(["cancelled", "cancelled_terminating", "cancelled_running", "not listed"])("%s: 0 Spot capacity, on-demand covers, a warning and a metric; never a fleet write", async (how) => {
    const { account, reconcile, logs, metrics } = setup("fleet");
    if (how === "not listed") account.fleet = undefined;
    else account.fleet = { ...account.fleet!, state: how, activity: "fulfilled", target: 1 }; // the target differs: no repair of a dead request
    const first = await reconcile(fixture("scheduled-reconcile.json"));
    expect(first).toMatchObject({ reconciled: true, decision: { action: { kind: "set-on-demand-desired", from: 0, to: 2 }, covering: 0 } });
    const second = await reconcile(fixture("scheduled-reconcile.json"));
    expect(second).toMatchObject({ reconciled: true, decision: { action: { kind: "none" }, covering: 0 } });
    expect(account.calls.filter((c) => WRITE_COMMANDS.has(c.command))).toEqual([
      { command: "SetDesiredCapacityCommand", input: { AutoScalingGroupName: "web-ondemand", DesiredCapacity: 2, HonorCooldown: false } },
    ]);
    expect(account.calls.filter((c) => c.command === "DescribeSpotFleetInstancesCommand")).toEqual([]);
    const gone = logs.filter((l) => /Spot Fleet request cancelled .*no longer listed: 0 Spot capacity, on-demand covers/.test(l.message));
    expect(gone).toHaveLength(2);
    expect(gone[0]).toMatchObject({ level: "warn", fields: { spotFleetRequestId: account.fleet?.id ?? expect.any(String), spotSource: expect.stringMatching(how === "not listed" ? /^not-found\// : new RegExp(`^${how}/`)) } });
    expect(metrics.map((m) => m.SpotSourceGone)).toEqual([1, 1]);
    expect(metrics.map((m) => m.CapacityDeficit)).toEqual([2, 2]);
  });
});
