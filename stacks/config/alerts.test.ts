import { validateConfig, type RawConfig } from "./load";
import { alertsConfigSchema } from "./alerts";

/** Problems of a stack config that differs from a valid spot-only one by `alerts`. */
function problems(alerts: unknown): string[] {
  const raw: RawConfig = {
    values: { features: JSON.stringify({ spotWeb: true, redis: false, elk: false, database: false }), alerts: JSON.stringify(alerts) },
    secretKeys: new Set(),
    others: { "aws:region": "eu-west-1" },
  };
  const r = validateConfig(raw);
  return r.ok ? [] : r.problems;
}

describe("opsfleet:alerts config", () => {
  test("defaults: no subscribers, every threshold set", () => {
    expect(alertsConfigSchema.parse({})).toEqual({
      emails: [], httpsEndpoints: [],
      thresholds: { diskUsedPercent: 85, redisMemoryUsedPercent: 90, esHeapUsedPercent: 85, esDiskUsedPercent: 80, esUnassignedShardsMinutes: 10, onDemandMaxMinutes: 60, alb5xxPercent: 5, backupLateMinutes: 60 },
    });
    expect(problems({ emails: ["ops@example.com", "on-call+db@mail.example.org"], httpsEndpoints: ["https://hooks.example.com/services/T0/B0?x=1"] })).toEqual([]);
  });

  test.each([
    [{ emails: ["ops@example"] }, 'opsfleet:alerts.emails[0]: must be an email address such as ops@example.com (got "ops@example")'],
    [{ emails: ["not an address"] }, 'opsfleet:alerts.emails[0]: must be an email address such as ops@example.com (got "not an address")'],
    [{ httpsEndpoints: ["http://hooks.example.com/x"] }, 'opsfleet:alerts.httpsEndpoints[0]: must be an https:// URL without user or password (SNS confirms it by a request) (got "http://hooks.example.com/x")'],
    [{ httpsEndpoints: ["https://user:pw@hooks.example.com/"] }, 'opsfleet:alerts.httpsEndpoints[0]: must be an https:// URL without user or password (SNS confirms it by a request) (got "https://user:pw@hooks.example.com/")'],
    [{ emails: ["a@example.com", "a@example.com"] }, 'opsfleet:alerts.emails: lists the same subscriber twice; allowed: each once (got "a@example.com")'],
    [{ thresholds: { diskUsedPercent: 100 } }, "opsfleet:alerts.thresholds.diskUsedPercent: must be a whole number from 50 to 99 (got 100)"],
    [{ thresholds: { diskUsedPercent: 42.5 } }, "opsfleet:alerts.thresholds.diskUsedPercent: must be a whole number from 50 to 99 (got 42.5)"],
    [{ thresholds: { onDemandMaxMinutes: 2 } }, "opsfleet:alerts.thresholds.onDemandMaxMinutes: must be a whole number from 5 to 1440 (got 2)"],
    [{ thresholds: { alb5xxPercent: 0 } }, "opsfleet:alerts.thresholds.alb5xxPercent: must be a number from 0.1 to 100 (got 0)"],
    [{ thresholds: { dbKeyMaxAgeDays: "30" } }, 'opsfleet:alerts.thresholds.dbKeyMaxAgeDays: must be a whole number from 1 to 3650 (got "30")'],
    [{ thresholds: { backupLateMinutes: 2 } }, "opsfleet:alerts.thresholds.backupLateMinutes: must be a whole number from 5 to 1440 (got 2)"],
    [{ thresholds: { cpuPercent: 80 } }, "opsfleet:alerts.thresholds.cpuPercent: unknown key (got 80); allowed keys here: diskUsedPercent, redisMemoryUsedPercent, esHeapUsedPercent, esDiskUsedPercent, esUnassignedShardsMinutes, dbKeyMaxAgeDays, onDemandMaxMinutes, alb5xxPercent, backupLateMinutes (see the config reference in README.md)"],
  ])("rejects %j naming the key, the value and what is allowed", (alerts, message) => {
    expect(problems(alerts)).toEqual([message]);
  });
});
