import { byName, settle, useMocks, valueOf } from "../test/harness/pulumi-mocks";
import { composeSpot } from "./spot";
import { spotConfigSchema } from "./config/spot";
import type { StackContext } from "./context";

/** A context like the one buildOpsfleet gives a stack without host systems: ssh/keyName/bastion throw if touched. */
const ctx = (prefix: string): StackContext => {
  const c = {
    prefix, vpcId: "vpc-1", publicSubnetIds: ["subnet-pub-a", "subnet-pub-b"], privateSubnetIds: ["subnet-priv-a", "subnet-priv-b"],
    tags: { environment: "dev" }, secrets: {}, clientSecurityGroupIds: [], opts: {},
  } as Partial<StackContext>;
  for (const k of ["ssh", "keyName", "bastionSecurityGroupId"]) Object.defineProperty(c, k, { get: () => { throw new Error(`${k} used`); } });
  return c as StackContext;
};

beforeAll(() => useMocks());

test("fleet (default): the tier from config, outputs for the stack and the data tiers", async () => {
  const out = composeSpot(spotConfigSchema.parse({ targetCapacity: 4, fleet: { allocationStrategy: "capacityOptimized" } }), ctx("dev"));
  await settle();
  expect(await valueOf(out.instanceSecurityGroupId)).toBe("dev-web-instance-sg-id");
  expect(await valueOf(out.url)).toBe("http://dev-web-alb.us-east-1.elb.amazonaws.com/");
  expect(await valueOf(out.spotFleetRequestId!)).toBe("dev-web-fleet-id");
  expect(out.spotAsgName).toBeUndefined();
  expect(byName("dev-web-fleet").inputs).toMatchObject({ targetCapacity: 4, allocationStrategy: "capacityOptimized" });
  expect(byName("dev-web-ondemand").inputs).toMatchObject({ maxSize: 4, vpcZoneIdentifiers: ["subnet-priv-a", "subnet-priv-b"] });
  expect(byName("dev-web-alb").inputs.subnets).toEqual(["subnet-pub-a", "subnet-pub-b"]);
});

test("asg source: spot ASG name instead of a fleet id", async () => {
  const out = composeSpot(spotConfigSchema.parse({ spotSource: "asg" }), ctx("stg"));
  await settle();
  expect(out.spotFleetRequestId).toBeUndefined();
  expect(await valueOf(out.spotAsgName!)).toBe("stg-web-spot");
  expect(await valueOf(out.onDemandAsgName)).toBe("stg-web-ondemand");
});
