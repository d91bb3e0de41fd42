/**
 * Act: carry out the single write a Decision asks for. decide() only asks for a write when the
 * observed value differs, so `act` never re-writes what is already there.
 */
import { CreateTagsCommand, ModifySpotFleetRequestCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { DeregisterTargetsCommand, ModifyTargetGroupCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { CreateOrUpdateTagsCommand, DeleteTagsCommand, SetDesiredCapacityCommand } from "@aws-sdk/client-auto-scaling";
import type { ReconcilerConfig } from "./config";
import { Action, COVERED_SINCE_TAG, RETIRING_TAG } from "./decide";
import type { AwsClients } from "./observe";

export async function act(c: AwsClients, cfg: ReconcilerConfig, action: Action): Promise<void> {
  const asgTag = (Value?: string) => ({
    ResourceId: cfg.onDemandAsgName,
    ResourceType: "auto-scaling-group",
    Key: COVERED_SINCE_TAG,
    ...(Value !== undefined ? { Value, PropagateAtLaunch: false } : {}),
  });
  switch (action.kind) {
    case "none":
      return;
    case "set-on-demand-desired":
      // HonorCooldown false: a failover must not wait for a cooldown.
      await c.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: cfg.onDemandAsgName, DesiredCapacity: action.to, HonorCooldown: false }));
      return;
    case "set-spot-requested":
      if (cfg.spotSource === "fleet")
        await c.ec2.send(new ModifySpotFleetRequestCommand({ SpotFleetRequestId: cfg.spotFleetRequestId, TargetCapacity: action.to }));
      else
        await c.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: cfg.spotAsgName, DesiredCapacity: action.to, HonorCooldown: false }));
      return;
    case "mark-covered":
      await c.autoscaling.send(new CreateOrUpdateTagsCommand({ Tags: [asgTag(action.tagValue)] }));
      return;
    case "clear-covered":
      await c.autoscaling.send(new DeleteTagsCommand({ Tags: [asgTag()] }));
      return;
    case "retire-deregister": // connections drain for the target group's deregistration delay
      // Tag first: only an instance carrying the tag is ever terminated (not merely "not registered").
      await c.ec2.send(new CreateTagsCommand({ Resources: [action.instanceId], Tags: [{ Key: RETIRING_TAG, Value: new Date().toISOString() }] }));
      await c.elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: cfg.targetGroupArn, Targets: [{ Id: action.instanceId }] }));
      return;
    case "retire-terminate":
      await c.ec2.send(new TerminateInstancesCommand({ InstanceIds: [action.instanceId] }));
      return;
    case "set-health-check-path":
      await c.elbv2.send(new ModifyTargetGroupCommand({ TargetGroupArn: cfg.targetGroupArn, HealthCheckPath: action.to }));
      return;
  }
}
