/**
 * Bundles the reconciler Lambda with esbuild at program run time (no CallbackFunction, no build
 * step to forget). Deterministic output, so the asset hash — and the Lambda — only change when the code does.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { buildSync } from "esbuild";

export const RECONCILER_ENTRY = path.join(__dirname, "..", "..", "functions", "spot-reconciler", "handler.ts");

/** The bundled handler as one CommonJS file; the AWS SDK v3 is provided by the Node.js 22 Lambda runtime. */
export function bundleReconciler(entry = RECONCILER_ENTRY): string {
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
