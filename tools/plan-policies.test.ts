import { missingEgress, planViolations } from "./plan-policies";
import type { PlanResource } from "./plan-core";
import { hostMetricsNamespace, hostMetricsStatement } from "../provision/monitoring/namespace";

function res(type: string, inputs: Record<string, unknown>, options: Partial<PlanResource["options"]> = {}): PlanResource {
  return {
    type, name: "x", urn: `urn:${type}::x`, parent: null, custom: true, inputs,
    options: { dependsOn: [], ignoreChanges: [], deletedWith: "urn:i", protect: false, additionalSecretOutputs: ["stdout", "stderr"], replaceOnChanges: [], deleteBeforeReplace: false, retainOnDelete: false, ...options },
  };
}
const v = (r: PlanResource) => planViolations({ resources: [r] });

describe("plan security checks", () => {
  test("instances need IMDSv2 and encrypted root volumes", () => {
    expect(v(res("aws:ec2/instance:Instance", { metadataOptions: { httpTokens: "optional" }, rootBlockDevice: { encrypted: true } }))).toEqual([expect.stringMatching(/IMDSv2/)]);
    expect(v(res("aws:ec2/instance:Instance", { metadataOptions: { httpTokens: "required" }, rootBlockDevice: {} }))).toEqual([expect.stringMatching(/not encrypted/)]);
    expect(v(res("aws:ec2/instance:Instance", { metadataOptions: { httpTokens: "required" }, rootBlockDevice: { encrypted: true } }))).toEqual([]);
  });

  test("only 80/443 may be open to the internet", () => {
    const sg = (rule: object) => v(res("aws:ec2/securityGroup:SecurityGroup", { ingress: [rule] }));
    expect(sg({ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] })).toEqual([]);
    expect(sg({ protocol: "tcp", fromPort: 6379, toPort: 6379, cidrBlocks: ["0.0.0.0/0"] })).toHaveLength(1);
    expect(sg({ protocol: "tcp", fromPort: 22, toPort: 22, ipv6CidrBlocks: ["::/0"] })).toHaveLength(1);
    expect(sg({ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] })).toHaveLength(1);
    expect(sg({ protocol: "tcp", fromPort: 3306, toPort: 3306, securityGroups: ["sg-1"] })).toEqual([]);
  });

  test("DLM: description and schedule names only in the characters and lengths the DLM API accepts", () => {
    const dlm = (description: string, name: string) => v(res("aws:dlm/lifecyclePolicy:LifecyclePolicy", { description, policyDetails: { schedules: [{ name }] } }));
    expect(dlm("opsfleet dev-backups data and key volumes every 24 h kept 7 days", "every 24 h from 0300 UTC")).toEqual([]);
    expect(dlm("opsfleet dev-backups: data and key volumes", "ok")).toEqual([expect.stringMatching(/description .* is not 1-500 of \[0-9A-Za-z _-\] \(DLM rejects it\)/)]);
    expect(dlm("ok", "every 24 h from 03:00 UTC")).toEqual([expect.stringMatching(/schedule name "every 24 h from 03:00 UTC" is not 1-120/)]);
    expect(dlm("x".repeat(501), "y".repeat(121))).toHaveLength(2);
  });

  test("IAM: no wildcard actions, no write action on Resource *", () => {
    const pol = (Statement: object[]) => v(res("aws:iam/rolePolicy:RolePolicy", { policy: JSON.stringify({ Version: "2012-10-17", Statement }) }));
    expect(pol([{ Effect: "Allow", Action: "*", Resource: "*" }])).toHaveLength(1);
    expect(pol([{ Effect: "Allow", Action: ["ec2:*"], Resource: "arn:aws:ec2:::x" }])).toHaveLength(1);
    expect(pol([{ Effect: "Allow", Action: ["autoscaling:SetDesiredCapacity"], Resource: "*" }])).toHaveLength(1);
    expect(pol([{ Effect: "Allow", Action: ["ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups"], Resource: "*" }])).toEqual([]);
    expect(pol([{ Effect: "Allow", Action: ["autoscaling:SetDesiredCapacity"], Resource: "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:u:autoScalingGroupName/od" }])).toEqual([]);
    expect(v(res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", { policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }))).toHaveLength(1);
  });

  test("IAM: cloudwatch:PutMetricData on * only with a cloudwatch:namespace condition", () => {
    const put = (Condition?: object) => v(res("aws:iam/rolePolicy:RolePolicy", {
      policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*", ...(Condition ? { Condition } : {}) }] }),
    }));
    expect(put({ StringEquals: { "cloudwatch:namespace": "Opsfleet/Hosts" } })).toEqual([]);
    expect(put()).toEqual([expect.stringMatching(/PutMetricData.*without a cloudwatch:namespace condition/)]);
    expect(put({ StringLike: { "cloudwatch:namespace": "Opsfleet/*" } })).toHaveLength(1);
    expect(put({ StringEquals: { "cloudwatch:namespace": "*" } })).toHaveLength(1);
    expect(put({ StringEquals: { "aws:RequestedRegion": "us-east-1" } })).toHaveLength(1);
  });

  test("IAM: a stack's roles publish metrics only into that stack's namespace (stack A never into B's, nor the old shared one)", () => {
    const put = (stack: string, namespace: string | string[]) => planViolations({ stack, resources: [res("aws:iam/rolePolicy:RolePolicy", {
      policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": namespace } } }] }),
    })] });
    expect(put("dev", hostMetricsNamespace("dev"))).toEqual([]);
    expect(put("dev", hostMetricsStatement("dev").Condition.StringEquals["cloudwatch:namespace"])).toEqual([]);
    expect(put("dev", hostMetricsNamespace("dev-eu"))).toEqual([expect.stringMatching(/PutMetricData into \["Opsfleet\/Hosts\/dev-eu"\]; allowed: this stack's namespace Opsfleet\/Hosts\/dev$/)]);
    expect(put("dev-eu", hostMetricsNamespace("dev"))).toHaveLength(1);
    expect(put("dev", "Opsfleet/Hosts")).toHaveLength(1);
    expect(put("dev", [hostMetricsNamespace("dev"), hostMetricsNamespace("prod")])).toHaveLength(1);
    // the namespaces of two stacks never coincide, whatever their names share
    expect(hostMetricsNamespace("dev")).not.toBe(hostMetricsNamespace("dev-eu"));
    expect(() => hostMetricsNamespace("dev/eu")).toThrow(/stack "dev\/eu" is not a stack name/);
  });

  test("KMS key and SNS topic policies: no Allow to everyone; a service principal only for named sources of the account", () => {
    const key = (Statement: object[]) => v(res("aws:kms/key:Key", { policy: JSON.stringify({ Version: "2012-10-17", Statement }) }));
    const topic = (Statement: object[]) => v(res("aws:sns/topicPolicy:TopicPolicy", { policy: JSON.stringify({ Version: "2012-10-17", Statement }) }));
    const cw = { Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["kms:Decrypt"], Resource: "*" };
    const arn = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:dev-db-down-db-host";
    expect(key([{ ...cw, Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnEquals: { "aws:SourceArn": [arn] } } }])).toEqual([]);
    // the prefix that also matched stack dev-eu's alarms
    expect(key([{ ...cw, Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:dev-*" } } }]))
      .toEqual([expect.stringMatching(/not named exactly/)]);
    expect(key([{ ...cw, Condition: { ArnEquals: { "aws:SourceArn": [arn] } } }])).toEqual([expect.stringMatching(/without an aws:SourceAccount condition/)]);
    expect(key([cw])).toHaveLength(2);
    expect(topic([{ Effect: "Allow", Principal: "*", Action: "sns:Publish", Resource: "arn:aws:sns:eu-west-1:1:t" }])).toEqual([expect.stringMatching(/allows any principal/)]);
    expect(topic([{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sns:Publish", Resource: "arn:aws:sns:eu-west-1:1:t" }])).toHaveLength(1);
    expect(topic([{ Effect: "Deny", Principal: "*", Action: "sns:Publish", Resource: "t", Condition: { Bool: { "aws:SecureTransport": "false" } } }])).toEqual([]);
  });

  test("remote commands: deletedWith, no secret in command text, silent when stdin is secret", () => {
    expect(v(res("command:remote:Command", { create: "bash -s" }, { deletedWith: null }))).toEqual([expect.stringMatching(/deletedWith/)]);
    expect(v(res("command:remote:Command", { create: "redis-cli -a <secret:redisPassword>" }))).toEqual([expect.stringMatching(/command text/)]);
    expect(v(res("command:remote:Command", { create: "bash -s", stdin: { $secret: "x" }, logging: "stdoutAndStderr" }))).toEqual([expect.stringMatching(/logging/)]);
    expect(v(res("command:remote:Command", { create: "bash -s", stdin: { $secret: "x" }, logging: "none" }))).toEqual([]);
  });

  test("Lambda runtime must be Node.js 22 or newer", () => {
    expect(v(res("aws:lambda/function:Function", { runtime: "nodejs20.x" }))).toHaveLength(1);
    expect(v(res("aws:lambda/function:Function", { runtime: "nodejs22.x" }))).toEqual([]);
  });

  describe("every ingress that admits a security group has the matching egress on that group", () => {
    const named = (type: string, name: string, inputs: Record<string, unknown>) => ({ ...res(type, inputs), name, urn: `urn:${type}::${name}` });
    const group = (name: string, extra: Record<string, unknown> = {}) => named("aws:ec2/securityGroup:SecurityGroup", name, { vpcId: "vpc-id", ...extra });
    const vpc = named("aws:ec2/vpc:Vpc", "vpc", { cidrBlock: "10.0.0.0/16" });
    const ingress = (from: string, port: number, toPort = port) =>
      named("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-in", { securityGroupId: "db-id", referencedSecurityGroupId: `${from}-id`, ipProtocol: "tcp", fromPort: port, toPort });
    const egress = (inputs: Record<string, unknown>) =>
      named("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "web-out", { securityGroupId: "web-id", ipProtocol: "tcp", ...inputs });

    test("an ingress from a group without egress is reported, naming the rule, both groups and the ports", () => {
      const found = missingEgress([vpc, group("db"), group("web"), ingress("web", 3306), egress({ fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" })]);
      expect(found).toEqual([
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule db-in: admits security group web on tcp 3306-3306 into db, but web has no egress rule " +
          "that allows it (the rule is dead: the provider removes AWS's default allow-all egress)",
      ]);
      expect(planViolations({ resources: [vpc, group("db"), group("web"), ingress("web", 3306)] })).toHaveLength(1);
    });
    test("egress to the target group, the VPC's CIDR, 0.0.0.0/0 or all traffic matches; another group, CIDR, protocol or a narrower range does not", () => {
      const ok = (e: Record<string, unknown>, port = 7000, toPort = 7001) => missingEgress([vpc, group("db"), group("web"), group("other"), ingress("web", port, toPort), egress(e)]);
      expect(ok({ fromPort: 7000, toPort: 7001, referencedSecurityGroupId: "db-id" })).toEqual([]);
      expect(ok({ fromPort: 7000, toPort: 7001, cidrIpv4: "10.0.0.0/16" })).toEqual([]);
      expect(ok({ fromPort: 0, toPort: 65535, cidrIpv4: "0.0.0.0/0" })).toEqual([]);
      expect(ok({ ipProtocol: "-1", referencedSecurityGroupId: "db-id" })).toEqual([]);
      expect(ok({ fromPort: 7000, toPort: 7001, referencedSecurityGroupId: "other-id" })).toHaveLength(1);
      expect(ok({ fromPort: 7000, toPort: 7001, cidrIpv4: "10.0.1.0/24" })).toHaveLength(1);
      expect(ok({ fromPort: 7000, toPort: 7000, referencedSecurityGroupId: "db-id" })).toHaveLength(1);
      expect(ok({ ipProtocol: "udp", fromPort: 7000, toPort: 7001, referencedSecurityGroupId: "db-id" })).toHaveLength(1);
    });
    test("inline rules count on both sides, self-references included", () => {
      const bastion = group("bastion", { egress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/16"] }] });
      const sshIn = named("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-in-ssh", { securityGroupId: "db-id", referencedSecurityGroupId: "bastion-id", ipProtocol: "tcp", fromPort: 22, toPort: 22 });
      const kibanaIn = { ...sshIn, name: "db-in-kibana", inputs: { ...sshIn.inputs, fromPort: 5601, toPort: 5601 } };
      expect(missingEgress([vpc, group("db"), bastion, sshIn])).toEqual([]);
      expect(missingEgress([vpc, group("db"), bastion, kibanaIn])).toEqual([expect.stringContaining("db-in-kibana: admits security group bastion on tcp 5601-5601")]);
      const self = group("es", { ingress: [{ protocol: "tcp", fromPort: 9300, toPort: 9300, self: true }] });
      expect(missingEgress([vpc, self])).toEqual([expect.stringContaining("admits security group es on tcp 9300-9300 into es")]);
      expect(missingEgress([vpc, { ...self, inputs: { ...self.inputs, egress: [{ protocol: "tcp", fromPort: 9300, toPort: 9300, self: true }] } }])).toEqual([]);
    });
  });
});
