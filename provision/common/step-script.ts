import { createHash } from "node:crypto";
import type { RenderedFile, RenderedStep } from "./types";

const SAFE_PATH = /^\/[A-Za-z0-9._\/@+-]+$/;
const SAFE_NAME = /^[a-z_][a-z0-9_-]*$/;
const MODE = /^0?[0-7]{3,4}$/;

/** Validates a file's metadata; throws with the offending field so a bad renderer fails at plan time. */
export function checkFile(f: RenderedFile): void {
  if (!SAFE_PATH.test(f.path) || f.path.includes("..")) throw new Error(`unsafe file path ${JSON.stringify(f.path)}`);
  if (f.mode !== undefined && !MODE.test(f.mode)) throw new Error(`bad mode ${JSON.stringify(f.mode)} for ${f.path}`);
  for (const who of [f.owner, f.group]) {
    if (who !== undefined && !SAFE_NAME.test(who)) throw new Error(`bad owner/group ${JSON.stringify(who)} for ${f.path}`);
  }
}

/**
 * Shell that writes one file atomically: content travels base64-encoded (no quoting or heredoc
 * pitfalls, and a secret never appears as a shell word), lands in a temp file in the target
 * directory, gets its owner and mode, and is renamed over the target only if it differs.
 * `OPSFLEET_CHANGED` lists the paths that changed, so a step can restart only what it must.
 */
export function renderFileWrite(f: RenderedFile): string {
  checkFile(f);
  const mode = f.mode ?? "0644";
  const owner = f.owner ?? "root";
  const group = f.group ?? owner;
  const b64 = Buffer.from(f.content, "utf8").toString("base64");
  const dir = f.path.substring(0, f.path.lastIndexOf("/")) || "/";
  return [
    // Only create a missing directory: `install -d` would reset the mode of an existing one (/etc/redis is 2770).
    `[ -d '${dir}' ] || install -d -m 0755 '${dir}'`,
    `tmp=$(mktemp '${dir}/.opsfleet.XXXXXX')`,
    `base64 -d > "$tmp" <<'OPSFLEET_B64'`,
    ...(b64.match(/.{1,76}/g) ?? []),
    `OPSFLEET_B64`,
    `chown '${owner}:${group}' "$tmp" && chmod '${mode}' "$tmp"`,
    `if cmp -s "$tmp" '${f.path}' && [ "$(stat -c '%U:%G %a' '${f.path}')" = "$(stat -c '%U:%G %a' "$tmp")" ]; then rm -f "$tmp"; else mv -f "$tmp" '${f.path}'; OPSFLEET_CHANGED="$OPSFLEET_CHANGED ${f.path}"; fi`,
  ].join("\n");
}

/**
 * The complete bash program a step pipes to `bash -s` on the host (over `@pulumi/command` on EC2,
 * over ssh in the host tests). Files first, then the step's script.
 */
export function renderStepScript(step: Pick<RenderedStep, "name" | "files" | "script">): string {
  return [
    "#!/usr/bin/env bash",
    `# opsfleet step: ${step.name}`,
    "set -euo pipefail",
    "umask 077",
    "export DEBIAN_FRONTEND=noninteractive",
    'OPSFLEET_CHANGED=""',
    ...step.files.map(renderFileWrite),
    "export OPSFLEET_CHANGED",
    step.script,
    "",
  ].join("\n");
}

/** Content hash used as a step's trigger: a changed rendered file re-runs (replaces) its step. */
export function contentHash(...parts: string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
}
