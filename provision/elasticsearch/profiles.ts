import type { EsRequest } from "./es-requests";

/**
 * Index tuning profiles, reversible:
 * - `bulk-ingest`: `index.translog.durability: async`, 0 replicas, refresh every 300 s. Faster
 *   ingestion, but a crash can lose acknowledged writes (async translog: up to the sync interval;
 *   0 replicas: everything on a lost node). Only for data that can be replayed.
 * - `normal`: durability `request`, the configured replicas, default refresh; then a refresh so the
 *   loaded data becomes searchable and a wait for green (all replicas allocated again).
 * Both also rewrite the index template, so indices created while a profile is on get it too.
 */
export const PROFILES = ["bulk-ingest", "normal"] as const;
export type IndexProfile = (typeof PROFILES)[number];

export interface ProfileOptions {
  /** Indices the profile applies to (and the template matches). @default "logstash-*" */
  indexPattern: string;
  /** Index template name. @default "opsfleet-logstash" */
  templateName: string;
  /** Primary shards for new indices (existing indices keep theirs: shrink/split is a separate, manual operation). */
  shards: number;
  /** Replicas under the `normal` profile. */
  replicas: number;
  /** How long `normal` waits for green, in minutes. @default 30 */
  greenTimeoutMinutes: number;
}

export const BULK_REFRESH_INTERVAL = "300s";

export function checkProfileOptions(o: ProfileOptions): void {
  if (!/^[a-z0-9][a-z0-9_.*-]*$/.test(o.indexPattern)) {
    throw new Error(`indexPattern ${JSON.stringify(o.indexPattern)}: allowed are lowercase letters, digits, '-', '_', '.', '*' (e.g. logstash-*)`);
  }
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(o.templateName)) throw new Error(`templateName ${JSON.stringify(o.templateName)}: lowercase letters, digits, '-', '_'`);
  if (!Number.isInteger(o.shards) || o.shards < 1 || o.shards > 1024) throw new Error(`shards: ${o.shards} (allowed: 1..1024)`);
  if (!Number.isInteger(o.replicas) || o.replicas < 0) throw new Error(`replicas: ${o.replicas} (allowed: 0 or more)`);
  if (!Number.isInteger(o.greenTimeoutMinutes) || o.greenTimeoutMinutes < 1) throw new Error(`greenTimeoutMinutes: ${o.greenTimeoutMinutes} (allowed: 1 or more)`);
}

export function isIndexProfile(x: string): x is IndexProfile {
  return (PROFILES as readonly string[]).includes(x);
}

/** Dynamic index settings a profile sets (`null` resets a setting to Elasticsearch's default). */
export function profileIndexSettings(profile: IndexProfile, o: ProfileOptions): Record<string, unknown> {
  return profile === "bulk-ingest"
    ? { number_of_replicas: 0, refresh_interval: BULK_REFRESH_INTERVAL, translog: { durability: "async" } }
    : { number_of_replicas: o.replicas, refresh_interval: null, translog: { durability: "request" } };
}

/** The index template body: configured shard count, plus the profile's settings for new indices. */
export function indexTemplateBody(profile: IndexProfile, o: ProfileOptions): Record<string, unknown> {
  const settings =
    profile === "bulk-ingest"
      ? { number_of_shards: o.shards, ...profileIndexSettings(profile, o) }
      : { number_of_shards: o.shards, number_of_replicas: o.replicas }; // no refresh/durability: defaults
  return {
    index_patterns: [o.indexPattern],
    priority: 200,
    template: { settings: { index: settings } },
    _meta: { managed_by: "opsfleet", profile },
  };
}

/** THE list of calls for a profile. The CLI sends these through @elastic/elasticsearch; the host step renders them to curl. */
export function profileRequests(profile: IndexProfile, o: ProfileOptions): EsRequest[] {
  checkProfileOptions(o);
  const idx = o.indexPattern;
  const reqs: EsRequest[] = [
    {
      method: "PUT",
      path: `/_index_template/${o.templateName}`,
      body: indexTemplateBody(profile, o),
      summary: `index template ${o.templateName} for new ${idx} indices: ${o.shards} shards, ${profile}`,
    },
    {
      method: "PUT",
      path: `/${idx}/_settings`,
      // Update-settings refuses a pattern that matches nothing by default; a fresh cluster has no indices yet.
      querystring: { allow_no_indices: "true" },
      body: { index: profileIndexSettings(profile, o) },
      summary:
        profile === "bulk-ingest"
          ? `existing ${idx}: translog async, 0 replicas, refresh ${BULK_REFRESH_INTERVAL}`
          : `existing ${idx}: translog request, ${o.replicas} replicas, default refresh`,
    },
  ];
  if (profile === "normal") {
    reqs.push(
      { method: "POST", path: `/${idx}/_refresh`, summary: `refresh ${idx} so bulk-loaded documents become searchable`, timeoutSeconds: 600 },
      {
        method: "GET",
        path: `/_cluster/health/${idx}`,
        querystring: { wait_for_status: "green", timeout: `${o.greenTimeoutMinutes}m` },
        summary: `wait up to ${o.greenTimeoutMinutes} min for green (replicas allocated)`,
        timeoutSeconds: o.greenTimeoutMinutes * 60 + 30,
        expectGreen: true,
      },
    );
  }
  return reqs;
}
