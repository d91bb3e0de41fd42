import {
  assessSpotMembers, COVERED_SINCE_TAG, decide, fingerprint, formatCoveredTag, Observation, parseCoveredTag, SpotInstanceFacts, SpotMember,
} from "./decide";

const T0 = Date.parse("2026-03-01T10:00:00Z");
const WINDOW = 600;
const settings = { targetCapacity: 3, stabilizationSeconds: WINDOW };

const healthy = (id: string): SpotMember => ({ instanceId: id, healthy: true });
const unhealthy = (id: string): SpotMember => ({ instanceId: id, healthy: false });
const reclaimed = (id: string): SpotMember => ({ instanceId: id, healthy: true, reclaimReason: "spot-request:marked-for-termination" });
const od = ["i-0d1", "i-0d2", "i-0d3"];

function obs(o: {
  members: SpotMember[]; desired: number; max?: number; odIds?: string[]; tag?: string;
  state?: Observation["spot"]["state"]; requested?: number; nowMs?: number;
}): Observation {
  return {
    nowMs: o.nowMs ?? T0,
    spot: { state: o.state ?? "steady", requested: o.requested ?? 3, members: o.members },
    onDemand: { desired: o.desired, max: o.max ?? 3, instanceIds: o.odIds ?? od.slice(0, o.desired), coveredTag: o.tag },
  };
}
const full = [healthy("i-a"), healthy("i-b"), healthy("i-c")];
/** The tag a previous reconcile would have written when coverage by `full` started `ago` seconds earlier. */
const tagFor = (agoSeconds: number, desired: number, members = full, odIds = od.slice(0, desired)) =>
  formatCoveredTag(T0 - agoSeconds * 1000, desired, fingerprint(members.filter((m) => m.healthy && !m.reclaimReason).map((m) => m.instanceId), odIds));

