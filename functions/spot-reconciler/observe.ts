/**
 * Observe: read the account state the decision needs with a constant number of AWS calls.
 * Every call is scoped by the fleet id, the ASG names, the target group ARN or explicit instance /
 * spot request ids — never a listing of the account — so its cost does not grow with the account.
 */
import {
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSpotFleetInstancesCommand,
  DescribeSpotFleetRequestsCommand,
  DescribeSpotInstanceRequestsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import {
  AutoScalingClient,
  AutoScalingGroup,
  DescribeAutoScalingGroupsCommand,
  DescribeScalingActivitiesCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeTargetGroupsCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { ReconcilerConfig } from "./config";
import { COVERED_SINCE_TAG, olderVersion, RETIRING_TAG, SpotInstanceFacts, SpotSourceState } from "./decide";

export interface AwsClients {
  ec2: EC2Client;
  autoscaling: AutoScalingClient;
  elbv2: ElasticLoadBalancingV2Client;
}

export interface RawObservation {
  spot: { state: SpotSourceState; stateDetail: string; requested: number; facts: SpotInstanceFacts[] };
  onDemand: { desired: number; max: number; instanceIds: string[]; inService: number; healthy: number; coveredTag?: string; outdated?: number; versions?: string[] };
  targetGroup?: { healthCheckPath?: string };
  /** Latest version of the tier's launch template; read only while a health-path switch is pending. */
  launchTemplateLatestVersion?: string;
}

/** Tag EC2 puts on every instance launched from a launch template. */
export const TEMPLATE_VERSION_TAG = "aws:ec2launchtemplate:version";

/** Filter values per request; keeps each request well under the API's limits. */
const CHUNK = 200;
const chunks = <T>(xs: T[]): T[][] => Array.from({ length: Math.ceil(xs.length / CHUNK) }, (_, i) => xs.slice(i * CHUNK, (i + 1) * CHUNK));

async function describeGroups(c: AwsClients, names: string[]): Promise<Map<string, AutoScalingGroup>> {
  const r = await c.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: names }));
  const byName = new Map((r.AutoScalingGroups ?? []).map((g) => [g.AutoScalingGroupName ?? "", g]));
  for (const n of names) if (!byName.has(n)) throw new Error(`Auto Scaling group ${n} not found`);
  return byName;
}

/** Spot Fleet request states in which the request holds no capacity any more (cancelled by an operator or at validUntil). */
const FLEET_GONE = /^cancelled/;

async function describeFleet(c: AwsClients, fleetId: string) {
  try {
    return (await c.ec2.send(new DescribeSpotFleetRequestsCommand({ SpotFleetRequestIds: [fleetId] }))).SpotFleetRequestConfigs?.[0];
  } catch (err) {
    // AWS stops listing a cancelled request after a while; then it is not found.
    if (/NotFound/.test(String((err as { name?: unknown }).name ?? "")) || /InvalidSpotFleetRequestId\.NotFound/.test(String(err))) return undefined;
    throw err;
  }
}

async function fleetSpot(c: AwsClients, fleetId: string) {
  const cfg = await describeFleet(c, fleetId);
  const st = cfg?.SpotFleetRequestState ?? "not-found";
  const activity = cfg?.ActivityStatus ?? "unknown";
  const requested = cfg?.SpotFleetRequestConfig?.TargetCapacity ?? 0;
  const empty = { lifecycle: new Map<string, string>(), versions: new Map<string, string>() };
  // Cancelled (expired at validUntil too) or no longer listed: it holds no Spot capacity and never will
  // again; its instances are terminating or terminated. 0 Spot capacity: on-demand covers the target.
  if (!cfg || FLEET_GONE.test(st)) return { state: "gone" as SpotSourceState, stateDetail: `${st}/${activity}`, requested, ids: [] as string[], ...empty };
  const ids: string[] = [];
  let NextToken: string | undefined;
  do {
    const r = await c.ec2.send(new DescribeSpotFleetInstancesCommand({ SpotFleetRequestId: fleetId, NextToken }));
    for (const i of r.ActiveInstances ?? []) if (i.InstanceId) ids.push(i.InstanceId);
    NextToken = r.NextToken;
  } while (NextToken);
  let state: SpotSourceState = "steady";
  if (activity === "error" || st === "failed") state = "error";
  else if (st !== "active" || activity.startsWith("pending")) state = "modifying";
  return { state, stateDetail: `${st}/${activity}`, requested, ids, ...empty };
}

async function asgSpot(c: AwsClients, group: AutoScalingGroup) {
  const name = group.AutoScalingGroupName ?? "";
  const acts = await c.autoscaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name, MaxRecords: 1 }));
  const last = acts.Activities?.[0]?.StatusCode ?? "none";
  const instances = group.Instances ?? [];
  const busy = instances.some((i) => /^(Pending|Terminating)/.test(i.LifecycleState ?? ""));
  let state: SpotSourceState = "steady";
  if (last === "Failed") state = "error";
  else if (busy || !/^(Successful|Cancelled|none)$/.test(last)) state = "modifying";
  return {
    state,
    stateDetail: `last-activity:${last}${busy ? ",instances-in-transition" : ""}`,
    requested: group.DesiredCapacity ?? 0,
    ids: instances.map((i) => i.InstanceId ?? "").filter(Boolean),
    lifecycle: new Map(instances.map((i) => [i.InstanceId ?? "", i.LifecycleState ?? ""])),
    versions: new Map(instances.map((i) => [i.InstanceId ?? "", i.LaunchTemplate?.Version ?? ""])),
  };
}

