import * as pulumi from "@pulumi/pulumi";
import { execFileSync } from "node:child_process";
import { expectUniqueNames, OptionsRecorder, registered, Registration, settle, unsecret, useMocks, valueOf } from "../../test/harness/pulumi-mocks";
import { SpotFailover, SpotFailoverArgs } from "./index";
import { SPOT_FLEET_TAGGING_POLICY_ARN } from "./iam";
import { renderWebUserData } from "./user-data";

const STUB_CODE = new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({});") });
const base: SpotFailoverArgs = {
  vpcId: "vpc-0123456789abcdef0",
  publicSubnetIds: ["subnet-pub-a", "subnet-pub-b"],
  instanceSubnetIds: ["subnet-prv-a", "subnet-prv-b", "subnet-prv-c"],
  targetCapacity: 3,
  instanceTypes: ["t3.micro", "t3a.micro"],
  code: STUB_CODE,
};

/** Registrations of the component named `prefix` (children are named `${prefix}-<role>`). */
const of = (prefix: string, type?: string): Registration[] =>
  registered.filter((r) => r.name.startsWith(`${prefix}-`) && (type === undefined || r.type === type)).map((r) => ({ ...r, inputs: unsecret(r.inputs) }));
const one = (prefix: string, role: string, type?: string): Registration => {
  const r = of(prefix, type).find((x) => x.name === `${prefix}-${role}`);
  if (!r) throw new Error(`no ${prefix}-${role}; have ${of(prefix).map((x) => x.name).join(", ")}`);
  return r;
};

const recorders: Record<string, OptionsRecorder> = {};
async function build(name: string, over: Partial<SpotFailoverArgs> = {}): Promise<SpotFailover> {
  const rec = (recorders[name] = new OptionsRecorder());
  const c = new SpotFailover(name, { ...base, ...over }, rec.opts);
  await settle(c);
  await valueOf(pulumi.all([c.url, c.reconcilerFunctionName, c.deadLetterQueueUrl, c.reconcileQueueUrl, c.spotSourceId]));
  await settle(c);
  return c;
}

