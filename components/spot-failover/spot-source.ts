/**
 * The spot capacity behind one interface, two implementations:
 * - `fleet`: aws.ec2.SpotFleetRequest of type `maintain` (the seed's design; AWS calls the API legacy);
 * - `asg`:   a Spot-only Auto Scaling group with a mixed instances policy and capacity rebalance.
 * The reconciler only needs to know how to find the members, what it may write, and which events
 * are scoped to the source.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ENV } from "../../functions/spot-reconciler/config";
import type { ResolvedArgs } from "./args";
import { SPOT_FLEET_TAGGING_POLICY_ARN, trustPolicy } from "./iam";
import { asgTagList } from "./asg-tags";

export interface SpotSource {
  kind: "fleet" | "asg";
  /** The Pulumi resource holding the spot capacity. */
  resource: aws.ec2.SpotFleetRequest | aws.autoscaling.Group;
  /** Spot Fleet request id or spot ASG name. */
  id: pulumi.Output<string>;
  /** ARN the reconciler may write to (ModifySpotFleetRequest / SetDesiredCapacity). */
  arn: pulumi.Output<string>;
  /** Environment variables telling the reconciler where the spot members are. */
  reconcilerEnv: Record<string, pulumi.Input<string>>;
}

export interface SpotSourceInputs {
  name: string;
  args: ResolvedArgs;
  launchTemplate: aws.ec2.LaunchTemplate;
  targetGroup: aws.lb.TargetGroup;
  /** Tags of every resource of the tier (the spot ASG adds its own Name). */
  tags: Record<string, string>;
  parent: pulumi.Resource;
}

/**
 * Capacity fields the reconciler owns at run time (it puts them back to the target when they drift):
 * Pulumi must not undo them on the next `up`.
 */
export const RECONCILER_OWNED = { fleet: ["targetCapacity"], asg: ["desiredCapacity"], onDemand: ["desiredCapacity"] } as const;

/**
 * Never wait for capacity: the provider would otherwise wait up to 10 minutes for the desired
 * capacity and fail the whole `up` on the first failed scaling activity (terraform-provider-aws#33665):
 * in a Spot shortage the reconciler, its rules and its policy would never be created.
 */
export const NO_CAPACITY_WAIT = "0";

/**
 * Rolling replacement of an ASG's instances when its launch template version changes (the provider
 * starts an instance refresh when `launchTemplate`/`mixedInstancesPolicy` changes, and does not wait
 * for it). Launch before terminate (max 200 %), never below the desired capacity healthy (min 100 %),
 * instances already on the new version are skipped. ASGs name a concrete version (`latestVersion`):
 * with "$Latest"/"$Default" the ASG input never changes and no refresh would start.
 */
export const INSTANCE_REFRESH: aws.types.input.autoscaling.GroupInstanceRefresh = {
  strategy: "Rolling",
  preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200, skipMatching: true, scaleInProtectedInstances: "Ignore", standbyInstances: "Ignore" },
};

/**
 * The Spot Fleet names the template's default version, never a number: every launchTemplateConfigs
 * change replaces a Spot Fleet request (its old instances terminated). The template has
 * `updateDefaultVersion: true`, so new fleet instances use the newest version; the reconciler rolls
 * the running ones (functions/spot-reconciler, "rolling").
 */
export const FLEET_TEMPLATE_VERSION = "$Default";

