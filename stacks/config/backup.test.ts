import { backupConfigSchema } from "./backup";
import { validateConfig } from "./load";
import { rejectionIssues } from "./test-fixtures";

const issues = (x: unknown) => rejectionIssues(backupConfigSchema, x);

describe("opsfleet:backup config", () => {
  test("defaults: 14 days, daily full database backup + 5 min recovery point, Redis every 6 h, daily SLM and snapshots", () => {
    expect(backupConfigSchema.parse({})).toEqual({
      retentionDays: 14,
      database: { intervalHours: 24, startTime: "02:15", recoveryPointMinutes: 5 },
      redis: { intervalHours: 6, startTime: "00:45" },
      elasticsearch: { intervalHours: 24, startTime: "01:30", minCount: 5, maxCount: 50 },
      snapshots: { intervalHours: 24, startTime: "03:00" },
    });
  });

  test.each([
    [{ database: { intervalHours: 5 } }, "database.intervalHours", /one of 1, 2, 3, 4, 6, 8, 12, 24 .*DLM/],
    [{ snapshots: { intervalHours: 48 } }, "snapshots.intervalHours", /one of 1, 2, 3, 4, 6, 8, 12, 24/],
    [{ redis: { startTime: "25:00" } }, "redis.startTime", /HH:MM/],
    [{ database: { recoveryPointMinutes: 0 } }, "database.recoveryPointMinutes", /at least 1/],
    [{ database: { recoveryPointMinutes: 90 } }, "database.recoveryPointMinutes", /at most 60/],
    [{ retentionDays: 0 }, "retentionDays", /at least 1/],
    [{ snapshots: { retentionDays: 4000 } }, "snapshots.retentionDays", /at most 3650/],
    [{ elasticsearch: { minCount: 10, maxCount: 3 } }, "elasticsearch.minCount", /must not exceed elasticsearch.maxCount \(3\); SLM rejects it/],
    [{ redis: { every: 6 } }, "redis", /every/],
  ])("%j is rejected at %s", (input, path, message) => {
    expect(issues(input)).toEqual(expect.arrayContaining([expect.objectContaining({ path, message: expect.stringMatching(message) })]));
  });

  test("the stack's error names the full key and the value", () => {
    const r = validateConfig({ values: { backup: JSON.stringify({ database: { intervalHours: 5 } }), "features": JSON.stringify({ spotWeb: false, redis: false, elk: false, database: false }) }, secretKeys: new Set(), others: { "aws:region": "eu-west-1" } });
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^opsfleet:backup\.database\.intervalHours: must be one of 1, 2, 3, 4, 6, 8, 12, 24 .*\(got 5\)$/)]));
  });
});
