/** Pure: the human-readable change preview (replacements and step re-runs first). */
import { OPS, summarizePaths, type ChangeSet, type ResourceChange } from "./diff";
import { REFUSED, UNKNOWN_TYPE } from "./rules";

const SIGN: Record<string, string> = { create: "+", update: "~", replace: "+-", delete: "-", same: " " };

function line(c: ResourceChange, detail: string): string {
  return `  ${SIGN[c.op].padEnd(2)} ${c.type.padEnd(46)} ${c.name}${detail ? `  ${detail}` : ""}`;
}

export function renderChanges(cs: ChangeSet, o: { stack: string; against: string; deleteBeforeReplace?: Set<string> }): string {
  const out: string[] = [];
  const s = cs.changeSummary;
  out.push(`opsfleet change preview: stack ${o.stack} against ${o.against}`);
  out.push(`  ${s.replace} to replace, ${s.delete} to delete, ${s.create} to create, ${s.update} to update, ${s.same} unchanged`);
  const unknown = cs.notes.filter((n) => n.includes(UNKNOWN_TYPE)).length;
  if (unknown) out.push(`  ! ${unknown} changed resource(s) of a type without replace data: their "update" may be a replacement (see below)`);
  const refused = cs.notes.filter((n) => n.includes(REFUSED)).length;
  if (refused) out.push(`  ! ${refused} change(s) AWS refuses: pulumi up fails there (see below)`);
  const of = (op: string) => cs.changes.filter((c) => c.op === op);

  if (s.replace) {
    out.push("", "Replacements (the old resource is deleted):");
    for (const c of of("replace")) {
      // A dependent of a delete-before-replace goes first and comes back after it (Pulumi's cascade).
      const order = c.dependentOf?.length
        ? `deleted before ${c.dependentOf.map((u) => u.split("::").pop()).join(", ")}, created after`
        : o.deleteBeforeReplace?.has(c.urn) ? "delete, then create" : "create, then delete";
      out.push(line(c, `because ${c.replaceReasons.join(", ")} (${order})`));
    }
  }
  if (cs.replacementWaves.length) {
    out.push("", "Replacement order (each wave waits for the one before):");
    cs.replacementWaves.forEach((w, i) => out.push(`  ${i + 1}. ${w.join(", ")}`));
  }
  if (cs.stepRuns.length) {
    out.push("", "Provisioning steps that run:");
    for (const h of cs.stepRuns) {
      if (h.instance === "create" || h.instance === "replace") {
        out.push(`  ${h.host}: all ${h.steps.length} steps (${h.instance === "create" ? "new host" : "instance replaced"})`);
        continue;
      }
      out.push(`  ${h.host}:`);
      for (const st of h.steps) {
        const verb = st.op === "create" ? "runs" : st.runs === "update" ? "runs the update command of" : "re-runs";
        out.push(`    ${verb} ${st.step}  (${st.why})`);
      }
    }
  }
  if (cs.outputChanges.length) {
    out.push("", "Stack outputs that change:");
    for (const c of cs.outputChanges) out.push(`  ~ ${c.name}: ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`);
  }
  if (cs.notes.length) {
    out.push("", "Know before you run it:");
    for (const n of cs.notes) out.push(`  ! ${n}`);
  }
  for (const op of OPS.filter((x) => x !== "replace" && x !== "same")) {
    const list = of(op);
    if (!list.length) continue;
    out.push("", `${op === "delete" ? "Deletions" : op === "create" ? "Creations" : "Updates in place"}:`);
    for (const c of list) out.push(line(c, op === "update" ? summarizePaths(c.changedInputs) : ""));
  }
  out.push("", "(offline: computed from the plans and the provider data in tools/change/replace-forcing.json; it cannot see drift");
  out.push(" or values AWS computes at run time. `pulumi preview` with credentials remains the authority.)");
  return out.join("\n") + "\n";
}
