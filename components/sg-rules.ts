import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/**
 * The egress half of admitting a client security group to a service. The AWS provider deletes the
 * default allow-all egress of every group it creates, so an ingress rule that admits a group is dead
 * unless that group may also send to the service: this rule, on the CLIENT's group, towards the
 * service's group only. A client group must manage its egress with rule resources (not inline
 * `egress` blocks, which would remove this rule on the next update).
 */
export function clientEgress(
  name: string,
  a: { clientSecurityGroupId: pulumi.Input<string>; serviceSecurityGroupId: pulumi.Input<string>; fromPort: number; toPort: number; description: string },
  parent: pulumi.Resource,
): aws.vpc.SecurityGroupEgressRule {
  return new aws.vpc.SecurityGroupEgressRule(name, {
    securityGroupId: a.clientSecurityGroupId,
    referencedSecurityGroupId: a.serviceSecurityGroupId,
    ipProtocol: "tcp",
    fromPort: a.fromPort,
    toPort: a.toPort,
    description: a.description,
  }, { parent });
}
