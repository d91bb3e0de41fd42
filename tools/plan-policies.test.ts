import { planViolations } from "./plan-policies";
import type { PlanResource } from "./plan-core";

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
});
