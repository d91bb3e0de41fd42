/** `opsfleet:spot`: the Spot web tier with on-demand failover (see docs/spot.md). */
import { z } from "zod";
import { cidrBlock, instanceType, intBetween } from "./common";
import { FLEET_ALLOCATION_STRATEGIES, HEALTH_CHECK_PATH_ALLOWED, healthCheckPathProblem, LOG_RETENTION_DAYS, VALID_UNTIL_ALLOWED, validUntilProblem } from "../../components/spot-failover/args";
import { classifyInstanceType, describeArchitectures } from "../../components/instance-architecture";

export const spotFleetConfigSchema = z
  .strictObject({
    allocationStrategy: z.enum(FLEET_ALLOCATION_STRATEGIES).default("priceCapacityOptimized")
      .describe("How the Spot Fleet picks pools: priceCapacityOptimized (AWS's recommendation), lowestPrice, diversified, capacityOptimized, capacityOptimizedPrioritized."),
    instancePoolsToUseCount: intBetween(1, 100).optional()
      .describe("With lowestPrice only: spread over this many cheapest pools (pools = instanceTypes × private subnets)."),
    onDemandTargetCapacity: intBetween(0, 499).default(0)
      .describe("Part of targetCapacity the fleet itself keeps on-demand (a permanent floor, unlike the failover ASG)."),
    spotMaxPrice: z.string().regex(/^\d+(\.\d{1,6})?$/, { message: 'must be a USD price per instance-hour such as "0.05"' }).optional()
      .describe("Maximum Spot price per instance-hour (USD). Default: the on-demand price (AWS recommends not setting one)."),
    validUntil: z.string().superRefine((v, ctx) => {
      const problem = validUntilProblem(v, Date.now());
      if (problem) ctx.addIssue({ code: "custom", input: v, message: `must be ${VALID_UNTIL_ALLOWED}; got ${JSON.stringify(v)}: ${problem}` });
    }).optional()
      .describe("The fleet request expires at this time (UTC, to the second: 2027-01-01T00:00:00Z, the form AWS stores) and its instances are terminated; on-demand covers from then on. A past time is an error: set a later one or remove it (either creates a new fleet). Default: never."),
  })
  .describe("Spot Fleet settings (spotSource: fleet only).");

export const spotConfigSchema = z
  .strictObject({
    spotSource: z.enum(["fleet", "asg"]).default("fleet")
      .describe("fleet: a Spot Fleet request of type maintain (AWS calls the API legacy). asg: a Spot-only Auto Scaling group (mixed instances, price-capacity-optimized, capacity rebalance)."),
    targetCapacity: intBetween(1, 500).default(2).describe("Web instances kept in service: on Spot, with on-demand filling any gap."),
    instanceTypes: z.array(instanceType).min(1, { message: "must list at least one instance type" }).default(["t3.micro", "t3a.micro", "t2.micro"])
      .describe("Instance types in order of preference (one CPU architecture). Spot pools = these × private subnets; the on-demand ASG launches them prioritized."),
    fleet: spotFleetConfigSchema.optional(),
    stabilizationSeconds: intBetween(0, 86400).default(600)
      .describe("Spot must cover the target (healthy in the ALB) this long before on-demand capacity is handed back."),
    rebalanceCountsAsLost: z.boolean().default(false)
      .describe("Treat an EC2 rebalance recommendation as lost capacity (start on-demand before the interruption warning)."),
    rootVolumeSizeGb: intBetween(8, 1024).default(8).describe("Encrypted gp3 root volume of the web instances (GiB)."),
    healthCheckPath: z.string().superRefine((v, ctx) => {
      const problem = healthCheckPathProblem(v);
      if (problem) ctx.addIssue({ code: "custom", input: v, message: `must be ${HEALTH_CHECK_PATH_ALLOWED}; got ${JSON.stringify(v)}: ${problem}` });
    }).default("/health")
      .describe("Health page nginx serves and the ALB checks."),
    deregistrationDelaySeconds: intBetween(0, 90).default(30)
      .describe("ALB connection draining for a deregistered instance (a reclaimed Spot instance has 120 s)."),
    certificateArn: z.string().regex(/^arn:aws[\w-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/, { message: "must be an ACM certificate ARN" }).optional()
      .describe("ACM certificate in the stack's region: adds HTTPS on 443 and redirects 80 to it."),
    dns: z.strictObject({
      zoneId: z.string().regex(/^Z[A-Z0-9]{1,31}$/, { message: "must be a Route53 hosted zone id such as Z0123456789ABCDEFGHIJ" }).describe("Route53 hosted zone id."),
      name: z.string().regex(/^([a-z0-9-]+\.)+[a-z]{2,}\.?$/i, { message: "must be a DNS name such as www.example.com" }).describe("Record name, e.g. www.example.com."),
    }).optional().describe("Optional Route53 alias record for the ALB."),
    ingressCidrs: z.array(cidrBlock).min(1, { message: "must list at least one CIDR" }).default(["0.0.0.0/0"])
      .describe("Who may reach the ALB on 80/443 (the instances only take traffic from the ALB)."),
    maxEventAgeSeconds: intBetween(60, 3600).default(300)
      .describe("Events older than this are dropped instead of delivered to the reconciler (the 1-minute schedule covers them)."),
    reservedConcurrency: intBetween(1, 1000).optional()
      .describe("Opt-in reserved concurrency for the reconciler Lambda. Not needed: an SQS FIFO queue already runs one reconcile at a time. Accounts with the default Lambda concurrency quota (10) refuse any reservation."),
    logRetentionDays: z.number().int().refine((d) => LOG_RETENTION_DAYS.includes(d), { message: `must be a CloudWatch Logs retention in days: ${LOG_RETENTION_DAYS.join(", ")}` })
      .default(30).describe("Retention of the reconciler's log group (days).")
  })
  .superRefine((c, ctx) => {
    const issue = (path: (string | number)[], input: unknown, message: string) => ctx.addIssue({ code: "custom", path, input, message });
    const dup = c.instanceTypes.find((t, i) => c.instanceTypes.indexOf(t) !== i);
    if (dup) issue(["instanceTypes"], dup, "lists a type twice; each type once");
    const arches = new Set(c.instanceTypes.map(classifyInstanceType).filter((a) => a === "x86_64" || a === "arm64"));
    if (arches.size > 1) issue(["instanceTypes"], c.instanceTypes, `mixes CPU architectures (${describeArchitectures(c.instanceTypes)}); one launch template has one AMI, so use one architecture`);
    if (c.fleet === undefined) return;
    if (c.spotSource !== "fleet") return issue(["fleet"], c.fleet, 'only applies with spotSource: fleet; remove it or set spotSource: fleet');
    if (c.fleet.instancePoolsToUseCount !== undefined && c.fleet.allocationStrategy !== "lowestPrice")
      issue(["fleet", "instancePoolsToUseCount"], c.fleet.instancePoolsToUseCount, `only applies with allocationStrategy lowestPrice (allocationStrategy is ${c.fleet.allocationStrategy})`);
    if (c.fleet.onDemandTargetCapacity >= c.targetCapacity)
      issue(["fleet", "onDemandTargetCapacity"], c.fleet.onDemandTargetCapacity, `must be less than targetCapacity (${c.targetCapacity}); at least one instance must be Spot`);
  })
  .describe("Spot web tier with on-demand failover.");

export type SpotConfig = z.infer<typeof spotConfigSchema>;
