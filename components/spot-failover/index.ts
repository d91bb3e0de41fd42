/**
 * SpotFailover: a web tier (nginx on :80) kept on Spot capacity behind an ALB, with an on-demand ASG
 * (desired 0) on the same launch template and target group that a reconciler Lambda scales up when
 * Spot capacity is lost and back to 0 once Spot has covered the target for a stabilization window.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { debianAmiId } from "../ami";
import { ENV } from "../../functions/spot-reconciler/config";
import { resolveArgs, SpotFailoverArgs } from "./args";
import { reconcilerArchive } from "./bundle";
import { eventBridgeSendPolicy, reconcilerPolicy, trustPolicy } from "./iam";
import { MESSAGE_GROUP_ID, RECONCILER_TIMEOUT_SECONDS, wakeUpQueue } from "./queue";
import { reconcilerRules } from "./rules";
import { asgSpotSource, fleetSpotSource, INSTANCE_REFRESH, NO_CAPACITY_WAIT, RECONCILER_OWNED, SpotSource } from "./spot-source";
import { renderWebUserData, servedHealthPaths } from "./user-data";
import { asgTagList, previousTagSuffix, tagResourceSuffix } from "./asg-tags";

export type { SpotFailoverArgs, SpotFleetOptions, SpotSourceKind, FleetAllocationStrategy } from "./args";

export class SpotFailover extends pulumi.ComponentResource {
  public readonly albDnsName: pulumi.Output<string>;
  /** http(s)://<alias or ALB DNS name>/ */
  public readonly url: pulumi.Output<string>;
  public readonly albSecurityGroupId: pulumi.Output<string>;
  /** Security group of the web instances (spot and on-demand): give it to data tiers as a client SG. */
  public readonly instanceSecurityGroupId: pulumi.Output<string>;
  public readonly targetGroupArn: pulumi.Output<string>;
  /** CloudWatch's `TargetGroup` / `LoadBalancer` dimension values (ALB metrics). */
  public readonly targetGroupArnSuffix: pulumi.Output<string>;
  public readonly albArnSuffix: pulumi.Output<string>;
  public readonly launchTemplateId: pulumi.Output<string>;
  public readonly spotSource: SpotSource["kind"];
  /** Spot Fleet request id (`fleet`) or spot ASG name (`asg`). */
  public readonly spotSourceId: pulumi.Output<string>;
  public readonly onDemandAsgName: pulumi.Output<string>;
  public readonly reconcilerFunctionName: pulumi.Output<string>;
  public readonly reconcilerLogGroupName: pulumi.Output<string>;
  /** Events EventBridge could not deliver to the wake-up queue. */
  public readonly deadLetterQueueUrl: pulumi.Output<string>;
  /** The SQS FIFO queue that serializes reconciles. */
  public readonly reconcileQueueUrl: pulumi.Output<string>;
  /** Wake-ups whose reconcile failed `MAX_RECEIVE_COUNT` times. */
  public readonly reconcileDeadLetterQueueUrl: pulumi.Output<string>;

  constructor(name: string, args: SpotFailoverArgs, opts?: pulumi.ComponentResourceOptions) {
    const a = resolveArgs(name, args); // throws before anything (even this component) is registered
    super("opsfleet:index:SpotFailover", name, {}, opts);
    const parent = this;
    const tags = { ...a.tags, "opsfleet:component": name };

    // --- network: the internet reaches the ALB only; instances take :80 from the ALB only.
    const albSg = new aws.ec2.SecurityGroup(`${name}-alb-sg`, { vpcId: a.vpcId, description: `${name} ALB`, tags: { ...tags, Name: `${name}-alb` } }, { parent });
    const instanceSg = new aws.ec2.SecurityGroup(`${name}-instance-sg`, { vpcId: a.vpcId, description: `${name} web instances`, tags: { ...tags, Name: `${name}-instances` } }, { parent });
    const listenerPorts = a.certificateArn !== undefined ? [80, 443] : [80];
    for (const port of listenerPorts)
      a.ingressCidrs.forEach((cidr, i) => new aws.vpc.SecurityGroupIngressRule(`${name}-alb-in-${port}-${i}`, {
        securityGroupId: albSg.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: cidr, description: `HTTP${port === 443 ? "S" : ""} from ${cidr}`,
      }, { parent }));
    new aws.vpc.SecurityGroupEgressRule(`${name}-alb-out-web`, {
      securityGroupId: albSg.id, ipProtocol: "tcp", fromPort: 80, toPort: 80, referencedSecurityGroupId: instanceSg.id, description: "to the web instances",
    }, { parent });
    new aws.vpc.SecurityGroupIngressRule(`${name}-instance-in-web`, {
      securityGroupId: instanceSg.id, ipProtocol: "tcp", fromPort: 80, toPort: 80, referencedSecurityGroupId: albSg.id, description: "HTTP from the ALB only",
    }, { parent });
    for (const port of [80, 443])
      new aws.vpc.SecurityGroupEgressRule(`${name}-instance-out-${port}`, {
        securityGroupId: instanceSg.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0", description: "apt (via NAT)",
      }, { parent });

    // --- load balancer
    const alb = new aws.lb.LoadBalancer(`${name}-alb`, {
      loadBalancerType: "application", internal: false, subnets: a.publicSubnetIds, securityGroups: [albSg.id],
      dropInvalidHeaderFields: true, tags,
    }, { parent });
    const targetGroup = new aws.lb.TargetGroup(`${name}-tg`, {
      vpcId: a.vpcId, port: 80, protocol: "HTTP", targetType: "instance", deregistrationDelay: a.deregistrationDelaySeconds,
      healthCheck: { path: a.healthCheckPath, protocol: "HTTP", matcher: "200", interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 2 },
      tags,
      // The path is set at creation; later changes are made by the reconciler once every instance
      // serves the new path (an in-place change now would make every running target unhealthy at once).
    }, { parent, ignoreChanges: ["healthCheck.path"] });
    // Instances serve the configured path and the one the target group checks now: read live at every
    // `up` (the reconciler changes it at run time, so Pulumi's state of it is stale after a change).
    const checkedNow = aws.lb.getTargetGroupOutput({ arn: targetGroup.arn }, { parent }).healthCheck.apply((hc) => hc?.path);
    const healthPaths = checkedNow.apply((now) => servedHealthPaths(a.healthCheckPath, now));
    if (a.certificateArn !== undefined) {
      new aws.lb.Listener(`${name}-http`, {
        loadBalancerArn: alb.arn, port: 80, protocol: "HTTP",
        defaultActions: [{ type: "redirect", redirect: { port: "443", protocol: "HTTPS", statusCode: "HTTP_301" } }], tags,
      }, { parent });
      new aws.lb.Listener(`${name}-https`, {
        loadBalancerArn: alb.arn, port: 443, protocol: "HTTPS", certificateArn: a.certificateArn, sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }], tags,
      }, { parent });
    } else {
      new aws.lb.Listener(`${name}-http`, { loadBalancerArn: alb.arn, port: 80, protocol: "HTTP", defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }], tags }, { parent });
    }
    if (a.dns !== undefined)
      new aws.route53.Record(`${name}-alias`, {
        zoneId: a.dns.zoneId, name: a.dns.name, type: "A", aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }],
      }, { parent });

    // --- one launch template for spot and on-demand
    const launchTemplate = new aws.ec2.LaunchTemplate(`${name}-lt`, {
      description: `${name} web instances (nginx on :80)`,
      imageId: debianAmiId(a.instanceTypes[0], a.amiId, this),
      ...(a.keyName !== undefined ? { keyName: a.keyName } : {}),
      ...(a.instanceProfileArn !== undefined ? { iamInstanceProfile: { arn: a.instanceProfileArn } } : {}),
      vpcSecurityGroupIds: [instanceSg.id],
      userData: healthPaths.apply((paths) => Buffer.from(renderWebUserData(paths)).toString("base64")),
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: a.rootVolumeSizeGb, encrypted: "true", deleteOnTermination: "true" } }],
      tagSpecifications: ["instance", "volume"].map((resourceType) => ({ resourceType, tags: { ...tags, Name: `${name}-web` } })),
      updateDefaultVersion: true,
      tags,
    }, { parent });

    const spot = (a.spotSource === "fleet" ? fleetSpotSource : asgSpotSource)({ name, args: a, launchTemplate, targetGroup, tags, parent });

    // --- on-demand ASG: min 0 / desired 0; the reconciler owns desiredCapacity and its coverage tag at
    // run time. The group's tags are therefore `ignoreChanges` (a refresh would otherwise see the
    // reconciler's tag as drift and remove it); Pulumi manages each of its own tags as a separate
    // aws.autoscaling.Tag, which reads and writes only its key.
    const onDemand = new aws.autoscaling.Group(`${name}-ondemand`, {
      minSize: 0, maxSize: a.targetCapacity, desiredCapacity: 0, waitForCapacityTimeout: NO_CAPACITY_WAIT,
      vpcZoneIdentifiers: a.instanceSubnetIds, targetGroupArns: [targetGroup.arn],
      healthCheckType: "ELB", healthCheckGracePeriod: 180,
      instanceRefresh: INSTANCE_REFRESH, // on-demand instances during a failover roll too
      mixedInstancesPolicy: {
        instancesDistribution: { onDemandBaseCapacity: 0, onDemandPercentageAboveBaseCapacity: 100, onDemandAllocationStrategy: "prioritized" },
        launchTemplate: {
          launchTemplateSpecification: { launchTemplateId: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
          overrides: a.instanceTypes.map((instanceType) => ({ instanceType })),
        },
      },
    }, { parent, ignoreChanges: [...RECONCILER_OWNED.onDemand, "tags"] });
    const onDemandTags = asgTagList(tags, `${name}-ondemand`);
    for (const t of onDemandTags) {
      const previous = previousTagSuffix(t.key, onDemandTags.map((x) => x.key));
      // deleteBeforeReplace: a replaced Tag of the same key must not delete the value its successor just wrote.
      new aws.autoscaling.Tag(`${name}-ondemand-tag-${tagResourceSuffix(t.key)}`, { autoscalingGroupName: onDemand.name, tag: t }, {
        parent, deleteBeforeReplace: true, aliases: previous ? [{ name: `${name}-ondemand-tag-${previous}` }] : [],
      });
    }

    // --- reconciler: rules → FIFO wake-up queue (one message group) → Lambda, batch size 1 (queue.ts).
    // `dlq`: events EventBridge could not deliver to the queue (an EventBridge DLQ must be a standard queue).
    const dlq = new aws.sqs.Queue(`${name}-reconciler-dlq`, { messageRetentionSeconds: 14 * 86400, sqsManagedSseEnabled: true, tags }, { parent });
    // A readable prefix (project/stack/component) and a unique suffix from the provider: project and
    // stack alone are not unique in an account (two organizations or backends may run a "prod" stack).
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-reconciler-logs`, { namePrefix: `/opsfleet/${pulumi.getProject()}/${pulumi.getStack()}/${name}-reconciler-`, retentionInDays: a.logRetentionDays, tags }, { parent });
    const role = new aws.iam.Role(`${name}-reconciler-role`, {
      description: `${name} spot reconciler (scoped to this tier's groups${spot.kind === "fleet" ? " and fleet" : ""})`,
      assumeRolePolicy: trustPolicy("lambda.amazonaws.com"), tags,
    }, { parent });
    const wake = wakeUpQueue(name, { retentionSeconds: a.maxEventAgeSeconds, tags, parent });
    const rolePolicy = new aws.iam.RolePolicy(`${name}-reconciler-policy`, {
      role: role.id,
      policy: pulumi.all([logGroup.arn, onDemand.arn, spot.arn, wake.queue.arn, targetGroup.arn]).apply(([logGroupArn, onDemandAsgArn, spotArn, queueArn, targetGroupArn]) =>
        JSON.stringify(reconcilerPolicy({
          logGroupArn, onDemandAsgArn, queueArn, targetGroupArn,
          ...(spot.kind === "fleet" ? { spotFleetArn: spotArn } : { spotAsgArn: spotArn }),
        }))),
    }, { parent });
    const fn = new aws.lambda.Function(`${name}-reconciler`, {
      description: `${name}: keeps on-demand covering the spot deficit (level-triggered)`,
      runtime: "nodejs22.x", architectures: ["arm64"], handler: "index.handler", role: role.arn,
      code: a.code ?? reconcilerArchive(),
      memorySize: 256, timeout: RECONCILER_TIMEOUT_SECONDS,
      // Not needed for a single writer (the FIFO queue serializes); opt-in only: accounts with the
      // default concurrency quota of 10 refuse any reservation.
      ...(a.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: a.reservedConcurrency } : {}),
      loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
      environment: {
        variables: {
          ...spot.reconcilerEnv,
          [ENV.onDemandAsgName]: onDemand.name,
          [ENV.targetGroupArn]: targetGroup.arn,
          [ENV.targetCapacity]: String(a.targetCapacity),
          [ENV.stabilizationSeconds]: String(a.stabilizationSeconds),
          [ENV.rebalanceCountsAsLost]: String(a.rebalanceCountsAsLost),
          [ENV.queueArn]: wake.queue.arn,
          // What instances should run and serve: the reconciler rolls the fleet and switches the health path.
          [ENV.launchTemplateVersion]: launchTemplate.latestVersion.apply(String),
          [ENV.launchTemplateId]: launchTemplate.id, // tells its instances' events from foreign ones
          [ENV.healthCheckPath]: a.healthCheckPath,
          POWERTOOLS_SERVICE_NAME: "spot-reconciler",
          POWERTOOLS_METRICS_NAMESPACE: "Opsfleet/SpotFailover",
          POWERTOOLS_LOG_LEVEL: "INFO",
        },
      },
      tags,
    }, { parent, dependsOn: [rolePolicy] });
    // The only invoker. Batch size 1: one event per reconcile; FIFO allows no batching window.
    // deleteBeforeReplace: a new queue (a queue-name change replaces the queue) replaces the mapping;
    // create-before-delete would leave two mappings — one per queue — invoking reconciles concurrently.
    // The old mapping goes first: for that moment no reconcile runs (wake-ups wait in the queue).
    new aws.lambda.EventSourceMapping(`${name}-reconciler-source`, {
      eventSourceArn: wake.queue.arn, functionName: fn.arn, batchSize: 1, enabled: true, tags,
    }, { parent, dependsOn: [rolePolicy], deleteBeforeReplace: true }); // AWS checks the role may receive from the queue at creation

    const groupNames = pulumi.all([onDemand.name, spot.kind === "asg" ? spot.id : pulumi.output("")]).apply(([o, s]) => [o, ...(s ? [s] : [])]);
    const scopeOf = pulumi.all([groupNames, spot.kind === "fleet" ? spot.arn : pulumi.output("")]).apply(([names, fleetArn]) => ({ groupNames: names, ...(fleetArn ? { spotFleetArn: fleetArn } : {}) }));
    // How many rules exist depends only on the spot source kind (plain), not on Output values.
    const roles = reconcilerRules({ spotFleetArn: spot.kind === "fleet" ? "(fleet)" : undefined, groupNames: [] }).map((r) => r.role);
    const ruleArns: pulumi.Output<string>[] = [];
    for (const ruleRole of roles) {
      const spec = scopeOf.apply((s) => reconcilerRules(s).find((r) => r.role === ruleRole)!);
      const isSchedule = ruleRole === "schedule";
      const rule = new aws.cloudwatch.EventRule(`${name}-rule-${ruleRole}`, {
        description: spec.apply((s) => `${name}: ${s.description}`),
        ...(isSchedule ? { scheduleExpression: spec.apply((s) => s.scheduleExpression!) } : { eventPattern: spec.apply((s) => JSON.stringify(s.eventPattern)) }),
        tags,
      }, { parent });
      ruleArns.push(rule.arn);
      new aws.cloudwatch.EventTarget(`${name}-target-${ruleRole}`, {
        rule: rule.name, arn: wake.queue.arn, sqsTarget: { messageGroupId: MESSAGE_GROUP_ID },
        retryPolicy: { maximumEventAgeInSeconds: a.maxEventAgeSeconds, maximumRetryAttempts: 3 },
        deadLetterConfig: { arn: dlq.arn },
      }, { parent });
    }
    new aws.sqs.QueuePolicy(`${name}-reconcile-policy`, {
      queueUrl: wake.queue.url, policy: pulumi.all([wake.queue.arn, pulumi.all(ruleArns)]).apply(([q, rules]) => eventBridgeSendPolicy(q, rules, "EventBridgeWakeUps")),
    }, { parent });
    new aws.sqs.QueuePolicy(`${name}-reconciler-dlq-policy`, {
      queueUrl: dlq.url, policy: pulumi.all([dlq.arn, pulumi.all(ruleArns)]).apply(([q, rules]) => eventBridgeSendPolicy(q, rules, "EventBridgeDeadLetters")),
    }, { parent });

    this.albDnsName = alb.dnsName;
    const scheme = a.certificateArn !== undefined ? "https" : "http";
    this.url = a.dns !== undefined ? pulumi.output(`${scheme}://${a.dns.name.replace(/\.$/, "")}/`) : pulumi.interpolate`${scheme}://${alb.dnsName}/`;
    this.albSecurityGroupId = albSg.id;
    this.instanceSecurityGroupId = instanceSg.id;
    this.targetGroupArn = targetGroup.arn;
    this.targetGroupArnSuffix = targetGroup.arnSuffix;
    this.albArnSuffix = alb.arnSuffix;
    this.launchTemplateId = launchTemplate.id;
    this.spotSource = spot.kind;
    this.spotSourceId = spot.id;
    this.onDemandAsgName = onDemand.name;
    this.reconcilerFunctionName = fn.name;
    this.reconcilerLogGroupName = logGroup.name;
    this.deadLetterQueueUrl = dlq.url;
    this.reconcileQueueUrl = wake.queue.url;
    this.reconcileDeadLetterQueueUrl = wake.deadLetterQueue.url;
    this.registerOutputs({
      albDnsName: this.albDnsName, url: this.url, albSecurityGroupId: this.albSecurityGroupId, instanceSecurityGroupId: this.instanceSecurityGroupId,
      targetGroupArn: this.targetGroupArn, launchTemplateId: this.launchTemplateId, spotSourceId: this.spotSourceId, onDemandAsgName: this.onDemandAsgName,
      reconcilerFunctionName: this.reconcilerFunctionName, reconcilerLogGroupName: this.reconcilerLogGroupName, deadLetterQueueUrl: this.deadLetterQueueUrl,
      reconcileQueueUrl: this.reconcileQueueUrl, reconcileDeadLetterQueueUrl: this.reconcileDeadLetterQueueUrl,
    });
  }
}