beforeAll(async () => {
  await useMocks();
  await build("web"); // fleet (default)
  await build("webasg", { spotSource: "asg" });
  await build("webtls", { certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc", dns: { zoneId: "Z123", name: "www.example.com" }, ingressCidrs: ["0.0.0.0/0", "198.51.100.0/24"] });
}, 120_000); // three components under mocks: slow on a loaded 2-core machine

test("names are unique and every child is named after its component", () => {
  expectUniqueNames();
  expect(registered.find((r) => r.type === "opsfleet:index:SpotFailover" && r.name === "web")).toBeDefined();
});

describe("launch template", () => {
  test("requires IMDSv2, encrypts the gp3 root volume, uses the instance SG and the Debian 12 AMI", () => {
    const lt = one("web", "lt", "aws:ec2/launchTemplate:LaunchTemplate").inputs;
    expect(lt.metadataOptions).toMatchObject({ httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 });
    expect(lt.blockDeviceMappings).toEqual([{ deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: 8, encrypted: "true", deleteOnTermination: "true" } }]);
    expect(lt.vpcSecurityGroupIds).toEqual(["web-instance-sg-id"]);
    expect(lt.imageId).toBe("ami-0debian12amd64000");
  });
  test("user data installs nginx with the health page, and is valid bash", () => {
    const userData = Buffer.from(one("web", "lt").inputs.userData, "base64").toString();
    expect(userData).toBe(renderWebUserData(["/health"]));
    expect(userData).toContain("apt-get install -y -q --no-install-recommends nginx");
    expect(userData).toContain("> /var/www/html/health");
    expect(userData).toContain("X-aws-ec2-metadata-token:");
    execFileSync("bash", ["-n"], { input: userData }); // throws on a syntax error
  });
});

describe("health-check path changes (issue 9 item 5)", () => {
  test("the target group's path is not managed after creation (the reconciler switches it after the roll)", () => {
    expect(recorders.web.optionsOf("web-tg").ignoreChanges).toEqual(["healthCheck.path"]);
    expect(one("web", "reconciler").inputs.environment.variables).toMatchObject({ HEALTH_CHECK_PATH: "/health", LAUNCH_TEMPLATE_VERSION: "1" });
  });
  test("user data serves every path given, once each, as valid bash", () => {
    const both = renderWebUserData(["/healthz", "/health", "/healthz"]);
    expect(both.match(/> \/var\/www\/html\/health\n/g)).toHaveLength(1);
    expect(both.match(/> \/var\/www\/html\/healthz\n/g)).toHaveLength(1);
    execFileSync("bash", ["-n"], { input: both });
    expect(renderWebUserData(["/health", "/health"])).toBe(renderWebUserData(["/health"])); // unchanged template when nothing changed
  });
});

describe("security groups", () => {
  const rules = (prefix: string) => of(prefix).filter((r) => r.type.startsWith("aws:vpc/securityGroup")).map((r) => ({ kind: r.type.includes("Ingress") ? "in" : "out", ...r.inputs }));
  test("the internet reaches the ALB on 80 only (no certificate)", () => {
    const albIn = rules("web").filter((r) => r.kind === "in" && r.securityGroupId === "web-alb-sg-id");
    expect(albIn.map((r) => [r.fromPort, r.toPort, r.cidrIpv4])).toEqual([[80, 80, "0.0.0.0/0"]]);
  });
  test("instances take :80 only from the ALB security group, never from a CIDR", () => {
    const instIn = rules("web").filter((r) => r.kind === "in" && r.securityGroupId === "web-instance-sg-id");
    expect(instIn).toEqual([expect.objectContaining({ fromPort: 80, toPort: 80, referencedSecurityGroupId: "web-alb-sg-id" })]);
    expect(instIn[0].cidrIpv4).toBeUndefined();
    const albOut = rules("web").filter((r) => r.kind === "out" && r.securityGroupId === "web-alb-sg-id");
    expect(albOut).toEqual([expect.objectContaining({ fromPort: 80, referencedSecurityGroupId: "web-instance-sg-id" })]);
  });
  test("with a certificate: 80 and 443 from each ingress CIDR", () => {
    const albIn = rules("webtls").filter((r) => r.kind === "in" && r.securityGroupId === "webtls-alb-sg-id");
    expect(albIn.map((r) => `${r.fromPort}:${r.cidrIpv4}`).sort()).toEqual(["443:0.0.0.0/0", "443:198.51.100.0/24", "80:0.0.0.0/0", "80:198.51.100.0/24"]);
  });
});

describe("load balancer", () => {
  test("target group: HTTP health check on the health page, deregistration delay <= 90 s", () => {
    const tg = one("web", "tg", "aws:lb/targetGroup:TargetGroup").inputs;
    expect(tg).toMatchObject({ port: 80, protocol: "HTTP", deregistrationDelay: 30, healthCheck: { path: "/health", matcher: "200" } });
  });
  test("HTTP only: :80 forwards to the target group", () => {
    const l = of("web", "aws:lb/listener:Listener");
    expect(l.map((x) => [x.inputs.port, x.inputs.defaultActions[0].type])).toEqual([[80, "forward"]]);
  });
  test("with a certificate: HTTPS on :443, :80 redirects, Route53 alias to the ALB", () => {
    const l = of("webtls", "aws:lb/listener:Listener");
    expect(l.map((x) => [x.inputs.port, x.inputs.protocol, x.inputs.defaultActions[0].type]).sort()).toEqual([[443, "HTTPS", "forward"], [80, "HTTP", "redirect"]]);
    expect(l.find((x) => x.inputs.port === 443)!.inputs.certificateArn).toBe("arn:aws:acm:us-east-1:123456789012:certificate/abc");
    expect(one("webtls", "alias", "aws:route53/record:Record").inputs).toMatchObject({ zoneId: "Z123", name: "www.example.com", type: "A", aliases: [{ name: "webtls-alb.us-east-1.elb.amazonaws.com", evaluateTargetHealth: true }] });
  });
  test("no alias record without dns", () => {
    expect(of("web", "aws:route53/record:Record")).toEqual([]);
  });
});

describe("spot source: fleet", () => {
  test("maintain-type Spot Fleet over instance types × subnets, attached to the target group", () => {
    const f = one("web", "fleet", "aws:ec2/spotFleetRequest:SpotFleetRequest").inputs;
    expect(f).toMatchObject({ fleetType: "maintain", targetCapacity: 3, allocationStrategy: "priceCapacityOptimized", terminateInstancesWithExpiration: true, targetGroupArns: [expect.stringContaining("targetgroup/web-tg/")] });
    expect(f.launchTemplateConfigs[0].overrides).toHaveLength(6);
    expect(f.launchTemplateConfigs[0].overrides).toContainEqual({ instanceType: "t3a.micro", subnetId: "subnet-prv-c" });
    expect(f.spotPrice).toBeUndefined();
  });
  test("fleet role: trusted by spotfleet, only the AWS managed tagging policy", () => {
    expect(JSON.parse(one("web", "fleet-role").inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "spotfleet.amazonaws.com" });
    expect(of("web", "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((r) => r.inputs.policyArn)).toEqual([SPOT_FLEET_TAGGING_POLICY_ARN]);
  });
  test("the reconciler owns the fleet target capacity and the on-demand desired capacity (ignoreChanges)", () => {
    expect(recorders.web.optionsOf("web-fleet").ignoreChanges).toEqual(["targetCapacity"]);
    expect(recorders.web.optionsOf("web-ondemand").ignoreChanges).toEqual(["desiredCapacity", "tags"]);
  });
});

describe("creation never waits for Spot capacity (issue 9 item 3)", () => {
  test.each([["webasg", "spot"], ["webasg", "ondemand"], ["web", "ondemand"]])("%s-%s: waitForCapacityTimeout \"0\" (no capacity wait, no failure on a failed scaling activity)", (p, role) => {
    expect(one(p, role, "aws:autoscaling/group:Group").inputs.waitForCapacityTimeout).toBe("0");
    expect(one(p, role).inputs.minElbCapacity).toBeUndefined();
    expect(one(p, role).inputs.waitForElbCapacity).toBeUndefined();
  });
  test("the fleet does not wait for fulfillment", () => {
    expect(one("web", "fleet").inputs.waitForFulfillment).toBe(false);
  });
});

describe("what the reconciler writes is never managed by Pulumi (issue 9 item 8)", () => {
  const COVERED = "opsfleet:spot-covered-since";
  test.each(["web", "webasg"])("%s: the on-demand ASG's tags are not Pulumi inputs (ignoreChanges), so a refresh never removes the coverage tag", (p) => {
    expect(one(p, "ondemand").inputs.tags).toBeUndefined();
    expect(recorders[p].optionsOf(`${p}-ondemand`).ignoreChanges).toEqual(expect.arrayContaining(["desiredCapacity", "tags"]));
  });
  test.each(["web", "webasg"])("%s: Pulumi's own tags on the on-demand ASG are separate Tag resources (one key each), none of them the reconciler's", (p) => {
    const tagRes = of(p, "aws:autoscaling/tag:Tag").map((r) => r.inputs);
    expect(tagRes.map((t) => t.tag.key).sort()).toEqual(["Name", "opsfleet:component"]);
    for (const t of tagRes) expect(t).toMatchObject({ autoscalingGroupName: `${p}-ondemand`, tag: { propagateAtLaunch: true } });
    expect(tagRes.map((t) => t.tag.key)).not.toContain(COVERED);
    for (const r of of(p, "aws:autoscaling/tag:Tag")) expect((recorders[p].optionsOf(r.name) as pulumi.CustomResourceOptions).deleteBeforeReplace).toBe(true);
  });
  test("user tags whose keys read alike (opsfleet-component, Name) give one Tag resource per key, distinct names, one Name", async () => {
    await build("webtags", { spotSource: "asg", tags: { "opsfleet-component": "mine", Name: "mine", team: "web" } });
    const tagRes = of("webtags", "aws:autoscaling/tag:Tag");
    expect(tagRes.map((r) => r.inputs.tag.key).sort()).toEqual(["Name", "opsfleet-component", "opsfleet:component", "team"]);
    expect(new Set(tagRes.map((r) => r.name)).size).toBe(4);
    expect(tagRes.find((r) => r.inputs.tag.key === "Name")!.inputs.tag.value).toBe("webtags-ondemand");
    const spotTags = one("webtags", "spot", "aws:autoscaling/group:Group").inputs.tags as { key: string; value: string }[];
    expect(spotTags.filter((t) => t.key === "Name")).toEqual([expect.objectContaining({ value: "webtags-spot" })]);
    expectUniqueNames();
  }, 60_000);
  test("every capacity the reconciler writes is in ignoreChanges of the resource holding it", () => {
    expect(recorders.web.optionsOf("web-fleet").ignoreChanges).toContain("targetCapacity");
    expect(recorders.webasg.optionsOf("webasg-spot").ignoreChanges).toContain("desiredCapacity");
    // The reconciler may tag only its one key, only on the on-demand ASG (IAM), and no Pulumi input carries that key.
    const policy = JSON.parse(one("web", "reconciler-policy").inputs.policy);
    expect(policy.Statement.find((s: any) => s.Action.includes("autoscaling:CreateOrUpdateTags")).Condition["ForAllValues:StringEquals"]["aws:TagKeys"]).toEqual([COVERED]);
    expect(JSON.stringify(of("web").filter((r) => r.type !== "aws:iam/rolePolicy:RolePolicy" && r.type !== "aws:lambda/function:Function").map((r) => r.inputs))).not.toContain(COVERED);
  });
});

describe("spot source: asg", () => {
  test("Spot-only mixed instances ASG, price-capacity-optimized, capacity rebalance, same target group", () => {
    const g = one("webasg", "spot", "aws:autoscaling/group:Group").inputs;
    expect(g.mixedInstancesPolicy.instancesDistribution).toEqual({ onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 0, spotAllocationStrategy: "price-capacity-optimized" });
    expect(g.mixedInstancesPolicy.launchTemplate.overrides).toEqual([{ instanceType: "t3.micro" }, { instanceType: "t3a.micro" }]);
    expect(g).toMatchObject({ capacityRebalance: true, desiredCapacity: 3, maxSize: 3, healthCheckType: "ELB", targetGroupArns: [expect.stringContaining("targetgroup/webasg-tg/")] });
    expect(recorders.webasg.optionsOf("webasg-spot").ignoreChanges).toEqual(["desiredCapacity"]);
    expect(of("webasg", "aws:ec2/spotFleetRequest:SpotFleetRequest")).toEqual([]);
  });
});

describe("on-demand ASG", () => {
  test.each(["web", "webasg"])("%s: min 0 / desired 0 / max target, prioritized on-demand types, ELB health, same target group", (p) => {
    const g = one(p, "ondemand", "aws:autoscaling/group:Group").inputs;
    expect(g).toMatchObject({ minSize: 0, desiredCapacity: 0, maxSize: 3, healthCheckType: "ELB", vpcZoneIdentifiers: base.instanceSubnetIds });
    expect(g.mixedInstancesPolicy.instancesDistribution).toEqual({ onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 100, onDemandAllocationStrategy: "prioritized" });
    expect(g.targetGroupArns).toEqual([expect.stringContaining(`targetgroup/${p}-tg/`)]);
    expect(g.mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.launchTemplateId).toBe(`${p}-lt-id`);
  });
});

describe("reconciler IAM", () => {
  const policyOf = (p: string) => JSON.parse(one(p, "reconciler-policy", "aws:iam/rolePolicy:RolePolicy").inputs.policy);
  const odArn = (p: string) => `arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:uuid-${p}-ondemand:autoScalingGroupName/${p}-ondemand`;

  test.each(["web", "webasg", "webtls"])("%s: \"*\" only for Describe actions; no wildcard actions", (p) => {
    for (const s of policyOf(p).Statement) {
      for (const action of s.Action) expect(action).not.toMatch(/\*/);
      if (s.Resource === "*" || (Array.isArray(s.Resource) && s.Resource.includes("*"))) expect(s.Action.every((x: string) => /^[a-z0-9-]+:Describe[A-Za-z]+$/.test(x))).toBe(true);
    }
  });
  test("fleet: writes scoped to this on-demand ASG and this fleet", () => {
    const st = policyOf("web").Statement;
    expect(st.find((s: any) => s.Action.includes("autoscaling:SetDesiredCapacity")).Resource).toEqual([odArn("web")]);
    expect(st.find((s: any) => s.Action.includes("ec2:ModifySpotFleetRequest")).Resource).toBe("arn:aws:ec2:us-east-1:123456789012:spot-fleet-request/web-fleet-id");
    expect(st.find((s: any) => s.Action.includes("autoscaling:CreateOrUpdateTags"))).toMatchObject({
      Resource: odArn("web"), Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["opsfleet:spot-covered-since"] } },
    });
    expect(st.find((s: any) => s.Action.includes("logs:PutLogEvents")).Resource).toEqual(["arn:aws:logs:us-east-1:123456789012:log-group:/opsfleet/opsfleet/test/web-reconciler-20261101a1b2c3d4e5f6a7b8c9", "arn:aws:logs:us-east-1:123456789012:log-group:/opsfleet/opsfleet/test/web-reconciler-20261101a1b2c3d4e5f6a7b8c9:*"]);
  });
  test("asg: SetDesiredCapacity on both groups, no Spot Fleet action", () => {
    const st = policyOf("webasg").Statement;
    expect(st.find((s: any) => s.Action.includes("autoscaling:SetDesiredCapacity")).Resource).toEqual([odArn("webasg"), expect.stringContaining("autoScalingGroupName/webasg-spot")]);
    expect(JSON.stringify(st)).not.toContain("ModifySpotFleetRequest");
  });
  test("no AdministratorAccess or other broad managed policy anywhere; the Lambda role has none at all", () => {
    const attachments = registered.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment");
    expect(attachments.map((r) => r.inputs.policyArn)).toEqual(attachments.map(() => SPOT_FLEET_TAGGING_POLICY_ARN));
    for (const p of ["web", "webasg"]) expect(JSON.parse(one(p, "reconciler-role").inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "lambda.amazonaws.com" });
  });
});

describe("EventBridge wake-ups", () => {
  const rule = (p: string, role: string) => one(p, `rule-${role}`, "aws:cloudwatch/eventRule:EventRule").inputs;
  const pattern = (p: string, role: string) => JSON.parse(rule(p, role).eventPattern);

  test("instance events: interruption, rebalance, state changes (running and going away)", () => {
    expect(pattern("web", "interruption")).toEqual({ source: ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"] });
    expect(pattern("web", "rebalance")).toEqual({ source: ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"] });
    expect(pattern("web", "state-change").detail.state).toEqual(["running", "shutting-down", "terminated", "stopping", "stopped"]);
  });
  test("Spot Fleet events scoped by this fleet's ARN", () => {
    expect(pattern("web", "spot-fleet")).toEqual({ source: ["aws.ec2spotfleet"], resources: ["arn:aws:ec2:us-east-1:123456789012:spot-fleet-request/web-fleet-id"] });
    expect(of("webasg").find((r) => r.name === "webasg-rule-spot-fleet")).toBeUndefined();
  });
  test("Auto Scaling events scoped by group name", () => {
    expect(pattern("web", "autoscaling").detail).toEqual({ AutoScalingGroupName: ["web-ondemand"] });
    expect(pattern("webasg", "autoscaling").detail).toEqual({ AutoScalingGroupName: ["webasg-ondemand", "webasg-spot"] });
  });
  test("a 1-minute schedule is the safety net", () => {
    expect(rule("web", "schedule").scheduleExpression).toBe("rate(1 minute)");
  });
  test.each(["web", "webasg"])("%s: every rule targets the FIFO wake-up queue in one message group, short max event age + DLQ; nothing may invoke the Lambda directly", (p) => {
    const rules = of(p, "aws:cloudwatch/eventRule:EventRule");
    expect(rules).toHaveLength(p === "web" ? 6 : 5);
    const dlqArn = `arn:aws:sqs:us-east-1:123456789012:${p}-reconciler-dlq`;
    const queueArn = `arn:aws:sqs:us-east-1:123456789012:${one(p, "reconcile", "aws:sqs/queue:Queue").inputs.name}`;
    for (const r of rules) {
      const role = r.name.slice(`${p}-rule-`.length);
      expect(one(p, `target-${role}`).inputs).toMatchObject({ rule: r.name, arn: queueArn, sqsTarget: { messageGroupId: "reconcile" }, retryPolicy: { maximumEventAgeInSeconds: 300 }, deadLetterConfig: { arn: dlqArn } });
    }
    expect(of(p, "aws:lambda/permission:Permission")).toEqual([]);
    expect(of(p, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")).toEqual([]);
    for (const policyName of ["reconcile-policy", "reconciler-dlq-policy"]) {
      const qp = JSON.parse(one(p, policyName).inputs.policy).Statement;
      expect(qp).toEqual([expect.objectContaining({ Principal: { Service: "events.amazonaws.com" }, Action: "sqs:SendMessage" })]);
      expect(qp[0].Condition.ArnEquals["aws:SourceArn"].sort()).toEqual(rules.map((r) => `arn:aws:events:us-east-1:123456789012:rule/${r.name}`).sort());
    }
    expect(JSON.parse(one(p, "reconcile-policy").inputs.policy).Statement[0].Resource).toBe(queueArn);
  });
});

describe("single writer without reserved concurrency (issue 9 item 2)", () => {
  const queue = (p: string) => one(p, "reconcile", "aws:sqs/queue:Queue").inputs;
  test.each(["web", "webasg", "webtls"])("%s: no reserved concurrency (accounts with the default quota of 10 refuse any)", (p) => {
    expect(one(p, "reconciler", "aws:lambda/function:Function").inputs.reservedConcurrentExecutions).toBeUndefined();
  });
  test("reserved concurrency stays available as an opt-in", async () => {
    await build("webrc", { reservedConcurrency: 1 });
    expect(one("webrc", "reconciler").inputs.reservedConcurrentExecutions).toBe(1);
  }, 60_000);
  test("the wake-up queue: FIFO, content-based deduplication, encrypted, retained until a failing message reaches its encrypted FIFO DLQ", () => {
    const q = queue("web");
    expect(q).toMatchObject({ fifoQueue: true, contentBasedDeduplication: true, sqsManagedSseEnabled: true });
    // default maxEventAgeSeconds 300 < 3 receives × 180 s visibility: retention covers the third receive
    expect(q.messageRetentionSeconds).toBe(540);
    expect(q.messageRetentionSeconds).toBeGreaterThanOrEqual(3 * q.visibilityTimeoutSeconds);
    expect(q.name).toMatch(/^web-reconcile-[0-9a-f]{12}\.fifo$/);
    const dlq = one("web", "reconcile-dlq", "aws:sqs/queue:Queue").inputs;
    expect(dlq).toMatchObject({ fifoQueue: true, sqsManagedSseEnabled: true });
    expect(JSON.parse(q.redrivePolicy)).toEqual({ deadLetterTargetArn: `arn:aws:sqs:us-east-1:123456789012:${dlq.name}`, maxReceiveCount: 3 });
    expect(one("web", "reconciler-dlq").inputs.sqsManagedSseEnabled).toBe(true);
  });
  test("visibility timeout >= 6 × the function timeout (AWS's advice for SQS event sources)", () => {
    expect(queue("web").visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * one("web", "reconciler").inputs.timeout);
  });
  test.each(["web", "webasg"])("%s: the queue is the Lambda's only trigger: event source mapping, batch size 1, after the role may read the queue", (p) => {
    const esm = of(p, "aws:lambda/eventSourceMapping:EventSourceMapping");
    expect(esm).toHaveLength(1);
    expect(esm[0].inputs).toMatchObject({ eventSourceArn: `arn:aws:sqs:us-east-1:123456789012:${queue(p).name}`, functionName: `arn:aws:lambda:us-east-1:123456789012:function:${p}-reconciler`, batchSize: 1, enabled: true });
    expect(esm[0].inputs.maximumBatchingWindowInSeconds).toBeUndefined();
    expect(recorders[p].optionsOf(`${p}-reconciler-source`).dependsOn).toEqual([recorders[p].resourceOf(`${p}-reconciler-policy`)]);
  });
  test("the Lambda accepts messages of this queue only (RECONCILE_QUEUE_ARN)", () => {
    expect(one("web", "reconciler").inputs.environment.variables.RECONCILE_QUEUE_ARN).toBe(`arn:aws:sqs:us-east-1:123456789012:${queue("web").name}`);
  });
  test("queue names are unique per component and fit SQS's 80 characters", () => {
    const names = registered.filter((r) => r.type === "aws:sqs/queue:Queue" && r.inputs.fifoQueue).map((r) => r.inputs.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9_-]{1,75}\.fifo$/);
  });
});

describe("reconciler Lambda", () => {
  test("Node.js 22, own log group", () => {
    const fn = one("web", "reconciler", "aws:lambda/function:Function").inputs;
    expect(fn).toMatchObject({ runtime: "nodejs22.x", handler: "index.handler", timeout: 30, loggingConfig: { logGroup: "/opsfleet/opsfleet/test/web-reconciler-20261101a1b2c3d4e5f6a7b8c9" } });
    expect(one("web", "reconciler-logs").inputs.retentionInDays).toBe(30);
  });
  test("the log group's name is unique in the account, not only per project and stack (two organizations or backends may share a stack name)", () => {
    const logs = one("web", "reconciler-logs").inputs;
    expect(logs.name).toBeUndefined(); // the provider appends a unique id to the readable prefix
    expect(logs.namePrefix).toBe("/opsfleet/opsfleet/test/web-reconciler-");
  });
  test("every id the reconciler needs comes from environment variables set by the component", () => {
    expect(one("web", "reconciler").inputs.environment.variables).toMatchObject({
      SPOT_SOURCE: "fleet", SPOT_FLEET_REQUEST_ID: "web-fleet-id", ON_DEMAND_ASG_NAME: "web-ondemand",
      TARGET_GROUP_ARN: expect.stringContaining("targetgroup/web-tg/"), TARGET_CAPACITY: "3", STABILIZATION_SECONDS: "600", REBALANCE_COUNTS_AS_LOST: "false",
    });
    expect(one("webasg", "reconciler").inputs.environment.variables).toMatchObject({ SPOT_SOURCE: "asg", SPOT_ASG_NAME: "webasg-spot" });
  });
});

describe("outputs", () => {
  test("url, security group and ids", async () => {
    const c = await build("webout");
    expect(await valueOf(c.url)).toBe("http://webout-alb.us-east-1.elb.amazonaws.com/");
    expect(await valueOf(c.instanceSecurityGroupId)).toBe("webout-instance-sg-id");
    expect(await valueOf(c.spotSourceId)).toBe("webout-fleet-id");
    expect(c.spotSource).toBe("fleet");
  });
});

describe("bad arguments fail before anything is created, naming the argument", () => {
  test.each<[Partial<SpotFailoverArgs>, string]>([
    [{ targetCapacity: 0 }, "targetCapacity: got 0"],
    [{ publicSubnetIds: ["subnet-a"] }, "publicSubnetIds"],
    [{ instanceTypes: ["t3.micro", "t4g.micro"] }, "one CPU architecture"],
    [{ instanceTypes: ["a1.medium", "t3.micro"] }, "one CPU architecture"],
    [{ instanceTypes: ["mac2.metal"] }, "EC2 Mac type"],
    [{ instanceTypes: ["huge"] }, 'instanceTypes: got "huge"'],
    [{ fleet: { allocationStrategy: "lowestPrice", instancePoolsToUseCount: 7 } }, "fleet.instancePoolsToUseCount: got 7; allowed: 1 to 6"],
    [{ fleet: { instancePoolsToUseCount: 2 } }, 'only with allocationStrategy "lowestPrice"'],
    [{ fleet: { onDemandTargetCapacity: 3 } }, "fleet.onDemandTargetCapacity"],
    [{ fleet: { validUntil: "tomorrow" } }, 'fleet.validUntil: got "tomorrow"; allowed: a future UTC time to the second, as AWS stores it: YYYY-MM-DDTHH:MM:SSZ'],
    [{ fleet: { validUntil: "tomorrow" } }, "it is not a time in the form YYYY-MM-DDTHH:MM:SSZ"],
    [{ fleet: { validUntil: "2099-01-01T00:00:00.500Z" } }, "it has fractional seconds"],
    [{ fleet: { validUntil: "2099-01-01T02:00:00+02:00" } }, "it has a UTC offset"],
    [{ fleet: { validUntil: "2099-02-29T00:00:00Z" } }, "it is not a calendar time"],
    [{ spotSource: "asg", fleet: {} }, 'fleet options only with spotSource "fleet"'],
    [{ deregistrationDelaySeconds: 300 }, "deregistrationDelaySeconds: got 300; allowed: 0 to 90"],
    [{ healthCheckPath: "health" }, "healthCheckPath"],
    [{ healthCheckPath: "/.." }, 'healthCheckPath: got "/.."; allowed: an absolute URL path'],
    [{ healthCheckPath: "/../../etc/passwd" }, 'it has a ".." segment'],
    [{ healthCheckPath: "/ok/." }, 'it has a "." segment'],
    // Expired: a fresh stack (or a refreshed one, whose cancelled request was dropped) would create a fleet AWS refuses.
    [{ fleet: { validUntil: "2020-01-01T00:00:00Z" } }, 'fleet.validUntil: got "2020-01-01T00:00:00Z"; allowed: a future UTC time'],
    [{ fleet: { validUntil: "2020-01-01T00:00:00Z" } }, "it is in the past"],
    [{ maxEventAgeSeconds: 86400 }, "maxEventAgeSeconds"],
    [{ reservedConcurrency: 0 }, "reservedConcurrency: got 0"],
  ])("%j", async (over, message) => {
    expect(() => new SpotFailover("bad", { ...base, ...over })).toThrow(message);
    await settle();
    expect(registered.filter((r) => r.name === "bad" || r.name.startsWith("bad-"))).toEqual([]);
  });
});

test("fleet.validUntil in the future builds the fleet with it, and no warning", async () => {
  const warn = jest.spyOn(pulumi.log, "warn").mockResolvedValue();
  try {
    await build("webfut", { fleet: { validUntil: "2099-01-01T00:00:00Z" } });
    expect(one("webfut", "fleet").inputs.validUntil).toBe("2099-01-01T00:00:00Z");
    expect(warn.mock.calls.filter((c) => String(c[0]).includes("validUntil"))).toEqual([]);
  } finally {
    warn.mockRestore();
  }
}, 120_000);

describe("real bundling (no code override)", () => {
  test("the Lambda code is the esbuild bundle of functions/spot-reconciler/handler.ts", async () => {
    await build("webreal", { code: undefined });
    const code = registered.find((r) => r.name === "webreal-reconciler")!.inputs.code; // raw: unsecret() would flatten the asset
    expect(code).toBeInstanceOf(pulumi.asset.AssetArchive);
    const assets = await (code as pulumi.asset.AssetArchive).assets;
    const js = await (assets["index.js"] as pulumi.asset.StringAsset).text;
    expect(js.length).toBeGreaterThan(10_000);
    expect(js).toContain("spot-covered-since");
    expect(js).not.toMatch(/require\("aws-sdk-client-mock"\)/);
  });
});
