/**
 * Real AWS SDK v3 clients whose `send` is intercepted by aws-sdk-client-mock and answered by a
 * FakeAccount (test/bench helper). Any command the fake does not know rejects.
 */
import { mockClient } from "aws-sdk-client-mock";
import * as ec2 from "@aws-sdk/client-ec2";
import * as asg from "@aws-sdk/client-auto-scaling";
import * as elb from "@aws-sdk/client-elastic-load-balancing-v2";
import type { AwsClients } from "../observe";
import type { FakeAccount } from "./fake-account";

const EC2_COMMANDS = [
  ec2.DescribeInstancesCommand, ec2.DescribeLaunchTemplatesCommand, ec2.DescribeSpotInstanceRequestsCommand, ec2.DescribeSpotFleetRequestsCommand,
  ec2.DescribeSpotFleetInstancesCommand, ec2.ModifySpotFleetRequestCommand, ec2.TerminateInstancesCommand, ec2.CreateTagsCommand,
];
const ASG_COMMANDS = [
  asg.DescribeAutoScalingGroupsCommand, asg.DescribeScalingActivitiesCommand, asg.SetDesiredCapacityCommand,
  asg.CreateOrUpdateTagsCommand, asg.DeleteTagsCommand,
];
const ELB_COMMANDS = [elb.DescribeTargetHealthCommand, elb.DescribeTargetGroupsCommand, elb.ModifyTargetGroupCommand, elb.DeregisterTargetsCommand];

/** Answers calls of these clients (instances, or client classes to catch every instance) from `account`. */
export function wireFakeAccount(account: FakeAccount, targets: { ec2: any; autoscaling: any; elbv2: any }) {
  const wire = (target: any, commands: any[]) => {
    const m = mockClient(target);
    m.onAnyCommand().rejects("FakeAccount: command not modelled");
    for (const C of commands) m.on(C).callsFake(async (input: unknown) => account.handle(C.name, input));
    return m;
  };
  const mocks = { ec2: wire(targets.ec2, EC2_COMMANDS), autoscaling: wire(targets.autoscaling, ASG_COMMANDS), elbv2: wire(targets.elbv2, ELB_COMMANDS) };
  return { mocks, restore: () => Object.values(mocks).forEach((m) => m.restore()) };
}

export function fakeClients(account: FakeAccount) {
  const clients: AwsClients = {
    ec2: new ec2.EC2Client({ region: "us-east-2" }),
    autoscaling: new asg.AutoScalingClient({ region: "us-east-2" }),
    elbv2: new elb.ElasticLoadBalancingV2Client({ region: "us-east-2" }),
  };
  return { clients, ...wireFakeAccount(account, clients) };
}

/**
 * Lighter clients for the fault simulation and the benchmark: the same SDK command objects go to the
 * FakeAccount without sinon in between (hundreds of thousands of calls per run).
 */
export function directClients(account: FakeAccount): AwsClients {
  const client = (): any => ({ send: async (cmd: { constructor: { name: string }; input: unknown }) => account.handle(cmd.constructor.name, cmd.input) });
  return { ec2: client(), autoscaling: client(), elbv2: client() };
}
