/** Turns captured mock registrations into the plan's JSON-safe values (secrets, assets, resource refs marked). */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";

const rt = pulumi.runtime;

/**
 * Secret values become `{ "$secret": value }` (in an offline plan every secret value is a placeholder such as
 * `<secret:redisPassword>`); assets `{ "$asset": {...} }` with a content hash; archives `{ "$archive": {...} }`;
 * resource references `{ "$resource": urn }`.
 */
export async function renderValue(v: unknown): Promise<unknown> {
  if (Array.isArray(v)) return Promise.all(v.map(renderValue));
  // The mock runtime hands assets/archives over as SDK objects whose fields are promises.
  if (pulumi.asset.Asset.isInstance(v)) {
    const a = v as unknown as { text?: Promise<string>; path?: Promise<string>; uri?: Promise<string> };
    const [text, file, uri] = await Promise.all([a.text, a.path, a.uri]);
    if (typeof text === "string") return { $asset: { kind: "string", bytes: Buffer.byteLength(text), sha256: sha(text) } };
    return { $asset: { kind: file ? "file" : "remote", path: file, uri } };
  }
  if (pulumi.asset.Archive.isInstance(v)) {
    const a = v as unknown as { assets?: Promise<Record<string, unknown>>; path?: Promise<string>; uri?: Promise<string> };
    const [assets, file, uri] = await Promise.all([a.assets, a.path, a.uri]);
    if (assets) return { $archive: Object.fromEntries(await Promise.all(Object.entries(assets).map(async ([k, x]) => [k, await renderValue(x)]))) };
    return { $archive: { path: file, uri } };
  }
  if (v && typeof v === "object") {
    const o = v as Record<string, any>;
    const sig = o[rt.specialSigKey];
    if (sig === rt.specialSecretSig) return { $secret: await renderValue(o.value) };
    if (sig === rt.specialAssetSig) {
      if (typeof o.text === "string") return { $asset: { kind: "string", bytes: Buffer.byteLength(o.text), sha256: sha(o.text) } };
      return { $asset: { kind: o.path ? "file" : "remote", path: o.path, uri: o.uri } };
    }
    if (sig === rt.specialArchiveSig) {
      if (o.assets) return { $archive: Object.fromEntries(await Promise.all(Object.entries(o.assets).map(async ([k, a]) => [k, await renderValue(a)]))) };
      return { $archive: { path: o.path, uri: o.uri } };
    }
    if (sig === rt.specialResourceSig) return { $resource: o.urn };
    return Object.fromEntries(await Promise.all(Object.entries(o).filter(([, x]) => x !== undefined).map(async ([k, x]) => [k, await renderValue(x)])));
  }
  return v;
}

function sha(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
