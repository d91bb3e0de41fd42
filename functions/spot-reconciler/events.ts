/**
 * Classify whatever woke the reconciler. Events are only wake-ups plus optional hints (an instance id
 * named by an interruption warning / rebalance recommendation); the decision always comes from the
 * observed account state. Pure: no SDK, no clock (the caller passes `nowMs`).
 */

export type WakeUp =
  | { kind: "schedule" }
  | { kind: "instance"; detailType: InstanceDetailType; instanceId: string; eventMs: number; state?: string }
  | { kind: "spot-fleet"; detailType: string; subType?: string }
  | { kind: "autoscaling"; detailType: string; groupName: string }
  | { kind: "malformed"; problem: string }
  | { kind: "foreign"; why: string };

export type InstanceDetailType =
  | "EC2 Spot Instance Interruption Warning"
  | "EC2 Instance Rebalance Recommendation"
  | "EC2 Instance State-change Notification";

const INSTANCE_TYPES: readonly string[] = [
  "EC2 Spot Instance Interruption Warning",
  "EC2 Instance Rebalance Recommendation",
  "EC2 Instance State-change Notification",
];

/** What the reconciler is responsible for (to tell its own events from foreign ones). */
export interface EventScope {
  spotFleetRequestId?: string;
  spotAsgName?: string;
  onDemandAsgName: string;
  /** The tier's launch template: every instance of the fleet and both groups is launched from it. */
  launchTemplateId?: string;
}

/** Tags AWS puts on an instance at launch that say who launched it. */
export const MEMBERSHIP_TAGS = {
  fleet: "aws:ec2spot:fleet-request-id",
  group: "aws:autoscaling:groupName",
  launchTemplate: "aws:ec2launchtemplate:id",
} as const;

/**
 * Is an instance (by its tags) one of ours? Instance events carry no tags and EventBridge cannot
 * scope them, so the rules match every instance of the account; this decides, from one scoped
 * DescribeInstances, whether an event is worth a reconcile. Pure. `tags` undefined: no such instance.
 */
export function instanceOwnership(instanceId: string, tags: { Key?: string; Value?: string }[] | undefined, scope: EventScope): { ours: true; by: string } | { ours: false; why: string } {
  if (tags === undefined) return { ours: false, why: `instance ${instanceId} not found (not in this account and region, or long gone)` };
  const tag = (k: string) => tags.find((t) => t.Key === k)?.Value;
  const fleet = tag(MEMBERSHIP_TAGS.fleet);
  if (fleet !== undefined && fleet === scope.spotFleetRequestId) return { ours: true, by: `spot fleet ${fleet}` };
  const group = tag(MEMBERSHIP_TAGS.group);
  if (group !== undefined && (group === scope.onDemandAsgName || group === scope.spotAsgName)) return { ours: true, by: `auto scaling group ${group}` };
  const template = tag(MEMBERSHIP_TAGS.launchTemplate);
  if (template !== undefined && template === scope.launchTemplateId) return { ours: true, by: `launch template ${template}` };
  const said = [fleet && `fleet ${fleet}`, group && `group ${group}`, template && `launch template ${template}`].filter(Boolean).join(", ");
  return { ours: false, why: `instance ${instanceId} is not of this tier (${said || "launched outside any fleet, group or launch template"})` };
}

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function classifyEvent(raw: unknown, scope: EventScope): WakeUp {
  if (!isRecord(raw)) return { kind: "malformed", problem: `event is ${raw === null ? "null" : typeof raw}, expected an object` };
  const source = raw["source"];
  const detailType = raw["detail-type"];
  const detail = raw["detail"];
  if (typeof source !== "string" || typeof detailType !== "string")
    return { kind: "malformed", problem: "missing string `source` or `detail-type`" };
  if (!isRecord(detail)) return { kind: "malformed", problem: `\`detail\` of "${detailType}" is not an object` };

  if (source === "aws.events" && detailType === "Scheduled Event") return { kind: "schedule" };

  if (source === "aws.ec2" && INSTANCE_TYPES.includes(detailType)) {
    // The instance id comes from detail.instance-id only: `resources` can carry a malformed ARN.
    const instanceId = detail["instance-id"];
    if (typeof instanceId !== "string" || !INSTANCE_ID.test(instanceId))
      return { kind: "malformed", problem: `"${detailType}" without a valid detail.instance-id (got ${JSON.stringify(instanceId)})` };
    const eventMs = typeof raw["time"] === "string" ? Date.parse(raw["time"]) : NaN;
    if (!Number.isFinite(eventMs)) return { kind: "malformed", problem: `"${detailType}" without a valid \`time\`` };
    const state = detail["state"];
    if (detailType === "EC2 Instance State-change Notification" && typeof state !== "string")
      return { kind: "malformed", problem: "state-change notification without detail.state" };
    return { kind: "instance", detailType: detailType as InstanceDetailType, instanceId, eventMs, ...(typeof state === "string" ? { state } : {}) };
  }

  if (source === "aws.ec2spotfleet") {
    const resources = raw["resources"];
    if (!Array.isArray(resources)) return { kind: "malformed", problem: `"${detailType}" without \`resources\`` };
    const id = scope.spotFleetRequestId;
    if (!id || !resources.some((r) => typeof r === "string" && r.endsWith(`spot-fleet-request/${id}`)))
      return { kind: "foreign", why: `spot fleet event for ${JSON.stringify(resources)}, not ${id ?? "(no fleet configured)"}` };
    const subType = detail["sub-type"];
    return { kind: "spot-fleet", detailType, ...(typeof subType === "string" ? { subType } : {}) };
  }

  if (source === "aws.autoscaling") {
    const groupName = detail["AutoScalingGroupName"];
    if (typeof groupName !== "string") return { kind: "malformed", problem: `"${detailType}" without detail.AutoScalingGroupName` };
    if (groupName !== scope.onDemandAsgName && groupName !== scope.spotAsgName)
      return { kind: "foreign", why: `auto scaling event for group ${groupName}` };
    return { kind: "autoscaling", detailType, groupName };
  }

  return { kind: "foreign", why: `unhandled event ${source} / ${detailType}` };
}
