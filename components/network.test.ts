import { byName, expectUniqueNames, ofType, OptionsRecorder, registered, resetRegistrations, settle, unsecret, useMocks, valueOf } from "../test/harness/pulumi-mocks";
import { Network } from "./network";

beforeAll(() => useMocks());
beforeEach(() => resetRegistrations());

async function build(name: string, args: ConstructorParameters<typeof Network>[1]) {
  const rec = new OptionsRecorder();
  const net = new Network(name, args, rec.opts);
  await settle(net);
  await valueOf(net.privateSubnetIds[0]);
  await settle(...rec.seen.map((s) => s.resource));
  return { net, rec };
}

describe("Network", () => {
  test("spreads public and private subnets over distinct AZs with IGW and one NAT by default", async () => {
    await build("n1", {});
    const subnets = ofType("aws:ec2/subnet:Subnet").map((s) => s.inputs);
    expect(subnets).toHaveLength(6);
    const pub = subnets.filter((s) => s.tags["opsfleet/tier"] === "public");
    const priv = subnets.filter((s) => s.tags["opsfleet/tier"] === "private");
    expect(new Set(pub.map((s) => s.availabilityZone))).toEqual(new Set(["us-east-1a", "us-east-1b", "us-east-1c"]));
    expect(new Set(priv.map((s) => s.availabilityZone))).toEqual(new Set(["us-east-1a", "us-east-1b", "us-east-1c"]));
    expect(subnets.every((s) => s.mapPublicIpOnLaunch === false)).toBe(true);
    expect(ofType("aws:ec2/internetGateway:InternetGateway")).toHaveLength(1);
    expect(ofType("aws:ec2/natGateway:NatGateway")).toHaveLength(1);
    expect(byName("n1", "aws:ec2/vpc:Vpc").inputs).toMatchObject({ cidrBlock: "10.0.0.0/16", enableDnsHostnames: true });
    expectUniqueNames();
  });

  test("public route goes to the internet gateway; private routes to a NAT, never to the IGW", async () => {
    await build("n2", { natGateways: "onePerAz", availabilityZoneCount: 2 });
    const pubRt = byName("n2-public", "aws:ec2/routeTable:RouteTable").inputs;
    expect(pubRt.routes).toEqual([{ cidrBlock: "0.0.0.0/0", gatewayId: "n2-id" }]);
    const nats = ofType("aws:ec2/natGateway:NatGateway");
    expect(nats.map((n) => n.inputs.subnetId)).toEqual(["n2-public-1-id", "n2-public-2-id"]);
    for (const i of [1, 2]) {
      const rt = byName(`n2-private-${i}`, "aws:ec2/routeTable:RouteTable").inputs;
      expect(rt.routes).toEqual([{ cidrBlock: "0.0.0.0/0", natGatewayId: `n2-nat-${i}-id` }]);
      expect(byName(`n2-private-${i}`, "aws:ec2/routeTableAssociation:RouteTableAssociation").inputs).toEqual(
        expect.objectContaining({ subnetId: `n2-private-${i}-id`, routeTableId: `n2-private-${i}-id` }),
      );
    }
  });

  test("natGateways none: private subnets have no default route", async () => {
    await build("n3", { natGateways: "none", availabilityZones: ["eu-west-1a", "eu-west-1b"], cidrBlock: "10.9.0.0/20" });
    expect(ofType("aws:ec2/natGateway:NatGateway")).toHaveLength(0);
    expect(byName("n3-private-1", "aws:ec2/routeTable:RouteTable").inputs.routes).toEqual([]);
    const layout = Object.fromEntries(ofType("aws:ec2/subnet:Subnet").map((s) => [s.name, [s.inputs.cidrBlock, s.inputs.availabilityZone]]));
    expect(layout).toEqual({
      "n3-public-1": ["10.9.0.0/24", "eu-west-1a"],
      "n3-public-2": ["10.9.1.0/24", "eu-west-1b"],
      "n3-private-1": ["10.9.8.0/24", "eu-west-1a"],
      "n3-private-2": ["10.9.9.0/24", "eu-west-1b"],
    });
  });

  test("rejects a single AZ before creating anything", () => {
    const before = registered.length;
    expect(() => new Network("n4", { availabilityZoneCount: 1 })).toThrow(/at least 2 availability zones/);
    expect(registered.length - before).toBeLessThanOrEqual(1); // at most the component itself
    expect(unsecret(registered.filter((r) => r.name.startsWith("n4-")))).toEqual([]);
  });
});
