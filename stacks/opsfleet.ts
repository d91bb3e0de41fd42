/**
 * Composes one environment: network (created or brought), bastion and key pair when hosts are
 * provisioned, then the four systems as the feature toggles say. Everything takes the validated
 * config; only `stacks/index.ts` reads Pulumi config.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Network } from "../components/network";
import { Bastion } from "../components/bastion";
import { ConfigError, type LoadedConfig } from "./config/load";
import { stackNameProblem } from "./config/stack-name";
import type { StackContext } from "./context";
import { composeSpot } from "./spot";
import { composeRedis } from "./redis";
import { composeElk } from "./elk";
import { composeDatabase } from "./database";
import { KIBANA_PORT } from "../provision/logstash/kibana";
import { HostRoles } from "./host-roles";
import { composeMonitoring, HostInventory } from "./monitoring";
import { composeBackupStore } from "./backup";
import { hostMetricsStatement } from "../provision/monitoring/namespace";

export interface OpsfleetOutputs {
  vpcId: pulumi.Input<string>;
  publicSubnetIds: pulumi.Input<string>[];
  privateSubnetIds: pulumi.Input<string>[];
  bastionPublicIp?: pulumi.Output<string>;
  /** The group the deploy workflow opens for its runner (id, and ARN for the OIDC role's policy). */
  bastionCiSecurityGroupId?: pulumi.Output<string>;
  bastionCiSecurityGroupArn?: pulumi.Output<string>;
  web?: ReturnType<typeof composeSpot>;
  redis?: ReturnType<typeof composeRedis>;
  elk?: ReturnType<typeof composeElk>;
  database?: ReturnType<typeof composeDatabase>;
  monitoring: ReturnType<typeof composeMonitoring>;
  /** The stack's backup bucket (features.backup). */
  backupBucket?: pulumi.Output<string>;
}

/** Throws if a host-only part of the context is used by a stack that provisions no hosts. */
function hostOnly<T>(what: string): T {
  throw new Error(`internal: ${what} is only available when redis, elk or database is enabled`);
}

