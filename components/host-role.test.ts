import * as pulumi from "@pulumi/pulumi";
import { byName, ofType, registered, settle, unsecret, useMocks, valueOf } from "../test/harness/pulumi-mocks";
import { HostRole, type HostPolicyStatement } from "./host-role";
import { hostMetricsStatement, hostMetricsNamespace } from "../provision/monitoring/namespace";
import { HostRoles } from "../stacks/host-roles";
import { planViolations } from "../tools/plan-policies";
import type { PlanResource } from "../tools/plan-core";

const asPlan = (type: string, inputs: Record<string, unknown>): PlanResource => ({
  type, name: "x", urn: `urn:${type}::x`, parent: null, custom: true, inputs,
  options: { dependsOn: [], ignoreChanges: [], deletedWith: null, protect: false, additionalSecretOutputs: [], replaceOnChanges: [], deleteBeforeReplace: false, retainOnDelete: false },
});
const policyOf = (name: string) => JSON.parse(unsecret(byName(name, "aws:iam/rolePolicy:RolePolicy").inputs.policy));

describe("HostRole", () => {
  beforeEach(() => useMocks());

  test("EC2-assumable role, its instance profile, one inline policy per concern", async () => {
    const r = new HostRole("dev-redis-role", { description: "Redis hosts", policies: { metrics: [hostMetricsStatement("dev")] }, tags: { env: "dev" } });
    await settle(r);
    const role = byName("dev-redis-role", "aws:iam/role:Role").inputs;
    expect(JSON.parse(role.assumeRolePolicy).Statement).toEqual([{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }]);
    expect(byName("dev-redis-role", "aws:iam/instanceProfile:InstanceProfile").inputs.role).toBe("dev-redis-role");
    expect(await valueOf(r.instanceProfileName)).toBe("dev-redis-role");
    expect(policyOf("dev-redis-role-metrics").Statement).toEqual([{
      Sid: "PublishHostMetrics", Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*",
      Condition: { StringEquals: { "cloudwatch:namespace": hostMetricsNamespace("dev") } },
    }]);
    // the plan's security check accepts exactly this statement
    expect(planViolations({ resources: [asPlan("aws:iam/rolePolicy:RolePolicy", byName("dev-redis-role-metrics").inputs)] })).toEqual([]);
  });

  test("a later concern is one more inline policy; Resource may be an Output", async () => {
    const r = new HostRole("dev-database-role", { description: "db" });
    const bucketArn = pulumi.output("arn:aws:s3:::backups");
    const s3: HostPolicyStatement = { Sid: "WriteBackups", Effect: "Allow", Action: ["s3:PutObject"], Resource: [pulumi.interpolate`${bucketArn}/db/*`] };
    r.allow("backup", [s3]);
    await settle(r, r.policies.get("backup")!);
    expect(policyOf("dev-database-role-backup").Statement[0].Resource).toEqual(["arn:aws:s3:::backups/db/*"]);
    expect(() => r.allow("backup", [{ ...s3, Sid: "Other" }])).toThrow(/policy backup added twice/);
    expect(() => r.allow("restore", [s3])).toThrow(/Sid: got "WriteBackups"; allowed: a Sid not used by another statement/);
  });

  test("bad statements are refused before anything is registered", () => {
    const bad = (policies: Record<string, HostPolicyStatement[]>) => () => new HostRole("r", { description: "x", policies });
    const ok = hostMetricsStatement("dev");
    expect(bad({ metrics: [{ ...ok, Action: ["cloudwatch:*"] }] })).toThrow(/Action: got "cloudwatch:\*"; allowed: named actions/);
    expect(bad({ Metrics: [ok] })).toThrow(/policy name: got "Metrics"/);
    expect(bad({ metrics: [] })).toThrow(/at least one statement/);
    expect(bad({ metrics: [{ ...ok, Sid: "no-dash" }] })).toThrow(/Sid: got "no-dash"/);
    expect(registered).toEqual([]);
  });

  test("HostRoles: one role per group, created once, with the base concerns", async () => {
    const roles = new HostRoles("dev", { metrics: [hostMetricsStatement("dev")] }, {}, {});
    expect(roles.for("redis")).toBe(roles.for("redis"));
    roles.for("database").allow("backup", [{ Sid: "B", Effect: "Allow", Action: ["s3:PutObject"], Resource: "arn:aws:s3:::b/*" }]);
    await settle(...roles.created.values());
    expect(ofType("aws:iam/role:Role").map((r) => r.name).sort()).toEqual(["dev-database-role", "dev-redis-role"]);
    expect(ofType("aws:iam/rolePolicy:RolePolicy").map((r) => r.name).sort()).toEqual(["dev-database-role-backup", "dev-database-role-metrics", "dev-redis-role-metrics"]);
  });

  test("HostRoles.forHost: one role per host (<host>-role) with the base concerns; not mixed with a shared group role", async () => {
    const roles = new HostRoles("dev", { metrics: [hostMetricsStatement("dev")] }, {}, {});
    expect(roles.forHost("redis", "dev-redis-0")).toBe(roles.forHost("redis", "dev-redis-0"));
    roles.forHost("redis", "dev-redis-1").allow("backup", [{ Sid: "W", Effect: "Allow", Action: ["s3:PutObject"], Resource: "arn:aws:s3:::b/redis/dev-redis/dev-redis-1/*" }]);
    await settle(...roles.createdPerHost.values());
    expect(ofType("aws:iam/role:Role").map((r) => r.name).filter((n) => n.startsWith("dev-redis-")).sort()).toEqual(["dev-redis-0-role", "dev-redis-1-role"]);
    expect(ofType("aws:iam/rolePolicy:RolePolicy").map((r) => r.name).filter((n) => n.startsWith("dev-redis-")).sort())
      .toEqual(["dev-redis-0-role-metrics", "dev-redis-1-role-backup", "dev-redis-1-role-metrics"]);
    expect(() => roles.forHost("redis", "prod-redis-0")).toThrow(/host "prod-redis-0": allowed: a host name starting with "dev-"/);
    roles.for("database");
    expect(() => roles.forHost("database", "dev-database-0")).toThrow(/group database already has one role for all its hosts/);
  });
});
