import { validateConfig, type RawConfig } from "./load";
import { alertsConfigSchema } from "./alerts";

/** Problems of a stack config that differs from a valid spot-only one by `alerts`. */
function problems(alerts: unknown, spot?: unknown): string[] {
  const raw: RawConfig = {
    values: { features: JSON.stringify({ spotWeb: true, redis: false, elk: false, database: false }), alerts: JSON.stringify(alerts), ...(spot ? { spot: JSON.stringify(spot) } : {}) },
    secretKeys: new Set(),
    others: { "aws:region": "eu-west-1" },
  };
  const r = validateConfig(raw);
  return r.ok ? [] : r.problems;
}

const HTTPS = "allowed: a public https:// URL without spaces, user or password (SNS delivers over the internet and confirms it by a request)";

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
    [{ httpsEndpoints: ["http://hooks.example.com/x"] }, `opsfleet:alerts.httpsEndpoints[0]: is not https://; ${HTTPS} (got "http://hooks.example.com/x")`],
    [{ httpsEndpoints: ["https://user:pw@hooks.example.com/"] }, `opsfleet:alerts.httpsEndpoints[0]: carries a user or password; ${HTTPS} (got "https://user:pw@hooks.example.com/")`],
    [{ httpsEndpoints: ["https://hooks.example.com/a b"] }, `opsfleet:alerts.httpsEndpoints[0]: contains whitespace; ${HTTPS} (got "https://hooks.example.com/a b")`],
    ...["https://10.1.2.3/hook", "https://172.20.0.1/hook", "https://192.168.1.1/hook", "https://127.0.0.1:8443/hook", "https://[::1]/hook"].map((u) =>
      [{ httpsEndpoints: [u] }, `opsfleet:alerts.httpsEndpoints[0]: is a private, loopback or link-local address SNS cannot reach; ${HTTPS} (got "${u}")`] as [unknown, string]),
    [{ httpsEndpoints: ["https://localhost/hook"] }, `opsfleet:alerts.httpsEndpoints[0]: is a local host name; ${HTTPS} (got "https://localhost/hook")`],
    [{ emails: ["a..b@example.com"] }, 'opsfleet:alerts.emails[0]: must be an email address such as ops@example.com (got "a..b@example.com")'],
    [{ emails: [".a@example.com"] }, 'opsfleet:alerts.emails[0]: must be an email address such as ops@example.com (got ".a@example.com")'],
    [{ emails: ["a.@example.com"] }, 'opsfleet:alerts.emails[0]: must be an email address such as ops@example.com (got "a.@example.com")'],
    [{ thresholds: { redisMemoryUsedPercent: 100 } }, "opsfleet:alerts.thresholds.redisMemoryUsedPercent: must be a whole number from 50 to 95 (got 100)"],
    [{ thresholds: { esDiskUsedPercent: 95 } }, "opsfleet:alerts.thresholds.esDiskUsedPercent: must be a whole number from 50 to 85 (got 95)"],
    [{ thresholds: { onDemandMaxMinutes: 7 } }, "opsfleet:alerts.thresholds.onDemandMaxMinutes: must be a multiple of 5 (the alarm counts 5-minute periods); allowed: 5, 10, ..., 1440 (got 7)"],
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

  test("onDemandMaxMinutes must outlast a normal failover: spot.stabilizationSeconds plus the hand-back margin", () => {
    expect(problems({ thresholds: { onDemandMaxMinutes: 60 } }, { stabilizationSeconds: 7200 })).toEqual([
      "opsfleet:alerts.thresholds.onDemandMaxMinutes: must exceed opsfleet:spot.stabilizationSeconds (7200 s) plus 10 minutes for Spot to come back and the reconciler to hand back, else web-on-demand-in-use fires on every normal failover; allowed: at least 135 (a multiple of 5), or a lower opsfleet:spot.stabilizationSeconds (got 60)",
    ]);
    // the default alone (60) against a long stabilization: still named
    expect(problems({}, { stabilizationSeconds: 7200 })).toHaveLength(1);
    expect(problems({ thresholds: { onDemandMaxMinutes: 135 } }, { stabilizationSeconds: 7200 })).toEqual([]);
    expect(problems({}, { stabilizationSeconds: 600 })).toEqual([]);
    expect(problems({ thresholds: { onDemandMaxMinutes: 30 } }, { stabilizationSeconds: 900 })).toEqual([]); // Pulumi.prod.yaml
    expect(problems({ thresholds: { onDemandMaxMinutes: 1440 } }, { stabilizationSeconds: 86400 })[0]).toContain("lower opsfleet:spot.stabilizationSeconds to at most 85740 s");
  });

  test("public https endpoints and ordinary addresses pass", () => {
    expect(problems({ httpsEndpoints: ["https://events.pagerduty.com/integration/abc/enqueue", "https://172.32.0.1/x"], emails: ["first.last@example.com"] })).toEqual([]);
  });
});
