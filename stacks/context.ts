import type * as pulumi from "@pulumi/pulumi";
import type { AmiSelection } from "../components/ami";
import type { HostKeyName, SshAccess } from "../components/host";
import type { HostGroup, HostRoles } from "./host-roles";
import type { HostInventory } from "./monitoring";
import type { BackupContext } from "./backup";

/** What every area's compose function gets from the stack: the shared network, access and secrets. */
export interface StackContext {
  /** Resource-name prefix, e.g. "dev". */
  prefix: string;
  vpcId: pulumi.Input<string>;
  /** Plain array (length known at plan time, >= 2 AZs). */
  publicSubnetIds: pulumi.Input<string>[];
  /** Plain array, same AZ order as `publicSubnetIds`. */
  privateSubnetIds: pulumi.Input<string>[];
  ssh: SshAccess;
  /** EC2 key pair (public half of `ssh.privateKey`): fixed name + the resource (see HostKeyName). */
  keyName: HostKeyName;
  /** SSH to hosts is allowed only from this security group. */
  bastionSecurityGroupId: pulumi.Input<string>;
  /** Override of the Debian 12 AMI lookup. */
  amiId?: AmiSelection;
  tags: Record<string, string>;
  /** `opsfleet:protectData`: protect data and key volumes from deletion/replacement. */
  protectData: boolean;
  /** Validated present when the feature that needs them is enabled. */
  secrets: {
    redisPassword?: pulumi.Output<string>;
    elasticPassword?: pulumi.Output<string>;
    dbRootPassword?: pulumi.Output<string>;
    dbAppPassword?: pulumi.Output<string>;
  };
  /** App-tier security groups allowed to reach data ports (e.g. the web tier's instances). */
  clientSecurityGroupIds: pulumi.Input<string>[];
  /** Pass to every top-level component (carries the offline plan's recorder). */
  opts: pulumi.ComponentResourceOptions;
  /** IAM role + instance profile per host group (metrics, backup, ...); absent: hosts get no profile. */
  hostRoles?: HostRoles;
  /** Areas register their hosts here; monitoring adds the health checks to them. */
  inventory?: HostInventory;
  /** The stack's backup storage and schedules (features.backup); absent: no backups. */
  backup?: BackupContext;
}

/**
 * The args every host-based component takes from the stack in the same way (SSH path, AMI,
 * protection, tags, and the instance profile of its host `group`).
 */
export function hostAccessArgs(ctx: StackContext, group?: HostGroup) {
  return {
    iamInstanceProfile: group !== undefined && ctx.hostRoles ? ctx.hostRoles.for(group).instanceProfileName : undefined,
    vpcId: ctx.vpcId,
    bastionSecurityGroupId: ctx.bastionSecurityGroupId,
    ssh: ctx.ssh,
    keyName: ctx.keyName,
    amiId: ctx.amiId,
    protectVolumes: ctx.protectData,
    tags: ctx.tags,
  };
}
