/**
 * Bundles the reconciler Lambda with esbuild at program run time (no CallbackFunction, no build
 * step to forget). Deterministic output, so the asset hash — and the Lambda — only change when the code does.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { buildSync } from "esbuild";

/** Where the handler is: beside the sources (repo, tsx), compiled beside us (dist/), or the package's shipped sources. */
const ENTRY_CANDIDATES = [
  path.join(__dirname, "..", "..", "functions", "spot-reconciler", "handler.ts"),
  path.join(__dirname, "..", "..", "functions", "spot-reconciler", "handler.js"),
  path.join(__dirname, "..", "..", "..", "functions", "spot-reconciler", "handler.ts"),
];

export function reconcilerEntry(candidates = ENTRY_CANDIDATES): string {
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error(`spot reconciler source not found; looked for ${candidates.join(", ")}`);
  return found;
}

/** The bundled handler as one CommonJS file; the AWS SDK v3 is provided by the Node.js 22 Lambda runtime. */
export function bundleReconciler(entry = reconcilerEntry()): string {
  const out = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    minify: true,
    legalComments: "none",
    write: false,
    external: ["@aws-sdk/*"],
    logLevel: "silent",
  });
  return out.outputFiles[0].text;
}

/** Lambda code archive: `index.js` exporting `handler`. */
export function reconcilerArchive(): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(bundleReconciler()) });
}
