/**
 * The pull-request comment: the change preview of every stack against the base branch, as Markdown.
 *
 *   tsx tools/change/pr-comment.ts --base origin/main --out change-preview.md [--stacks dev,prod]
 *
 * Runs in the PR's own (read-only, secret-less) job, so forks get it too; a separate workflow with
 * write access posts the file (.github/workflows/pr-comment.yml) and never runs the PR's code.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { emptyPlan, resolveAgainst } from "./against";
import { changePreview, changeSetOf, withChanges } from "./preview";
import { renderChanges } from "./render";
import type { ChangeOp } from "./diff";

/** Marks the comment so the poster edits it instead of adding a new one per push. */
export const MARKER = "<!-- opsfleet-change-preview -->";
/** GitHub refuses comments above 65,536 characters; each stack gets its share. */
const MAX_COMMENT = 60_000;

export interface StackPreview {
  stack: string;
  summary?: Record<ChangeOp, number>;
  text?: string;
  error?: string;
}

const fence = (s: string) => "```\n" + s.replace(/```/g, "'''") + "\n```";

export function commentMarkdown(base: string, results: StackPreview[]): string {
  const share = Math.floor((MAX_COMMENT - 2_000) / Math.max(1, results.length));
  const parts = [MARKER, `### Offline change preview against \`${base}\``, ""];
  parts.push("| stack | replace | delete | create | update | unchanged |", "|---|---|---|---|---|---|");
  for (const r of results) {
    const s = r.summary;
    parts.push(s ? `| ${r.stack} | ${s.replace ? `**${s.replace}**` : 0} | ${s.delete ? `**${s.delete}**` : 0} | ${s.create} | ${s.update} | ${s.same} |` : `| ${r.stack} | preview failed | | | | |`);
  }
  for (const r of results) {
    let body = r.error ? `preview failed:\n${r.error}` : r.text ?? "";
    if (body.length > share) body = body.slice(0, share) + `\n... (${body.length - share} more characters: run \`npm run plan -- --stack ${r.stack} --against ${base}\`)`;
    const open = r.error || (r.summary && (r.summary.replace || r.summary.delete)) ? " open" : "";
    parts.push("", `<details${open}><summary>${r.stack}</summary>`, "", fence(body), "", "</details>");
  }
  parts.push("", "Offline: it cannot see drift or values AWS computes at run time; `pulumi preview` (where credentials exist) remains the authority.");
  return parts.join("\n") + "\n";
}

const STACK_FILE = /^Pulumi\.(.+)\.yaml$/;

/** The stacks of the working tree and, with `base`, of that revision too: a stack the PR deletes is previewed (all deletes). */
export function stacksIn(root: string, base?: string): string[] {
  const here = fs.readdirSync(root);
  const there = base ? execFileSync("git", ["ls-tree", "--name-only", base], { cwd: root, encoding: "utf8" }).split("\n") : [];
  return [...new Set([...here, ...there].map((f) => STACK_FILE.exec(f)?.[1]).filter((s): s is string => !!s))].sort();
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const base = arg("--base");
  const out = arg("--out");
  if (!base || !out) throw new Error("usage: tsx tools/change/pr-comment.ts --base <git revision> --out <file.md> [--stacks dev,prod]");
  const root = process.cwd();
  const only = arg("--stacks")?.split(",");
  const results: StackPreview[] = [];
  for (const stack of stacksIn(root, base).filter((s) => !only || only.includes(s))) {
    try {
      const before = resolveAgainst(root, base, stack);
      // A stack file the PR deletes: nothing is planned after it, so every resource of the stack goes.
      const deleted = !fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`));
      const cp = deleted
        ? withChanges(before.plan, emptyPlan(stack, before.plan.region), `${before.label} (Pulumi.${stack}.yaml deleted by this change)`)
        : await changePreview(before.plan, { stack, root }, before.label);
      results.push({ stack, summary: cp.changeSummary, text: renderChanges(changeSetOf(cp), { stack, against: cp.against, deleteBeforeReplace: new Set(cp.resources.filter((r) => r.options.deleteBeforeReplace).map((r) => r.urn)) }) });
    } catch (e) {
      results.push({ stack, error: e instanceof Error ? e.message : String(e) });
    }
  }
  fs.writeFileSync(path.resolve(out), commentMarkdown(base, results));
  // A failed preview fails the job after the comment is written (the comment says why).
  if (results.some((r) => r.error)) process.exitCode = 1;
}

if (require.main === module) {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (e) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(1);
    },
  );
}
