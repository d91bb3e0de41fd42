import * as pulumi from "@pulumi/pulumi";
import type { AmiSelection } from "./ami";
import * as aws from "@pulumi/aws";
import { Host, type HostKeyName } from "./host";
import { renderSshdHardening } from "../provision/common/sshd";

export interface BastionArgs {
  vpcId: pulumi.Input<string>;
  /** A public subnet. */
  subnetId: pulumi.Input<string>;
  /** IPv4 range of the VPC: the bastion may open SSH only towards it. */
  vpcCidrBlock: pulumi.Input<string>;
  /** Who may SSH to the bastion (operators, CI runners). Never 0.0.0.0/0. */
  adminCidrs: string[];
  /** Login user and private key; the bastion itself is reached directly. */
  sshUser: string;
  sshPrivateKey: pulumi.Input<string>;
  keyName: HostKeyName;
  /** @default "t3.micro" */
  instanceType?: pulumi.Input<string>;
  /** @default latest official Debian 12 AMI */
  amiId?: AmiSelection;
  /** Public keys for the login user's authorized_keys (see `SshAccess.authorizedKeys`). @default the key pair's key */
  authorizedKeys?: string[];
  /** The VPC's internet gateway: the Elastic IP is associated after it exists. @default none (bring-your-own VPC) */
  internetGateway?: pulumi.Resource;
  /**
   * TCP ports besides SSH the bastion may open into the VPC, for SSH tunnels (e.g. Kibana's 5601).
   * The bastion's egress is inline, so services admitting it cannot add egress rules to it. @default []
   */
  forwardPorts?: number[];
  /** Instance profile (e.g. one that may publish the bastion's health metrics). @default none */
  iamInstanceProfile?: pulumi.Input<string>;
  /** Tags on every resource created. @default {} */
  tags?: Record<string, string>;
}

/**
 * The SSH jump host through which remote commands reach the private hosts. Reachable on 22 only
 * from `adminCidrs`; it may itself open SSH only into the VPC (plus HTTP(S) out for apt).
 */
export class Bastion extends pulumi.ComponentResource {
  public readonly securityGroup: aws.ec2.SecurityGroup;
  public readonly securityGroupId: pulumi.Output<string>;
  /** Group the deploy workflow opens for its runner's address (see README: CI deploys). */
  public readonly ciSecurityGroup: aws.ec2.SecurityGroup;
  public readonly host: Host;
  /** The Elastic IP: stable across stop/start and replacement of the bastion instance. */
  public readonly publicIp: pulumi.Output<string>;
  /** The bastion's pinned SSH host key (`ssh-ed25519 ...`). */
  public readonly hostPublicKey: pulumi.Output<string>;
  /** The proxy hop for `SshAccess.bastion`: the stable address, the login user and the pinned host key. */
  public readonly proxy: { host: pulumi.Output<string>; user: string; hostKey: pulumi.Output<string> };

  constructor(name: string, args: BastionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("opsfleet:index:Bastion", name, {}, opts);
    if (args.adminCidrs.length === 0) throw new Error(`Bastion ${name}: adminCidrs must list at least one CIDR`);
    for (const c of args.adminCidrs) {
      if (c === "0.0.0.0/0" || c === "::/0") throw new Error(`Bastion ${name}: adminCidrs must not contain ${c}`);
    }
    const tags = args.tags ?? {};
    this.securityGroup = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: "opsfleet bastion: SSH in from admin CIDRs, SSH out into the VPC",
      ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: args.adminCidrs, description: "SSH from admin CIDRs" }],
      egress: [
        { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: [args.vpcCidrBlock], description: "SSH to hosts in the VPC" },
        ...(args.forwardPorts ?? []).map((p) => ({ protocol: "tcp", fromPort: p, toPort: p, cidrBlocks: [args.vpcCidrBlock], description: `port ${p} into the VPC (SSH tunnels)` })),
        { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], description: "HTTPS for apt" },
        { protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"], description: "HTTP for apt" },
      ],
      tags: { ...tags, Name: `${name}-sg` },
    }, { parent: this });
    this.securityGroupId = this.securityGroup.id;
    // CI runners without a fixed address: the deploy workflow adds its runner's /32 on 22 here for one
    // job and always removes it. Pulumi declares no rules on this group (and ignores them), so an
    // update never removes a rule a running job depends on; the main group's rules stay authoritative.
    this.ciSecurityGroup = new aws.ec2.SecurityGroup(`${name}-ci-sg`, {
      vpcId: args.vpcId,
      description: "opsfleet bastion: SSH from the CI runner of a running deploy (rules added and removed by the workflow)",
      tags: { ...tags, Name: `${name}-ci-sg` },
    }, { parent: this, ignoreChanges: ["ingress"] });

    this.host = new Host(name, {
      subnetId: args.subnetId,
      instanceType: args.instanceType ?? "t3.micro",
      amiId: args.amiId,
      securityGroupIds: [this.securityGroup.id, this.ciSecurityGroup.id],
      keyName: args.keyName,
      iamInstanceProfile: args.iamInstanceProfile,
      // an Elastic IP: remote commands through the bastion keep the same proxy address for good
      associatePublicIp: true,
      publicIpDependsOn: args.internetGateway ? [args.internetGateway] : [],
      rootVolumeSizeGb: 8,
      tags,
      ssh: { user: args.sshUser, privateKey: args.sshPrivateKey, authorizedKeys: args.authorizedKeys },
      steps: [renderSshdHardening()],
    }, { parent: this });
    this.publicIp = this.host.publicIp as pulumi.Output<string>;
    this.hostPublicKey = this.host.hostPublicKey;
    this.proxy = { host: this.publicIp, user: args.sshUser, hostKey: this.hostPublicKey };
    this.registerOutputs({ publicIp: this.publicIp, hostPublicKey: this.hostPublicKey, securityGroupId: this.securityGroupId, ciSecurityGroupId: this.ciSecurityGroup.id });
  }
}
