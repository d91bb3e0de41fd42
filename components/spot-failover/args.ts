/**
 * SpotFailover arguments, their defaults (applied in one place: `resolveArgs`) and validation that
 * runs before any resource is created.
 */
import * as pulumi from "@pulumi/pulumi";
import { architectureProblem, classifyInstanceType, describeArchitectures } from "../instance-architecture";
import type { AmiSelection } from "../ami";

export type SpotSourceKind = "fleet" | "asg";
export type FleetAllocationStrategy = "priceCapacityOptimized" | "lowestPrice" | "diversified" | "capacityOptimized" | "capacityOptimizedPrioritized";
export const FLEET_ALLOCATION_STRATEGIES: readonly FleetAllocationStrategy[] = [
  "priceCapacityOptimized", "lowestPrice", "diversified", "capacityOptimized", "capacityOptimizedPrioritized",
];

/** Settings of the `fleet` spot source (aws.ec2.SpotFleetRequest, type `maintain`). */
export interface SpotFleetOptions {
  /** @default "priceCapacityOptimized" */
  allocationStrategy?: FleetAllocationStrategy;
  /** Number of cheapest pools to spread over; only with `lowestPrice`. @default AWS default (1) */
  instancePoolsToUseCount?: number;
  /** Part of `targetCapacity` the fleet itself runs on-demand. @default 0 */
  onDemandTargetCapacity?: number;
  /** Maximum price per instance-hour in USD, e.g. "0.05". @default on-demand price (AWS default, recommended) */
  spotMaxPrice?: string;
  /**
   * UTC time to the second (`2027-01-01T00:00:00Z`, the form AWS stores) after which the request expires;
   * its instances are terminated then. A past time is accepted with a warning (a running stack stays
   * deployable); AWS refuses it only when the fleet is created or replaced. @default never expires
   */
  validUntil?: string;
}

export interface SpotFailoverArgs {
  vpcId: pulumi.Input<string>;
  /** Public subnets for the ALB (>= 2 AZs). */
  publicSubnetIds: pulumi.Input<string>[];
  /** Subnets for the web instances (private, with NAT for apt); instance pools = instanceTypes × these. */
  instanceSubnetIds: pulumi.Input<string>[];
  /** Capacity (instances) the tier keeps in service: on Spot, with on-demand filling any gap. */
  targetCapacity: number;
  /**
   * Instance types, in order of preference (the on-demand ASG launches them `prioritized`).
   * @default ["t3.micro", "t3a.micro", "t2.micro"]
   */
  instanceTypes?: string[];
  /** Which Spot implementation: `fleet` (Spot Fleet request, legacy API) or `asg` (Spot-only ASG). @default "fleet" */
  spotSource?: SpotSourceKind;
  /** Only for `spotSource: "fleet"`. @default {} (allocation strategy priceCapacityOptimized, no on-demand floor) */
  fleet?: SpotFleetOptions;
  /** @default latest official Debian 12 AMI for the first instance type's architecture */
  amiId?: AmiSelection;
  /** Instance profile (ARN) for the web instances. @default none */
  instanceProfileArn?: pulumi.Input<string>;
  /** EC2 key pair for the web instances. @default none (no SSH; instances are cattle) */
  keyName?: pulumi.Input<string>;
  /** Root volume size in GiB (gp3, encrypted). @default 8 */
  rootVolumeSizeGb?: number;
  /** Path of the health page nginx serves and the ALB checks. @default "/health" */
  healthCheckPath?: string;
  /** Seconds the ALB drains a deregistered target (<= 90: a reclaimed spot instance has 120 s). @default 30 */
  deregistrationDelaySeconds?: number;
  /** ACM certificate: adds HTTPS on :443 and redirects :80 to it. @default none (HTTP only) */
  certificateArn?: pulumi.Input<string>;
  /** Route53 alias record for the ALB. @default none */
  dns?: { zoneId: pulumi.Input<string>; name: string };
  /** Who may reach the ALB on 80/443. @default ["0.0.0.0/0"] */
  ingressCidrs?: string[];
  /** Seconds spot must cover the target before on-demand is handed back. @default 600 */
  stabilizationSeconds?: number;
  /** Treat a rebalance recommendation as lost capacity (scale on-demand up early). @default false */
  rebalanceCountsAsLost?: boolean;
  /** Maximum age of an event delivered to the reconciler (EventBridge retries; wake-up queue retention), seconds. @default 300 */
  maxEventAgeSeconds?: number;
  /**
   * Reserved concurrency of the reconciler Lambda. Not needed: the FIFO wake-up queue already runs one
   * reconcile at a time. Opt-in only; accounts with the default concurrency quota of 10 refuse any
   * reservation. @default none
   */
  reservedConcurrency?: number;
  /** Retention of the reconciler's log group. @default 30 */
  logRetentionDays?: number;
  /** Reconciler code override (tests). @default bundled with esbuild from functions/spot-reconciler/handler.ts */
  code?: pulumi.asset.Archive;
  /** @default {} */
  tags?: Record<string, string>;
}

