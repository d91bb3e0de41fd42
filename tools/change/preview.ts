/**
 * The change preview: plans the stack with the before plan as the provider's prior state (kept ids and
 * addresses, new ids for replacements: tools/change/state.ts) and diffs the two plans.
 */
import { buildPlan, type BuildPlanOptions, type Plan } from "../plan-core";
import { diffPlans, type ChangeSet } from "./diff";
import { withPulumiUrns } from "./state";

/** The plan JSON with `--against`: the after plan plus what changes. */
export interface ChangePlan extends Plan {
  against: string;
  changes: ChangeSet["changes"];
  changeSummary: ChangeSet["changeSummary"];
  stepRuns: ChangeSet["stepRuns"];
  replacementWaves: ChangeSet["replacementWaves"];
  changeNotes: ChangeSet["notes"];
  outputChanges: ChangeSet["outputChanges"];
}

export function withChanges(before: Plan, after: Plan, against: string): ChangePlan {
  const cs = diffPlans(withPulumiUrns(before), after);
  return { ...after, against, changes: cs.changes, changeSummary: cs.changeSummary, stepRuns: cs.stepRuns, replacementWaves: cs.replacementWaves, changeNotes: cs.notes, outputChanges: cs.outputChanges };
}

export async function changePreview(before: Plan, o: Omit<BuildPlanOptions, "prior">, against = "before plan"): Promise<ChangePlan> {
  // A plan saved (or planned at a revision) before URNs took Pulumi's form is matched by the engine's URNs.
  before = withPulumiUrns(before);
  const after = await buildPlan({ ...o, prior: before });
  return withChanges(before, after, against);
}

export function changeSetOf(p: ChangePlan): ChangeSet {
  return { changes: p.changes, changeSummary: p.changeSummary, stepRuns: p.stepRuns, replacementWaves: p.replacementWaves, notes: p.changeNotes, outputChanges: p.outputChanges ?? [] };
}