describe("decide: decision table", () => {
  const table: [string, Observation, ReturnType<typeof decide>["action"]][] = [
    ["all spot healthy, no on-demand: nothing", obs({ members: full, desired: 0 }), { kind: "none" }],
    ["one spot reclaimed: scale up by exactly the deficit", obs({ members: [healthy("i-a"), healthy("i-b"), reclaimed("i-c")], desired: 0 }), { kind: "set-on-demand-desired", from: 0, to: 1 }],
    ["all spot lost: scale up to the target at once", obs({ members: [], desired: 0 }), { kind: "set-on-demand-desired", from: 0, to: 3 }],
    ["unhealthy spot counts as missing", obs({ members: [healthy("i-a"), unhealthy("i-b"), unhealthy("i-c")], desired: 0 }), { kind: "set-on-demand-desired", from: 0, to: 2 }],
    ["deficit already covered: no write", obs({ members: [healthy("i-a"), reclaimed("i-c")], desired: 2 }), { kind: "none" }],
    ["scale-up clamps to the on-demand max", obs({ members: [], desired: 0, max: 2 }), { kind: "set-on-demand-desired", from: 0, to: 2 }],
    ["more spot than target: never negative", obs({ members: [...full, healthy("i-d")], desired: 0 }), { kind: "none" }],
    ["deficit grows while on-demand is up: scale up further", obs({ members: [healthy("i-a")], desired: 1 }), { kind: "set-on-demand-desired", from: 1, to: 2 }],
    ["spot partly back: hold on-demand, no partial scale-down", obs({ members: [healthy("i-a"), healthy("i-b")], desired: 3 }), { kind: "none" }],
    ["spot back in full, no tag yet: the window starts", obs({ members: full, desired: 2 }), { kind: "mark-covered", tagValue: tagFor(0, 2) }],
    ["covered for less than the window: hold", obs({ members: full, desired: 2, tag: tagFor(WINDOW - 1, 2) }), { kind: "none" }],
    ["covered for the whole window: scale down to 0", obs({ members: full, desired: 2, tag: tagFor(WINDOW, 2) }), { kind: "set-on-demand-desired", from: 2, to: 0 }],
    ["window elapsed but spot fleet modifying: hold", obs({ members: full, desired: 2, tag: tagFor(WINDOW * 2, 2), state: "modifying" }), { kind: "none" }],
    ["window elapsed but spot source in error: hold", obs({ members: full, desired: 2, tag: tagFor(WINDOW * 2, 2), state: "error" }), { kind: "none" }],
    ["tag written for another desired capacity: restart the window", obs({ members: full, desired: 3, tag: tagFor(WINDOW * 2, 2) }), { kind: "mark-covered", tagValue: tagFor(0, 3) }],
    ["tag written for another instance set (a spot relaunch since): restart",
      obs({ members: [healthy("i-a"), healthy("i-b"), healthy("i-new")], desired: 2, tag: tagFor(WINDOW * 2, 2) }),
      { kind: "mark-covered", tagValue: tagFor(0, 2, [healthy("i-a"), healthy("i-b"), healthy("i-new")]) }],
    ["tag from an earlier failover, on-demand relaunched since: restart",
      obs({ members: full, desired: 2, odIds: ["i-0d8", "i-0d9"], tag: tagFor(WINDOW * 2, 2) }),
      { kind: "mark-covered", tagValue: tagFor(0, 2, full, ["i-0d8", "i-0d9"]) }],
    ["garbage tag: treated as absent", obs({ members: full, desired: 1, tag: "yesterday" }), { kind: "mark-covered", tagValue: tagFor(0, 1) }],
    ["tag from the future: treated as absent", obs({ members: full, desired: 1, tag: tagFor(-3600, 1) }), { kind: "mark-covered", tagValue: tagFor(0, 1) }],
    ["coverage lost while waiting, no scale-up needed: clear the tag", obs({ members: [healthy("i-a"), healthy("i-b")], desired: 2, tag: tagFor(60, 2) }), { kind: "clear-covered" }],
    ["coverage lost with scale-up: the scale-up wins (one write)", obs({ members: [healthy("i-a")], desired: 1, tag: tagFor(60, 1) }), { kind: "set-on-demand-desired", from: 1, to: 2 }],
    ["back on spot only, stale tag: clean it up", obs({ members: full, desired: 0, tag: tagFor(900, 2) }), { kind: "clear-covered" }],
    ["coverage lost while the fleet capacity drifted: clearing the tag comes first",
      obs({ members: [healthy("i-a"), healthy("i-b"), unhealthy("i-c")], desired: 1, requested: 2, tag: tagFor(200, 1) }), { kind: "clear-covered" }],
    ["fleet asked for less than the target: set it back",  obs({ members: full, desired: 0, requested: 2 }), { kind: "set-spot-requested", from: 2, to: 3 }],
    ["fleet asked for another capacity while modifying: wait", obs({ members: full, desired: 0, requested: 2, state: "modifying" }), { kind: "none" }],
    ["scale-up beats fixing the fleet's capacity", obs({ members: [healthy("i-a")], desired: 0, requested: 1 }), { kind: "set-on-demand-desired", from: 0, to: 2 }],
    ["reclaimed instances never count, even if still healthy", obs({ members: [reclaimed("i-a"), reclaimed("i-b"), reclaimed("i-c")], desired: 0 }), { kind: "set-on-demand-desired", from: 0, to: 3 }],
  ];
  test.each(table)("%s", (_name, o, expected) => {
    expect(decide(o, settings).action).toEqual(expected);
  });

  test("the decision reports counts and a reason for the log", () => {
    const d = decide(obs({ members: [healthy("i-a"), reclaimed("i-b"), unhealthy("i-c")], desired: 0 }), settings);
    expect(d).toMatchObject({ target: 3, covering: 1, reclaiming: 1, onDemandWanted: 2, onDemandDesired: 0, reason: expect.stringMatching(/^scale-up/) });
  });

  test("stabilizing hold reports how long spot has covered", () => {
    const d = decide(obs({ members: full, desired: 2, tag: tagFor(120, 2) }), settings);
    expect(d.coveredForSeconds).toBe(120);
    expect(d.reason).toContain("120s of 600s");
  });

  test("a zero window still needs one covered observation before scaling down", () => {
    const s0 = { targetCapacity: 3, stabilizationSeconds: 0 };
    expect(decide(obs({ members: full, desired: 1 }), s0).action.kind).toBe("mark-covered");
    expect(decide(obs({ members: full, desired: 1, tag: tagFor(0, 1) }), s0).action).toEqual({ kind: "set-on-demand-desired", from: 1, to: 0 });
  });
});