export function fleetSpotSource(i: SpotSourceInputs): SpotSource {
  const { name, args: a, parent } = i;
  const role = new aws.iam.Role(`${name}-fleet-role`, {
    description: "Spot Fleet service role (tags instances, registers them in the target group)",
    assumeRolePolicy: trustPolicy("spotfleet.amazonaws.com"),
    tags: a.tags,
  }, { parent });
  const policy = new aws.iam.RolePolicyAttachment(`${name}-fleet-role-tagging`, { role: role.name, policyArn: SPOT_FLEET_TAGGING_POLICY_ARN }, { parent });
  const overrides = a.instanceTypes.flatMap((instanceType) => a.instanceSubnetIds.map((subnetId) => ({ instanceType, subnetId })));
  const f = a.fleet;
  const fleet = new aws.ec2.SpotFleetRequest(`${name}-fleet`, {
    fleetType: "maintain",
    iamFleetRole: role.arn,
    targetCapacity: a.targetCapacity,
    allocationStrategy: f.allocationStrategy,
    ...(f.instancePoolsToUseCount !== undefined ? { instancePoolsToUseCount: f.instancePoolsToUseCount } : {}),
    onDemandTargetCapacity: f.onDemandTargetCapacity,
    ...(f.spotMaxPrice !== undefined ? { spotPrice: f.spotMaxPrice } : {}),
    ...(f.validUntil !== undefined ? { validUntil: f.validUntil } : {}),
    terminateInstancesWithExpiration: true,
    terminateInstancesOnDelete: "true",
    replaceUnhealthyInstances: true,
    // The fleet never picks an instance to kill when its target drops; the reconciler retires the
    // surplus gracefully (deregister, drain, terminate) after a rolling replacement.
    excessCapacityTerminationPolicy: "NoTermination",
    instanceInterruptionBehaviour: "terminate",
    waitForFulfillment: false,
    targetGroupArns: [i.targetGroup.arn],
    launchTemplateConfigs: [{
      launchTemplateSpecification: { id: i.launchTemplate.id, version: FLEET_TEMPLATE_VERSION },
      overrides,
    }],
    tags: { ...a.tags, Name: `${name}-spot` },
  }, { parent, dependsOn: [policy], ignoreChanges: [...RECONCILER_OWNED.fleet] });
  // SpotFleetRequest exposes no ARN; build it (the EventBridge `resources` of its events carry it).
  const arn = pulumi.all([aws.getPartitionOutput({}, { parent }), aws.getRegionOutput({}, { parent }), aws.getCallerIdentityOutput({}, { parent }), fleet.id])
    .apply(([p, r, c, id]) => `arn:${p.partition}:ec2:${r.region}:${c.accountId}:spot-fleet-request/${id}`);
  return {
    kind: "fleet",
    resource: fleet,
    id: fleet.id,
    arn,
    reconcilerEnv: { [ENV.spotSource]: "fleet", [ENV.spotFleetRequestId]: fleet.id },
  };
}

export function asgSpotSource(i: SpotSourceInputs): SpotSource {
  const { name, args: a, parent } = i;
  const group = new aws.autoscaling.Group(`${name}-spot`, {
    minSize: 0,
    maxSize: a.targetCapacity,
    desiredCapacity: a.targetCapacity,
    waitForCapacityTimeout: NO_CAPACITY_WAIT,
    vpcZoneIdentifiers: a.instanceSubnetIds,
    targetGroupArns: [i.targetGroup.arn],
    healthCheckType: "ELB",
    healthCheckGracePeriod: 180,
    capacityRebalance: true,
    instanceRefresh: INSTANCE_REFRESH,
    mixedInstancesPolicy: {
      instancesDistribution: {
        onDemandBaseCapacity: 0,
        onDemandPercentageAboveBaseCapacity: 0,
        spotAllocationStrategy: "price-capacity-optimized",
      },
      launchTemplate: {
        launchTemplateSpecification: { launchTemplateId: i.launchTemplate.id, version: i.launchTemplate.latestVersion.apply(String) },
        overrides: a.instanceTypes.map((instanceType) => ({ instanceType })),
      },
    },
    tags: asgTagList(i.tags, `${name}-spot`),
  }, { parent, ignoreChanges: [...RECONCILER_OWNED.asg] });
  return {
    kind: "asg",
    resource: group,
    id: group.name,
    arn: group.arn,
    reconcilerEnv: { [ENV.spotSource]: "asg", [ENV.spotAsgName]: group.name },
  };
}
