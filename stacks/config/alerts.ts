/** `opsfleet:alerts`: who is told when an alarm fires or clears, and the alarms' thresholds. */
import { z } from "zod";

// local part: dot-separated atoms (no leading, trailing or doubled dot: SES/SNS refuse them)
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

const HTTPS_ALLOWED = "allowed: a public https:// URL without spaces, user or password (SNS delivers over the internet and confirms it by a request)";

/** Why SNS could not deliver to this URL (null when it could). */
export function httpsEndpointProblem(s: string): string | null {
  if (/\s/.test(s)) return "contains whitespace";
  let u: URL;
  try { u = new URL(s); } catch { return "is not a URL"; }
  if (u.protocol !== "https:") return "is not https://";
  if (u.hostname === "") return "has no host";
  if (u.username !== "" || u.password !== "") return "carries a user or password";
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return "is a local host name";
  const v4 = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (a === 10 || a === 127 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127)) {
      return "is a private, loopback or link-local address SNS cannot reach";
    }
  }
  if (host.includes(":") && (host === "::1" || host === "::" || /^f[cd]/.test(host) || /^fe[89ab]/.test(host))) return "is a private, loopback or link-local address SNS cannot reach";
  return null;
}

/** A whole number in [min, max]; every failure says what is allowed. */
const intBetween = (min: number, max: number) => {
  const allowed = { message: `must be a whole number from ${min} to ${max}` };
  return z.number(allowed).int(allowed).min(min, allowed).max(max, allowed);
};

const percent = (min: number, max: number, fallback: number, what: string) =>
  intBetween(min, max).default(fallback).describe(`${what} (percent, ${min}-${max}). Default ${fallback}.`);

export const thresholdsConfigSchema = z
  .strictObject({
    diskUsedPercent: percent(50, 99, 85, "Root or data volume of any host fuller than this"),
    // below 100: used_memory does not stay above maxmemory, so "> 100" would never fire
    redisMemoryUsedPercent: percent(50, 95, 90, "A Redis instance's used_memory above this share of its maxmemory"),
    esHeapUsedPercent: percent(50, 99, 85, "An Elasticsearch node's JVM heap use above this for 5 minutes"),
    // at most the low watermark (85%): beyond it ES moves shards away (90%) and blocks writes (95%)
    esDiskUsedPercent: percent(50, 85, 80, "An Elasticsearch node's data path fuller than this (ES stops allocating shards to it at 85%, moves them away at 90%, makes indices read-only at 95% by default)"),
    esUnassignedShardsMinutes: intBetween(1, 1440).default(10)
      .describe("Unassigned shards for longer than this many minutes. Default 10."),
    dbKeyMaxAgeDays: intBetween(1, 3650).optional()
      .describe("The database's current encryption key older than this many days. Default from database.keyRotationSchedule: daily 2, weekly 9, monthly 33; with off, no key-age alarm unless this is set."),
    onDemandMaxMinutes: intBetween(5, 1440)
      .refine((m) => !Number.isInteger(m) || m < 5 || m > 1440 || m % 5 === 0, { message: "must be a multiple of 5 (the alarm counts 5-minute periods); allowed: 5, 10, ..., 1440" })
      .default(60)
      .describe("On-demand web capacity in use longer than this many minutes (a failover that never handed back); a multiple of 5, and more than spot.stabilizationSeconds plus 10 minutes. Default 60."),
    alb5xxPercent: z.number({ message: "must be a number from 0.1 to 100" }).min(0.1, { message: "must be a number from 0.1 to 100" }).max(100, { message: "must be a number from 0.1 to 100" })
      .default(5).describe("ALB 5xx responses (its own and the targets') above this share of requests for 5 minutes (percent, 0.1-100). Default 5."),
    backupLateMinutes: intBetween(5, 1440).default(60)
      .describe("A backup job is overdue when its last good run is older than its interval plus this many minutes (covers the run's own duration). Default 60."),
  })
  .describe("Alarm thresholds; every alarm exists with its default when not set.");

export const alertsConfigSchema = z
  .strictObject({
    emails: z.array(z.string().regex(EMAIL, { message: "must be an email address such as ops@example.com" })).max(50).default([])
      .describe("Email addresses subscribed to the stack's alarm topic (each confirms once by mail). ALARM and OK transitions are sent."),
    httpsEndpoints: z.array(z.string().superRefine((u, ctx) => {
      const problem = httpsEndpointProblem(u);
      if (problem) ctx.addIssue({ code: "custom", input: u, message: `${problem}; ${HTTPS_ALLOWED}` });
    })).max(50).default([])
      .describe("HTTPS endpoints subscribed to the alarm topic; plain http is refused. SNS first POSTs a SubscriptionConfirmation that the endpoint must confirm (visit its SubscribeURL): use a paging service or relay that does (e.g. an SNS-aware integration URL); a chat webhook that only accepts its own message format never confirms and receives nothing."),
    thresholds: thresholdsConfigSchema.prefault({}),
  })
  .superRefine((a, ctx) => {
    for (const key of ["emails", "httpsEndpoints"] as const) {
      const list = Array.isArray(a[key]) ? a[key] : [];
      const dup = list.find((v, i) => list.indexOf(v) !== i);
      if (dup !== undefined) ctx.addIssue({ code: "custom", path: [key], input: dup, message: "lists the same subscriber twice; allowed: each once" });
    }
  })
  .describe("Alarm notifications (SNS topic per stack) and thresholds.");

export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
export type ThresholdsConfig = z.infer<typeof thresholdsConfigSchema>;

/**
 * Time a normal failover keeps on-demand capacity beyond `spot.stabilizationSeconds`: Spot
 * replacing what it lost (launch, boot, ALB health checks) and the reconciler's 1-minute period.
 */
export const ON_DEMAND_HANDBACK_MARGIN_SECONDS = 10 * 60;

/**
 * Why `alerts.thresholds.onDemandMaxMinutes` would fire on every normal failover with this
 * `spot.stabilizationSeconds` (null when it would not).
 */
export function onDemandMaxMinutesProblem(stabilizationSeconds: number, onDemandMaxMinutes: number): string | null {
  const normal = stabilizationSeconds + ON_DEMAND_HANDBACK_MARGIN_SECONDS;
  if (onDemandMaxMinutes * 60 > normal) return null;
  const least = (Math.floor(normal / 60 / 5) + 1) * 5;
  return `must exceed opsfleet:spot.stabilizationSeconds (${stabilizationSeconds} s) plus ${ON_DEMAND_HANDBACK_MARGIN_SECONDS / 60} minutes for Spot to come back and the reconciler to hand back, else web-on-demand-in-use fires on every normal failover; allowed: ${least <= 1440 ? `at least ${least} (a multiple of 5), or a lower opsfleet:spot.stabilizationSeconds` : `lower opsfleet:spot.stabilizationSeconds to at most ${1440 * 60 - ON_DEMAND_HANDBACK_MARGIN_SECONDS - 60} s`}`;
}