describe("assessSpotMembers", () => {
  const f = (o: Partial<SpotInstanceFacts>): SpotInstanceFacts => ({ instanceId: "i-a", state: "running", spotRequestStatus: "fulfilled", targetHealth: "healthy", ...o });
  const one = (o: Partial<SpotInstanceFacts>, hints = { interruptions: [] as string[], rebalances: [] as string[] }, rebalanceLost = false) =>
    assessSpotMembers([f(o)], hints, rebalanceLost)[0];

  test.each([
    ["instance-terminated-no-capacity"], ["marked-for-termination"], ["marked-for-stop"], ["instance-terminated-by-price"], ["instance-stopped-no-capacity"],
  ])("spot request status %s means reclaimed", (code) => {
    expect(one({ spotRequestStatus: code }).reclaimReason).toBe(`spot-request:${code}`);
  });
  test.each([["fulfilled"], ["request-canceled-and-instance-running"]])("status %s is not a reclaim", (code) => {
    expect(one({ spotRequestStatus: code }).reclaimReason).toBeUndefined();
  });
  test("an interruption warning for the instance marks it reclaimed", () => {
    expect(one({}, { interruptions: ["i-a"], rebalances: [] }).reclaimReason).toBe("interruption-warning");
  });
  test("a warning for another instance changes nothing", () => {
    expect(one({}, { interruptions: ["i-other"], rebalances: [] }).reclaimReason).toBeUndefined();
  });
  test("a rebalance recommendation alone is not lost capacity by default", () => {
    expect(one({}, { interruptions: [], rebalances: ["i-a"] }).reclaimReason).toBeUndefined();
  });
  test("… unless configured so", () => {
    expect(one({}, { interruptions: [], rebalances: ["i-a"] }, true).reclaimReason).toBe("rebalance-recommendation");
  });
  test.each([["shutting-down"], ["stopping"], ["terminated"]])("instance state %s is a loss", (state) => {
    expect(one({ state })).toMatchObject({ healthy: false, reclaimReason: `instance:${state}` });
  });
  test.each([["Terminating"], ["Terminating:Wait"], ["Standby"], ["Detaching"]])("ASG lifecycle %s is a loss", (lifecycleState) => {
    expect(one({ lifecycleState }).reclaimReason).toBe(`lifecycle:${lifecycleState}`);
  });
  test.each([["initial"], ["unhealthy"], ["draining"], [undefined]])("target health %s is not healthy", (targetHealth) => {
    expect(one({ targetHealth }).healthy).toBe(false);
  });
});

describe("coverage tag", () => {
  test("round-trips and rejects junk", () => {
    const v = formatCoveredTag(T0, 2, "0123abcd");
    expect(parseCoveredTag(v)).toEqual({ sinceMs: T0, desired: 2, fp: "0123abcd" });
    for (const junk of ["", "2026-03-01T10:00:00.000Z|2", "x|2|0123abcd", "2026-03-01T10:00:00.000Z|-1|0123abcd", undefined])
      expect(parseCoveredTag(junk)).toBeUndefined();
  });
  test("fingerprint ignores order but not membership", () => {
    expect(fingerprint(["i-a", "i-b"], ["i-x"])).toBe(fingerprint(["i-b", "i-a"], ["i-x"]));
    expect(fingerprint(["i-a", "i-b"], ["i-x"])).not.toBe(fingerprint(["i-a", "i-c"], ["i-x"]));
    expect(fingerprint(["i-a"], ["i-b"])).not.toBe(fingerprint(["i-a", "i-b"], []));
  });
  test("fits an ASG tag value (<= 256 chars) whatever the fleet size", () => {
    expect(formatCoveredTag(T0, 1000, fingerprint(Array.from({ length: 5000 }, (_, i) => `i-${i}`), [])).length).toBeLessThanOrEqual(256);
    expect(COVERED_SINCE_TAG.length).toBeLessThanOrEqual(128);
  });
});
