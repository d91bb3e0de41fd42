/** Turns captured mock registrations into the plan's JSON-safe values (secrets, assets, resource refs marked). */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";

const rt = pulumi.runtime;

/**
 * Secret values become `{ "$secret": value }` (in an offline plan every secret value is a placeholder such as
 * `<secret:redisPassword>`); assets `{ "$asset": {...} }` with a content hash; archives `{ "$archive": {...} }`;
 * resource references `{ "$resource": urn }`.
 */
export function renderValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(renderValue);
  if (v && typeof v === "object") {
    const o = v as Record<string, any>;
    const sig = o[rt.specialSigKey];
    if (sig === rt.specialSecretSig) return { $secret: renderValue(o.value) };
    if (sig === rt.specialAssetSig) {
      if (typeof o.text === "string") return { $asset: { kind: "string", bytes: Buffer.byteLength(o.text), sha256: sha(o.text) } };
      return { $asset: { kind: o.path ? "file" : "remote", path: o.path, uri: o.uri } };
    }
    if (sig === rt.specialArchiveSig) {
      if (o.assets) return { $archive: Object.fromEntries(Object.entries(o.assets).map(([k, a]) => [k, renderValue(a)])) };
      return { $archive: { path: o.path, uri: o.uri } };
    }
    if (sig === rt.specialResourceSig) return { $resource: o.urn };
    return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined).map(([k, x]) => [k, renderValue(x)]));
  }
  return v;
}

function sha(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
