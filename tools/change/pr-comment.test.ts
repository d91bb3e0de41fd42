/**
 * The pull-request comment (tools/change/pr-comment.ts) and the two workflows that produce and post
 * it: previews for forks without secrets, and no PR code ever running with a write token.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { execFileSync } from "node:child_process";
import * as os from "node:os";
import { commentMarkdown, MARKER, stacksIn } from "./pr-comment";

const WF = path.join(__dirname, "..", "..", ".github", "workflows");
const summary = (o: Partial<Record<"replace" | "delete" | "create" | "update" | "same", number>>) => ({ replace: 0, delete: 0, create: 0, update: 0, same: 0, ...o });

test("the stacks previewed include the ones the PR deletes (in the base revision, gone from the tree)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-stacks-"));
  try {
    for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.qa.yaml"]) fs.writeFileSync(path.join(dir, f), "config: {}\n");
    const git = (...a: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...a], { cwd: dir, stdio: "ignore" });
    git("init", "-q");
    git("add", "-A");
    git("commit", "-q", "-m", "base");
    fs.rmSync(path.join(dir, "Pulumi.qa.yaml"));
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), "config: {}\n");
    expect(stacksIn(dir)).toEqual(["dev", "prod"]);
    expect(stacksIn(dir, "HEAD")).toEqual(["dev", "prod", "qa"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe("comment", () => {
  test("starts with the marker the poster edits by, summarizes every stack, opens the ones that replace or delete", () => {
    const md = commentMarkdown("abc1234", [
      { stack: "dev", summary: summary({ update: 3, same: 180 }), text: "opsfleet change preview: stack dev" },
      { stack: "prod", summary: summary({ replace: 2, same: 240 }), text: "Replacements ..." },
      { stack: "staging", error: "the plan of stack staging at git abc failed:\nerror: opsfleet:x: unknown key" },
    ]);
    expect(md.startsWith(MARKER + "\n")).toBe(true);
    expect(md).toContain("| dev | 0 | 0 | 0 | 3 | 180 |");
    expect(md).toContain("| prod | **2** | 0 | 0 | 0 | 240 |");
    expect(md).toContain("| staging | preview failed |");
    expect(md).toMatch(/<details><summary>dev<\/summary>/);
    expect(md).toMatch(/<details open><summary>prod<\/summary>/);
    expect(md).toMatch(/<details open><summary>staging<\/summary>\n\n```\npreview failed:\nthe plan of stack staging/);
    expect(md).toMatch(/`pulumi preview` \(where credentials exist\) remains the authority/);
  });

  test("stays under GitHub's comment limit and cannot close its code fence early", () => {
    const huge = "x".repeat(200_000) + "```";
    const md = commentMarkdown("main", ["dev", "staging", "prod"].map((stack) => ({ stack, summary: summary({ update: 1 }), text: huge })));
    expect(md.length).toBeLessThan(65_536);
    expect(md).toMatch(/more characters: run `npm run plan -- --stack prod --against main`/);
    expect(md.split("```").length - 1).toBe(6);
  });
});

describe("workflows", () => {
  const pr = parse(fs.readFileSync(path.join(WF, "pull-request.yml"), "utf8"));
  const poster = parse(fs.readFileSync(path.join(WF, "pr-comment.yml"), "utf8"));

  test("the preview job runs on pull_request (never pull_request_target), read-only, no secrets, for forks too", () => {
    expect(Object.keys(pr.on)).toEqual(["pull_request"]);
    const job = pr.jobs["change-preview"];
    expect(job.permissions).toEqual({ contents: "read" });
    expect(job.if).toBeUndefined();
    const text = JSON.stringify(job);
    expect(text).not.toMatch(/secrets\.|aws-actions|id-token/);
    const checkout = job.steps.find((s: any) => String(s.uses).startsWith("actions/checkout@"));
    expect(checkout.with).toMatchObject({ "fetch-depth": 0, "persist-credentials": false });
    const run = job.steps.map((s: any) => s.run ?? "").join("\n");
    expect(run).toContain('npx tsx tools/change/pr-comment.ts --base "$BASE_SHA" --out change-preview/comment.md');
    expect(job.steps.find((s: any) => s.run?.includes("pr-comment.ts")).env.BASE_SHA).toBe("${{ github.event.pull_request.base.sha }}");
    expect(job.steps.find((s: any) => String(s.uses).startsWith("actions/upload-artifact@"))).toMatchObject({ if: "always()", with: { name: "change-preview" } });
    // the real preview stays, where credentials exist
    expect(pr.jobs.preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
  });

  test("the poster has the write token but runs no PR code and trusts nothing in the artifact", () => {
    expect(poster.on).toEqual({ workflow_run: { workflows: [pr.name], types: ["completed"] } });
    expect(poster.permissions).toEqual({ actions: "read", "pull-requests": "write" });
    const steps = poster.jobs.comment.steps;
    expect(steps.some((s: any) => String(s.uses ?? "").startsWith("actions/checkout"))).toBe(false);
    const run = steps.map((s: any) => s.run ?? "").join("\n");
    expect(run).not.toMatch(/\bnpm\b|\bnpx\b|\btsx\b|\bnode\b|\bbash change-preview|\bsource\b/);
    expect(run).toMatch(/case "\$pr" in ''\|\*\[!0-9\]\*\)/);
    expect(run).toContain('--jq .head.sha)" = "$HEAD_SHA"');
    expect(run).toContain(`startswith("${MARKER}")`);
    // no workflow expression is expanded inside the script (values come in through env)
    expect(run).not.toMatch(/\$\{\{/);
  });
});
