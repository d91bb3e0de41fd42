import { databaseConfigSchema } from "./database";
import { rejectionIssues } from "./test-fixtures";

/** Paths and messages of every problem of one invalid `opsfleet:database` section. */
const issues = (x: unknown) => rejectionIssues(databaseConfigSchema, x);

describe("opsfleet:database config", () => {
  test("defaults: encrypted MariaDB on t3.medium, separate 1 GiB key volume, monthly rotation", () => {
    expect(databaseConfigSchema.parse({})).toEqual({
      engine: "mariadb", instanceType: "t3.medium", subnetIndex: 0, dataVolumeSizeGb: 50, dataVolumeIops: 3000, keyVolumeSizeGb: 1,
      databaseName: "app", appUser: "app", appUserHost: "%", keyRotationSchedule: "monthly", binlogExpireDays: 7,
    });
    expect(databaseConfigSchema.parse({ engine: "mysql", keyRotationSchedule: "weekly" })).toMatchObject({ engine: "mysql", keyRotationSchedule: "weekly" });
  });

  test.each([
    [{ engine: "postgres" }, "engine", /mariadb|mysql/],
    [{ instanceType: "large" }, "instanceType", /EC2 instance type/],
    [{ databaseName: "my-app" }, "databaseName", /letters, digits and _/],
    [{ appUser: "root" }, "appUser", /must not be root/],
    [{ appUser: "x".repeat(33) }, "appUser", /at most 32 characters/],
    [{ appUserHost: "10.0.0.0/8" }, "appUserHost", /MySQL host pattern/],
    [{ keyRotationSchedule: "hourly" }, "keyRotationSchedule", /daily|monthly/],
    [{ dataVolumeSizeGb: 4 }, "dataVolumeSizeGb", /at least 8/],
    [{ keyVolumeSizeGb: 0 }, "keyVolumeSizeGb", /at least 1/],
    [{ dataVolumeIops: 100 }, "dataVolumeIops", /at least 3000/],
    [{ engine: "mysql", encryptionThreads: 8 }, "encryptionThreads", /only applies to engine mariadb/],
    [{ dbPassword: "x" }, "", /dbPassword|Unrecognized/i],
  ])("%o names %s", (bad, key, message) => {
    const found = issues(bad);
    expect(found.map((i) => i.path)).toContain(key);
    expect(found.find((i) => i.path === key)?.message).toMatch(message);
  });
});
