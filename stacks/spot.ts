/** Composes the Spot web tier from `opsfleet:spot` and the shared stack context. */
import * as pulumi from "@pulumi/pulumi";
import { SpotFailover } from "../components/spot-failover";
import type { SpotConfig } from "./config/spot";
import type { StackContext } from "./context";

export interface SpotOutputs {
  /** http(s)://<alias or ALB DNS name>/ */
  url: pulumi.Output<string>;
  albDnsName: pulumi.Output<string>;
  /** Security group of the web instances: data tiers accept it as a client SG. */
  instanceSecurityGroupId: pulumi.Output<string>;
  albSecurityGroupId: pulumi.Output<string>;
  targetGroupArn: pulumi.Output<string>;
  /** CloudWatch dimension values of the ALB metrics (TargetGroup, LoadBalancer). */
  targetGroupArnSuffix: pulumi.Output<string>;
  albArnSuffix: pulumi.Output<string>;
  spotSource: "fleet" | "asg";
  /** Set when spotSource is fleet. */
  spotFleetRequestId?: pulumi.Output<string>;
  /** Set when spotSource is asg. */
  spotAsgName?: pulumi.Output<string>;
  onDemandAsgName: pulumi.Output<string>;
  reconcilerFunctionName: pulumi.Output<string>;
  reconcilerLogGroupName: pulumi.Output<string>;
  /** Events EventBridge could not deliver to the wake-up queue. */
  deadLetterQueueUrl: pulumi.Output<string>;
  /** SQS FIFO queue that serializes the reconciles. */
  reconcileQueueUrl: pulumi.Output<string>;
  /** Wake-ups whose reconcile failed repeatedly. */
  reconcileDeadLetterQueueUrl: pulumi.Output<string>;
}

export function composeSpot(cfg: SpotConfig, ctx: StackContext): SpotOutputs {
  // Web instances are cattle without SSH: ctx.keyName / ctx.ssh are deliberately not used.
  const web = new SpotFailover(`${ctx.prefix}-web`, {
    vpcId: ctx.vpcId,
    publicSubnetIds: ctx.publicSubnetIds,
    instanceSubnetIds: ctx.privateSubnetIds,
    targetCapacity: cfg.targetCapacity,
    instanceTypes: cfg.instanceTypes,
    spotSource: cfg.spotSource,
    ...(cfg.fleet !== undefined ? { fleet: cfg.fleet } : {}),
    amiId: ctx.amiId,
    rootVolumeSizeGb: cfg.rootVolumeSizeGb,
    healthCheckPath: cfg.healthCheckPath,
    deregistrationDelaySeconds: cfg.deregistrationDelaySeconds,
    certificateArn: cfg.certificateArn,
    dns: cfg.dns,
    ingressCidrs: cfg.ingressCidrs,
    stabilizationSeconds: cfg.stabilizationSeconds,
    rebalanceCountsAsLost: cfg.rebalanceCountsAsLost,
    maxEventAgeSeconds: cfg.maxEventAgeSeconds,
    ...(cfg.reservedConcurrency !== undefined ? { reservedConcurrency: cfg.reservedConcurrency } : {}),
    logRetentionDays: cfg.logRetentionDays,
    tags: ctx.tags,
  }, ctx.opts);
  return {
    url: web.url,
    albDnsName: web.albDnsName,
    instanceSecurityGroupId: web.instanceSecurityGroupId,
    albSecurityGroupId: web.albSecurityGroupId,
    targetGroupArn: web.targetGroupArn,
    targetGroupArnSuffix: web.targetGroupArnSuffix,
    albArnSuffix: web.albArnSuffix,
    spotSource: web.spotSource,
    ...(web.spotSource === "fleet" ? { spotFleetRequestId: web.spotSourceId } : { spotAsgName: web.spotSourceId }),
    onDemandAsgName: web.onDemandAsgName,
    reconcilerFunctionName: web.reconcilerFunctionName,
    reconcilerLogGroupName: web.reconcilerLogGroupName,
    deadLetterQueueUrl: web.deadLetterQueueUrl,
    reconcileQueueUrl: web.reconcileQueueUrl,
    reconcileDeadLetterQueueUrl: web.reconcileDeadLetterQueueUrl,
  };
}
