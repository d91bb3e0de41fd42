/**
 * Seeded fault simulation (testing/simulation.ts): thousands of random sequences of interruptions,
 * outages, relaunches, health blips, fleet drift and unreliable event delivery, with the real
 * reconciler in the loop. Invariants (issue 3), checked after every reconcile:
 * - on-demand desired covers the spot deficit (target − healthy spot not being reclaimed, up to max);
 * - at most one write per reconcile;
 * - no scale-down before spot covered the target for the whole window, no flapping;
 * - after the faults stop, on-demand goes back to 0 (and the fleet's capacity is back at the target);
 * - a launch-template change (half the fleet sequences) rolls every fleet instance to the new version,
 *   and rolling never takes a healthy instance out while that leaves fewer than the target serving.
 * A failure prints the seed and scenario: rerun one with `runSimulation(randomScenario(seed))`.
 */
import { randomScenario, runSimulation, SimResult } from "./testing/simulation";

const SEQUENCES = 2000;
const results: SimResult[] = [];

test(`${SEQUENCES} random sequences keep every invariant`, async () => {
  const failures: string[] = [];
  for (let seed = 1; seed <= SEQUENCES; seed++) {
    const r = await runSimulation(randomScenario(seed));
    results.push(r);
    if (r.violations.length) failures.push(`seed ${seed} ${JSON.stringify(r.scenario)}\n    ${r.violations.join("\n    ")}`);
  }
  expect(failures.slice(0, 5)).toEqual([]);
}, 240_000);

test("the sequences really exercised failover, hand-back and the faults", () => {
  const sum = (f: (r: SimResult) => number) => results.reduce((a, r) => a + f(r), 0);
  expect(results).toHaveLength(SEQUENCES);
  expect(sum((r) => r.interruptions)).toBeGreaterThan(SEQUENCES * 2);
  expect(sum((r) => r.scaleUps)).toBeGreaterThan(SEQUENCES);
  expect(sum((r) => r.scaleDowns)).toBeGreaterThan(SEQUENCES);
  expect(sum((r) => r.ignoredEvents)).toBeGreaterThan(SEQUENCES);
  expect(sum((r) => r.spotCapacityRepairs)).toBeGreaterThan(10);
  const changed = results.filter((r) => r.scenario.templateChangeAtSeconds !== undefined);
  expect(changed.length).toBeGreaterThan(SEQUENCES / 5);
  // Most rolls drain old instances; in the rest, reclaims replaced them first (the fleet relaunches on the new version).
  expect(changed.filter((r) => r.retirements >= 1).length).toBeGreaterThan(changed.length * 0.7);
  expect(new Set(results.map((r) => `${r.scenario.source}/${r.scenario.windowSeconds}/${r.scenario.target}`)).size).toBe(2 * 5 * 5);
});

test("a seed replays exactly", async () => {
  const again = await runSimulation(randomScenario(results[41].scenario.seed));
  expect(again).toEqual(results[41]);
});
