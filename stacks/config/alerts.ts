/** `opsfleet:alerts`: who is told when an alarm fires or clears, and the alarms' thresholds. */
import { z } from "zod";

const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

function isHttpsUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "https:" && u.hostname !== "" && u.username === "" && u.password === "";
  } catch {
    return false;
  }
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
    redisMemoryUsedPercent: percent(50, 100, 90, "A Redis instance's used_memory above this share of its maxmemory"),
    esHeapUsedPercent: percent(50, 99, 85, "An Elasticsearch node's JVM heap use above this for 5 minutes"),
    esDiskUsedPercent: percent(50, 95, 80, "An Elasticsearch node's data path fuller than this (ES stops allocating shards at 85% by default)"),
    esUnassignedShardsMinutes: intBetween(1, 1440).default(10)
      .describe("Unassigned shards for longer than this many minutes. Default 10."),
    dbKeyMaxAgeDays: intBetween(1, 3650).optional()
      .describe("The database's current encryption key older than this many days. Default from database.keyRotationSchedule: daily 2, weekly 9, monthly 33; with off, no key-age alarm unless this is set."),
    onDemandMaxMinutes: intBetween(5, 1440).default(60)
      .describe("On-demand web capacity in use longer than this many minutes (a failover that never handed back). Default 60."),
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
    httpsEndpoints: z.array(z.string().refine(isHttpsUrl, { message: "must be an https:// URL without user or password (SNS confirms it by a request)" })).max(50).default([])
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