export function buildOpsfleet(loaded: LoadedConfig, stack: string, opts: pulumi.ComponentResourceOptions = {}): OpsfleetOutputs {
  const nameProblem = stackNameProblem(stack);
  if (nameProblem) throw new ConfigError([nameProblem]);
  const { config: c, secrets } = loaded;
  const prefix = stack;
  const tags: Record<string, string> = { "opsfleet:stack": stack, ...c.tags };

  let vpcId: pulumi.Input<string>;
  let publicSubnetIds: pulumi.Input<string>[];
  let privateSubnetIds: pulumi.Input<string>[];
  let vpcCidrBlock: pulumi.Input<string>;
  let internetGateway: pulumi.Resource | undefined;
  if (c.network.vpcId !== undefined) {
    vpcId = c.network.vpcId;
    publicSubnetIds = c.network.publicSubnetIds ?? [];
    privateSubnetIds = c.network.privateSubnetIds ?? [];
    vpcCidrBlock = aws.ec2.getVpcOutput({ id: c.network.vpcId }, opts).cidrBlock;
  } else {
    const network = new Network(prefix, {
      cidrBlock: c.network.cidrBlock,
      availabilityZoneCount: c.network.availabilityZoneCount,
      natGateways: c.network.natGateways,
      tags,
    }, opts);
    vpcId = network.vpcId;
    publicSubnetIds = network.publicSubnetIds;
    privateSubnetIds = network.privateSubnetIds;
    vpcCidrBlock = network.cidrBlock;
    internetGateway = network.internetGateway;
  }

  const outputs: Omit<OpsfleetOutputs, "monitoring"> & Partial<OpsfleetOutputs> = { vpcId, publicSubnetIds, privateSubnetIds };
  const inventory = new HostInventory();
  const clientSecurityGroupIds: pulumi.Input<string>[] = [];
  const ctx: StackContext = {
    prefix,
    vpcId,
    publicSubnetIds,
    privateSubnetIds,
    amiId: c.amiIds,
    tags,
    protectData: c.protectData,
    secrets: {
      redisPassword: secrets.redisPassword,
      elasticPassword: secrets.elasticPassword,
      dbRootPassword: secrets.dbRootPassword,
      dbAppPassword: secrets.dbAppPassword,
    },
    clientSecurityGroupIds,
    opts,
    inventory,
    get ssh(): StackContext["ssh"] { return hostOnly("ssh"); },
    get keyName(): StackContext["keyName"] { return hostOnly("keyName"); },
    get bastionSecurityGroupId(): StackContext["bastionSecurityGroupId"] { return hostOnly("bastionSecurityGroupId"); },
  };

  const provisionsHosts = c.features.redis || c.features.elk || c.features.database;
  if (provisionsHosts) {
    // Validation guarantees these when a host system is enabled.
    const publicKey = c.ssh.publicKey as string;
    const privateKey = secrets.sshPrivateKey as pulumi.Output<string>;
    // A fixed key name: a new publicKey replaces the key pair (old one deleted first: same name), and
    // the name the instances launched with stays the same, so no instance is replaced. Running hosts
    // get keys through the authorized-keys step; the key pair only seeds new instances.
    const keyName = `${prefix}-ops`;
    const keyPair = new aws.ec2.KeyPair(`${prefix}-ops`, { keyName, publicKey, tags }, { ...opts, deleteBeforeReplace: true });
    // The plain name plus a dependsOn, never one of the key pair's outputs: the key pair is replaced
    // delete-before-replace, and Pulumi first replaces whatever takes its outputs into a replace-forcing
    // input (an instance's keyName) -- every host at once (calculateDependentReplacements).
    const instanceKeyName = { name: keyName, keyPair };
    const authorizedKeys = [publicKey, ...c.ssh.additionalPublicKeys];
    // each host group's role may only publish its health metrics, until an area adds a concern
    const hostRoles = new HostRoles(prefix, { metrics: [hostMetricsStatement(prefix)] }, tags, opts);
    const bastion = new Bastion(`${prefix}-bastion`, {
      vpcId,
      subnetId: publicSubnetIds[0],
      vpcCidrBlock,
      adminCidrs: c.adminCidrs,
      sshUser: c.ssh.user,
      sshPrivateKey: privateKey,
      keyName: instanceKeyName,
      authorizedKeys,
      internetGateway,
      instanceType: c.bastion.instanceType,
      iamInstanceProfile: hostRoles.for("bastion").instanceProfileName,
      amiId: c.amiIds,
      // Kibana is reached through an SSH tunnel over the bastion
      forwardPorts: c.features.elk && c.elk.kibana.enabled ? [KIBANA_PORT] : [],
      tags,
    }, opts);
    Object.defineProperties(ctx, {
      hostRoles: { value: hostRoles },
      ssh: { value: { user: c.ssh.user, privateKey, bastion: bastion.proxy, authorizedKeys } },
      keyName: { value: instanceKeyName },
      bastionSecurityGroupId: { value: bastion.securityGroupId },
    });
    // the bastion gets the health checker (disk use, heartbeat) and EC2 status-check alarms like every host
    inventory.add("bastion", [bastion.host], c.bastion.instanceType);
    outputs.bastionPublicIp = bastion.publicIp;
    outputs.bastionCiSecurityGroupId = bastion.ciSecurityGroup.id;
    outputs.bastionCiSecurityGroupArn = bastion.ciSecurityGroup.arn;
  }

  if (c.features.backup && (c.features.redis || c.features.elk || c.features.database)) {
    ctx.backup = composeBackupStore(c.backup, ctx, loaded.region);
    outputs.backupBucket = ctx.backup.store.bucketName;
  }
  if (c.features.spotWeb) {
    outputs.web = composeSpot(c.spot, ctx);
    clientSecurityGroupIds.push(outputs.web.instanceSecurityGroupId);
  }
  if (c.features.redis) outputs.redis = composeRedis(c.redis, ctx);
  if (c.features.elk) outputs.elk = composeElk(c.elk, ctx);
  if (c.features.database) outputs.database = composeDatabase(c.database, ctx);
  // after the areas: health checks on the hosts they registered, alarms for what they created
  const monitoring = composeMonitoring(c, ctx, { web: outputs.web, database: outputs.database }, inventory, loaded.region);
  return { ...outputs, monitoring };
}
