import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { subnetLayout } from "./cidr";

export type NatGatewayStrategy = "none" | "single" | "onePerAz";

export interface NetworkArgs {
  /**
   * IPv4 range of the VPC, /16 to /24.
   * @default "10.0.0.0/16"
   */
  cidrBlock?: string;
  /**
   * Number of availability zones to spread subnets over (the first N available in the region).
   * Ignored when `availabilityZones` is given.
   * @default 3
   */
  availabilityZoneCount?: number;
  /** Explicit AZ names, e.g. ["eu-west-1a", "eu-west-1b"]. @default the region's first `availabilityZoneCount` AZs */
  availabilityZones?: string[];
  /**
   * NAT gateways for the private subnets' outbound traffic: none, one shared, or one per AZ
   * (survives an AZ outage, costs one gateway per AZ).
   * @default "single"
   */
  natGateways?: NatGatewayStrategy;
  /** Tags on every resource created. @default {} */
  tags?: Record<string, string>;
}

/**
 * A VPC over >= 2 AZs: one public subnet per AZ (routed to an internet gateway) and one private
 * subnet per AZ (routed to the NAT gateway(s), if any).
 */
export class Network extends pulumi.ComponentResource {
  public readonly vpc: aws.ec2.Vpc;
  public readonly vpcId: pulumi.Output<string>;
  public readonly cidrBlock: string;
  public readonly publicSubnetIds: pulumi.Output<string>[];
  public readonly privateSubnetIds: pulumi.Output<string>[];
  public readonly availabilityZones: pulumi.Output<string>[];
  public readonly natGatewayIds: pulumi.Output<string>[];
  /** What public addresses (Elastic IPs on interfaces) must wait for. */
  public readonly internetGateway: aws.ec2.InternetGateway;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("opsfleet:index:Network", name, {}, opts);
    const cidrBlock = args.cidrBlock ?? "10.0.0.0/16";
    const azCount = args.availabilityZones?.length ?? args.availabilityZoneCount ?? 3;
    const natStrategy = args.natGateways ?? "single";
    if (azCount < 2) throw new Error(`Network ${name}: at least 2 availability zones are required (got ${azCount})`);
    const layout = subnetLayout(cidrBlock, azCount);
    const tags = args.tags ?? {};

    const azNames: pulumi.Output<string>[] = args.availabilityZones
      ? args.availabilityZones.map((z) => pulumi.output(z))
      : (() => {
          const zones = aws.getAvailabilityZonesOutput({ state: "available" }, { parent: this });
          return Array.from({ length: azCount }, (_, i) =>
            zones.names.apply((n) => {
              if (n.length <= i) throw new Error(`Network ${name}: region has ${n.length} available AZs, ${azCount} requested`);
              return n[i];
            }),
          );
        })();
    this.availabilityZones = azNames;
    this.cidrBlock = cidrBlock;

    this.vpc = new aws.ec2.Vpc(name, { cidrBlock, enableDnsHostnames: true, enableDnsSupport: true, tags: { ...tags, Name: name } }, { parent: this });
    this.vpcId = this.vpc.id;
    const igw = new aws.ec2.InternetGateway(name, { vpcId: this.vpc.id, tags: { ...tags, Name: name } }, { parent: this.vpc });
    this.internetGateway = igw;

    const publicRt = new aws.ec2.RouteTable(`${name}-public`, {
      vpcId: this.vpc.id,
      routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
      tags: { ...tags, Name: `${name}-public` },
    }, { parent: this.vpc });

    // Nothing launched in any subnet gets a public IP by accident; the bastion and ALB ask for one explicitly.
    const subnetIn = (tier: "public" | "private", i: number, cidr: string) =>
      new aws.ec2.Subnet(`${name}-${tier}-${i + 1}`, {
        vpcId: this.vpc.id,
        cidrBlock: cidr,
        availabilityZone: azNames[i],
        mapPublicIpOnLaunch: false,
        tags: { ...tags, Name: `${name}-${tier}-${i + 1}`, "opsfleet/tier": tier },
      }, { parent: this.vpc });

    const publicSubnets = layout.public.map((cidr, i) => {
      const subnet = subnetIn("public", i, cidr);
      new aws.ec2.RouteTableAssociation(`${name}-public-${i + 1}`, { subnetId: subnet.id, routeTableId: publicRt.id }, { parent: subnet });
      return subnet;
    });

    const natCount = natStrategy === "none" ? 0 : natStrategy === "single" ? 1 : azCount;
    const nats = Array.from({ length: natCount }, (_, i) => {
      const eip = new aws.ec2.Eip(`${name}-nat-${i + 1}`, { domain: "vpc", tags: { ...tags, Name: `${name}-nat-${i + 1}` } }, { parent: this.vpc });
      return new aws.ec2.NatGateway(`${name}-nat-${i + 1}`, {
        allocationId: eip.id,
        subnetId: publicSubnets[i].id,
        tags: { ...tags, Name: `${name}-nat-${i + 1}` },
      }, { parent: publicSubnets[i], dependsOn: [igw] });
    });
    this.natGatewayIds = nats.map((n) => n.id);

    const privateSubnets = layout.private.map((cidr, i) => {
      const subnet = subnetIn("private", i, cidr);
      // One route table per private subnet: with onePerAz each AZ egresses through its own NAT.
      const nat = nats.length === 0 ? undefined : nats[Math.min(i, nats.length - 1)];
      const rt = new aws.ec2.RouteTable(`${name}-private-${i + 1}`, {
        vpcId: this.vpc.id,
        routes: nat ? [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }] : [],
        tags: { ...tags, Name: `${name}-private-${i + 1}` },
      }, { parent: subnet });
      new aws.ec2.RouteTableAssociation(`${name}-private-${i + 1}`, { subnetId: subnet.id, routeTableId: rt.id }, { parent: rt });
      return subnet;
    });

    this.publicSubnetIds = publicSubnets.map((s) => s.id);
    this.privateSubnetIds = privateSubnets.map((s) => s.id);
    this.registerOutputs({
      vpcId: this.vpcId,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
      natGatewayIds: this.natGatewayIds,
    });
  }
}
