import * as pulumi from "@pulumi/pulumi";
import { byName, OptionsRecorder, settle, useMocks, valueOf } from "../test/harness/pulumi-mocks";
import { composeDatabase } from "./database";
import { databaseConfigSchema } from "./config/database";
import type { StackContext } from "./context";
import { testContext } from "./test-context";

const ctx = (over: Partial<StackContext> = {}) => testContext({ secrets: { dbRootPassword: pulumi.secret("r00t-Pa55word-long-enough"), dbAppPassword: pulumi.secret("app-Pa55word-long-enough") }, ...over });

describe("composeDatabase", () => {
  beforeAll(() => useMocks());

  test("builds the encrypted host from config (protectData protects both volumes) and returns endpoint and names", async () => {
    const rec = new OptionsRecorder();
    const out = composeDatabase(databaseConfigSchema.parse({ engine: "mysql", subnetIndex: 1, dataVolumeSizeGb: 100 }), ctx({ protectData: true, opts: rec.opts }));
    await settle();
    expect(await valueOf(out.endpoint)).toMatch(/:3306$/);
    expect(out).toMatchObject({ engine: "mysql", databaseName: "app", appUser: "app", keyDir: "/var/lib/mysql-keyring" });
    expect(byName("dev-db-host", "aws:ec2/instance:Instance").inputs).toMatchObject({ tags: { env: "dev", Name: "dev-db-host" } });
    expect(byName("dev-db-host", "aws:ec2/networkInterface:NetworkInterface").inputs.subnetId).toBe("subnet-priv-b");
    expect(byName("dev-db-host-data", "aws:ebs/volume:Volume").inputs.size).toBe(100);
    expect(rec.optionsOf("dev-db-host-data").protect).toBe(true);
    expect(rec.optionsOf("dev-db-host-keys").protect).toBe(true);
    expect(byName("dev-db-in-db-0", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").inputs.referencedSecurityGroupId).toBe("sg-web");
  });

  test("a subnetIndex beyond the private subnets, or a missing secret, is named", () => {
    expect(() => composeDatabase(databaseConfigSchema.parse({ subnetIndex: 2 }), ctx({ privateSubnetIds: ["subnet-priv-a", "subnet-priv-b"] }))).toThrow(
      "opsfleet:database.subnetIndex: out of range (got 2; allowed: 0 to 1, one per private subnet)",
    );
    expect(() => composeDatabase(databaseConfigSchema.parse({}), ctx({ secrets: {} }))).toThrow("opsfleet:dbRootPassword: missing secret");
  });
});