export type ResolvedArgs = Required<Omit<SpotFailoverArgs, "amiId" | "instanceProfileArn" | "keyName" | "certificateArn" | "dns" | "code" | "fleet" | "reservedConcurrency">> &
  Pick<SpotFailoverArgs, "amiId" | "instanceProfileArn" | "keyName" | "certificateArn" | "dns" | "code" | "reservedConcurrency"> & {
    fleet: Required<Pick<SpotFleetOptions, "allocationStrategy" | "onDemandTargetCapacity">> & Omit<SpotFleetOptions, "allocationStrategy" | "onDemandTargetCapacity">;
  };

/** Retention periods CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS: readonly number[] = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\d[a-z0-9-]*\.(nano|micro|small|medium|large|metal|\d*xlarge)(-\d+xl)?$/;

/**
 * `fleet.validUntil`: AWS stores it back as UTC to the second. Any other spelling of the same instant
 * (milliseconds, an offset such as +02:00) reads back different, and validUntil replaces the fleet:
 * every `up` would replace it. So the form is an error, always.
 *
 * A time in the past is an error too. At that time AWS cancels the request (its instances are
 * terminated; the on-demand ASG covers). The provider reads a cancelled request as gone, so the next
 * `pulumi refresh` / `up --refresh` drops it from the state and the `up` after creates a fleet with
 * the past time, which CreateSpotFleetRequest refuses — as it refuses the first `up` of a fresh stack.
 * The component cannot tell those cases from an un-refreshed running stack, and all of them need the
 * same decision from the operator: a later time or no validUntil (either creates a new fleet).
 */
export const VALID_UNTIL_ALLOWED =
  "a future UTC time to the second, as AWS stores it: YYYY-MM-DDTHH:MM:SSZ such as 2027-01-01T00:00:00Z (AWS reads any other form back as UTC and every up would replace the fleet)";

/** Why `value` is not an acceptable `fleet.validUntil` at `nowMs`, or undefined if it is. */
export function validUntilProblem(value: string, nowMs: number): string | undefined {
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/.test(value)) return "it has fractional seconds (AWS stores whole seconds: drop the milliseconds)";
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:?\d\d$/.test(value)) return "it has a UTC offset (AWS stores UTC: write the same instant with Z, no offset)";
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(value)) return "it is not a time in the form YYYY-MM-DDTHH:MM:SSZ";
  const ms = Date.parse(value);
  if (!Number.isFinite(ms) || new Date(ms).toISOString() !== value.replace("Z", ".000Z")) return "it is not a calendar time (no such day or hour)";
  if (ms <= nowMs)
    return `it is in the past (now ${new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, "Z")}): AWS cancelled the Spot Fleet request then and the on-demand ASG covers; `
      + "a refresh drops the cancelled request from the state and AWS refuses to create a fleet with a past time. "
      + "Set a later time or remove fleet.validUntil (either creates a new fleet) to run on Spot again";
  return undefined;
}

/** What `healthCheckPath` may be (one definition for the component and the stack config). */
export const HEALTH_CHECK_PATH_ALLOWED = "an absolute URL path of segments of letters, digits, . _ - (no . or .. segment, no empty segment, no trailing /) such as /health";

