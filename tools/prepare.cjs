// npm `prepare`: builds dist/ (compiled JS + .d.ts) when the package is installed from a git URL,
// packed (`npm pack`, a tarball), or installed in a checkout (`npm ci`). Skipped in milliseconds
// when dist/ is newer than every source it is built from. A production install without
// devDependencies cannot build and does not need to: it says so and succeeds.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
/** Written after a successful build, dated when the build started. */
const stamp = path.join(root, "dist", ".built");

/** Newest mtime of the build's inputs (tsconfig.build.json's include, and the configs). */
function newestSource() {
  let newest = 0;
  const visit = (p) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) if (e !== "node_modules") visit(path.join(p, e));
    } else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ["index.ts", "components", "provision", "functions"]) visit(path.join(root, p));
  for (const p of ["tsconfig.json", "tsconfig.build.json", "package.json"]) newest = Math.max(newest, fs.statSync(path.join(root, p)).mtimeMs);
  return newest;
}

if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= newestSource()) {
  console.error("opsfleet prepare: dist/ is current");
  process.exit(0);
}
let tsc;
try {
  tsc = require.resolve("typescript/bin/tsc");
} catch {
  console.error("opsfleet prepare: typescript is not installed (production install): dist/ not built");
  process.exit(0);
}
const started = new Date();
fs.rmSync(path.join(root, "dist"), { recursive: true, force: true }); // no stale files of deleted sources
// stdout stays clean for `npm pack --json`
execFileSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { stdio: ["ignore", process.stderr, "inherit"] });
fs.writeFileSync(stamp, `built ${started.toISOString()}\n`);
fs.utimesSync(stamp, started, started);