/** Instance state + spot request status for the given ids (filters, so vanished ids are no error). */
async function instanceFacts(c: AwsClients, ids: string[]) {
  const state = new Map<string, string>();
  const version = new Map<string, string>();
  const retiring = new Set<string>();
  const requestOf = new Map<string, string>();
  for (const part of chunks(ids)) {
    let NextToken: string | undefined;
    do {
      const r = await c.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "instance-id", Values: part }], NextToken }));
      for (const res of r.Reservations ?? [])
        for (const i of res.Instances ?? []) {
          if (!i.InstanceId) continue;
          state.set(i.InstanceId, i.State?.Name ?? "unknown");
          const v = i.Tags?.find((t) => t.Key === TEMPLATE_VERSION_TAG)?.Value;
          if (v) version.set(i.InstanceId, v);
          if (i.Tags?.some((t) => t.Key === RETIRING_TAG)) retiring.add(i.InstanceId);
          if (i.SpotInstanceRequestId) requestOf.set(i.InstanceId, i.SpotInstanceRequestId);
        }
      NextToken = r.NextToken;
    } while (NextToken);
  }
  const status = new Map<string, string>();
  for (const part of chunks([...requestOf.values()])) {
    const r = await c.ec2.send(new DescribeSpotInstanceRequestsCommand({ Filters: [{ Name: "spot-instance-request-id", Values: part }] }));
    for (const s of r.SpotInstanceRequests ?? []) if (s.InstanceId && s.Status?.Code) status.set(s.InstanceId, s.Status.Code);
  }
  return { state, status, version, retiring };
}

/** The tags of one instance (one call, scoped by its id), or undefined if EC2 does not know it. */
export async function instanceTags(c: AwsClients, instanceId: string): Promise<{ Key?: string; Value?: string }[] | undefined> {
  const r = await c.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: "instance-id", Values: [instanceId] }] }));
  const i = r.Reservations?.flatMap((res) => res.Instances ?? []).find((x) => x.InstanceId === instanceId);
  return i ? i.Tags ?? [] : undefined;
}

export async function observe(c: AwsClients, cfg: ReconcilerConfig): Promise<RawObservation> {
  const groupNames = cfg.spotSource === "asg" ? [cfg.onDemandAsgName, cfg.spotAsgName!] : [cfg.onDemandAsgName];
  const [groups, health, tg] = await Promise.all([
    describeGroups(c, groupNames),
    c.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: cfg.targetGroupArn })),
    cfg.healthCheckPath !== undefined ? c.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [cfg.targetGroupArn] })) : undefined,
  ]);
  const spot = cfg.spotSource === "asg" ? await asgSpot(c, groups.get(cfg.spotAsgName!)!) : await fleetSpot(c, cfg.spotFleetRequestId!);
  const none = () => new Map<string, string>();
  const { state, status, version, retiring } = spot.ids.length ? await instanceFacts(c, spot.ids) : { state: none(), status: none(), version: none(), retiring: new Set<string>() };
  const targetHealth = new Map<string, string>();
  for (const d of health.TargetHealthDescriptions ?? []) if (d.Target?.Id) targetHealth.set(d.Target.Id, d.TargetHealth?.State ?? "unknown");

  // A pending health-path switch: is the template already ahead of this reconciler's configuration
  // (an `up` in progress that has updated the template but not yet this Lambda)? One call, only then.
  const checked = tg?.TargetGroups?.[0]?.HealthCheckPath;
  const latest = cfg.launchTemplateId !== undefined && checked !== undefined && checked !== cfg.healthCheckPath
    ? (await c.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [cfg.launchTemplateId] }))).LaunchTemplates?.[0]?.LatestVersionNumber
    : undefined;

  const od = groups.get(cfg.onDemandAsgName)!;
  const odInstances = od.Instances ?? [];
  return {
    spot: {
      state: spot.state,
      stateDetail: spot.stateDetail,
      requested: spot.requested,
      facts: spot.ids.map((id) => ({
        instanceId: id,
        state: state.get(id),
        spotRequestStatus: status.get(id),
        targetHealth: targetHealth.get(id),
        lifecycleState: spot.lifecycle.get(id),
        templateVersion: spot.versions.get(id) || version.get(id),
        ...(retiring.has(id) ? { retiring: true } : {}),
      })),
    },
    onDemand: {
      desired: od.DesiredCapacity ?? 0,
      max: od.MaxSize ?? 0,
      instanceIds: odInstances.map((i) => i.InstanceId ?? "").filter(Boolean),
      inService: odInstances.filter((i) => i.LifecycleState === "InService").length,
      healthy: odInstances.filter((i) => i.InstanceId && targetHealth.get(i.InstanceId) === "healthy").length,
      coveredTag: od.Tags?.find((t) => t.Key === COVERED_SINCE_TAG)?.Value,
      ...(cfg.launchTemplateVersion !== undefined
        ? { outdated: odInstances.filter((i) => olderVersion(i.LaunchTemplate?.Version, cfg.launchTemplateVersion)).length } : {}),
      versions: odInstances.map((i) => i.LaunchTemplate?.Version ?? "").filter(Boolean),
    },
    ...(tg ? { targetGroup: { healthCheckPath: checked } } : {}),
    ...(latest !== undefined ? { launchTemplateLatestVersion: String(latest) } : {}),
  };
}