/**
 * Why `value` is not an acceptable health-check path, or undefined. The instances' user data writes
 * the page at /var/www/html<path> as root: a `.`/`..` segment would leave the web root (`/..` aborts
 * user data, `/../../etc/x` overwrites a system file), so only clean paths are accepted.
 */
export function healthCheckPathProblem(value: string): string | undefined {
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(value)) return "it is not an absolute path of letters, digits, . _ - segments";
  const dots = value.split("/").slice(1).find((seg) => seg === "." || seg === "..");
  if (dots !== undefined) return `it has a "${dots}" segment (the page must stay inside the web root)`;
  return undefined;
}

/** Applies defaults and validates; throws one error listing every problem (arg, value, what is allowed). */
export function resolveArgs(name: string, a: SpotFailoverArgs): ResolvedArgs {
  const r: ResolvedArgs = {
    vpcId: a.vpcId,
    publicSubnetIds: a.publicSubnetIds,
    instanceSubnetIds: a.instanceSubnetIds,
    targetCapacity: a.targetCapacity,
    instanceTypes: a.instanceTypes ?? ["t3.micro", "t3a.micro", "t2.micro"],
    spotSource: a.spotSource ?? "fleet",
    fleet: { allocationStrategy: "priceCapacityOptimized", onDemandTargetCapacity: 0, ...a.fleet },
    amiId: a.amiId,
    instanceProfileArn: a.instanceProfileArn,
    keyName: a.keyName,
    rootVolumeSizeGb: a.rootVolumeSizeGb ?? 8,
    healthCheckPath: a.healthCheckPath ?? "/health",
    deregistrationDelaySeconds: a.deregistrationDelaySeconds ?? 30,
    certificateArn: a.certificateArn,
    dns: a.dns,
    ingressCidrs: a.ingressCidrs ?? ["0.0.0.0/0"],
    stabilizationSeconds: a.stabilizationSeconds ?? 600,
    rebalanceCountsAsLost: a.rebalanceCountsAsLost ?? false,
    maxEventAgeSeconds: a.maxEventAgeSeconds ?? 300,
    reservedConcurrency: a.reservedConcurrency,
    logRetentionDays: a.logRetentionDays ?? 30,
    code: a.code,
    tags: a.tags ?? {},
  };
  const problems: string[] = [];
  const bad = (arg: string, value: unknown, allowed: string) => problems.push(`${arg}: got ${JSON.stringify(value)}; allowed: ${allowed}`);
  const int = (v: number) => Number.isInteger(v);

  if (!int(r.targetCapacity) || r.targetCapacity < 1 || r.targetCapacity > 500) bad("targetCapacity", r.targetCapacity, "a whole number from 1 to 500");
  if (r.publicSubnetIds.length < 2) bad("publicSubnetIds", `${r.publicSubnetIds.length} subnet(s)`, "at least 2 subnets in different AZs (ALB requirement)");
  if (r.instanceSubnetIds.length < 1) bad("instanceSubnetIds", "0 subnets", "at least 1 subnet");
  if (r.instanceTypes.length < 1) bad("instanceTypes", r.instanceTypes, "at least one EC2 instance type");
  for (const t of r.instanceTypes) if (!INSTANCE_TYPE.test(t)) bad("instanceTypes", t, "EC2 instance types such as t3.micro or m6i.large");
  if (new Set(r.instanceTypes).size !== r.instanceTypes.length) bad("instanceTypes", r.instanceTypes, "each type once");
  for (const t of r.instanceTypes) {
    const problem = architectureProblem(t);
    if (problem) problems.push(`instanceTypes: ${JSON.stringify(t)} ${problem}`);
  }
  const arches = new Set(r.instanceTypes.map(classifyInstanceType).filter((a) => a !== undefined));
  if (arches.size > 1) bad("instanceTypes", r.instanceTypes, `types of one CPU architecture (one launch template, one AMI); got ${describeArchitectures(r.instanceTypes)}`);
  if (r.spotSource !== "fleet" && r.spotSource !== "asg") bad("spotSource", r.spotSource, '"fleet" or "asg"');
  if (r.spotSource === "asg" && a.fleet !== undefined) bad("fleet", a.fleet, 'fleet options only with spotSource "fleet"');
  const f = r.fleet;
  if (!FLEET_ALLOCATION_STRATEGIES.includes(f.allocationStrategy)) bad("fleet.allocationStrategy", f.allocationStrategy, FLEET_ALLOCATION_STRATEGIES.join(", "));
  if (f.instancePoolsToUseCount !== undefined) {
    if (f.allocationStrategy !== "lowestPrice") bad("fleet.instancePoolsToUseCount", f.instancePoolsToUseCount, 'only with allocationStrategy "lowestPrice"');
    const pools = r.instanceTypes.length * r.instanceSubnetIds.length;
    if (!int(f.instancePoolsToUseCount) || f.instancePoolsToUseCount < 1 || f.instancePoolsToUseCount > pools)
      bad("fleet.instancePoolsToUseCount", f.instancePoolsToUseCount, `1 to ${pools} (instance types × subnets)`);
  }
  if (!int(f.onDemandTargetCapacity) || f.onDemandTargetCapacity < 0 || f.onDemandTargetCapacity >= r.targetCapacity)
    bad("fleet.onDemandTargetCapacity", f.onDemandTargetCapacity, `a whole number from 0 to ${r.targetCapacity - 1} (less than targetCapacity)`);
  if (f.spotMaxPrice !== undefined && !/^\d+(\.\d{1,6})?$/.test(f.spotMaxPrice)) bad("fleet.spotMaxPrice", f.spotMaxPrice, 'a USD price per hour such as "0.05"');
  const untilProblem = f.validUntil !== undefined ? validUntilProblem(f.validUntil, Date.now()) : undefined;
  if (untilProblem) bad("fleet.validUntil", f.validUntil, `${VALID_UNTIL_ALLOWED}; ${untilProblem}`);
  if (!int(r.rootVolumeSizeGb) || r.rootVolumeSizeGb < 8 || r.rootVolumeSizeGb > 1024) bad("rootVolumeSizeGb", r.rootVolumeSizeGb, "8 to 1024");
  const pathProblem = healthCheckPathProblem(r.healthCheckPath);
  if (pathProblem) bad("healthCheckPath", r.healthCheckPath, `${HEALTH_CHECK_PATH_ALLOWED}; ${pathProblem}`);
  if (!int(r.deregistrationDelaySeconds) || r.deregistrationDelaySeconds < 0 || r.deregistrationDelaySeconds > 90)
    bad("deregistrationDelaySeconds", r.deregistrationDelaySeconds, "0 to 90 (a reclaimed spot instance has 120 s)");
  if (r.ingressCidrs.length === 0) bad("ingressCidrs", r.ingressCidrs, "at least one CIDR");
  if (!int(r.stabilizationSeconds) || r.stabilizationSeconds < 0 || r.stabilizationSeconds > 86400) bad("stabilizationSeconds", r.stabilizationSeconds, "0 to 86400");
  if (!int(r.maxEventAgeSeconds) || r.maxEventAgeSeconds < 60 || r.maxEventAgeSeconds > 3600) bad("maxEventAgeSeconds", r.maxEventAgeSeconds, "60 to 3600");
  if (r.reservedConcurrency !== undefined && (!int(r.reservedConcurrency) || r.reservedConcurrency < 1 || r.reservedConcurrency > 1000))
    bad("reservedConcurrency", r.reservedConcurrency, "1 to 1000 (the account's quota minus 10 must stay unreserved); omit it unless you need it");
  if (!LOG_RETENTION_DAYS.includes(r.logRetentionDays)) bad("logRetentionDays", r.logRetentionDays, LOG_RETENTION_DAYS.join(", "));
  if (r.dns !== undefined && !/^([a-z0-9-]+\.)+[a-z]{2,}\.?$/i.test(r.dns.name)) bad("dns.name", r.dns.name, "a DNS name such as www.example.com");
  if (problems.length) throw new Error(`SpotFailover ${name}: invalid arguments:\n  - ${problems.join("\n  - ")}`);
  return r;
}
