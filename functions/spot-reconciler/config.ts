/**
 * Reconciler configuration from environment variables set by the SpotFailover component.
 * Parsed once at module init; a bad value fails the init with a message naming the variable.
 */

export type SpotSource = "fleet" | "asg";

export interface ReconcilerConfig {
  spotSource: SpotSource;
  /** `SPOT_FLEET_REQUEST_ID` (source `fleet`). */
  spotFleetRequestId?: string;
  /** `SPOT_ASG_NAME` (source `asg`). */
  spotAsgName?: string;
  onDemandAsgName: string;
  targetGroupArn: string;
  targetCapacity: number;
  stabilizationSeconds: number;
  rebalanceCountsAsLost: boolean;
  /** Interruption warnings / rebalance recommendations older than this are ignored as hints. */
  maxHintAgeSeconds: number;
  /** `RECONCILE_QUEUE_ARN`: the SQS FIFO queue that invokes the reconciler; messages from any other source are ignored. */
  queueArn?: string;
  /** `LAUNCH_TEMPLATE_VERSION`: the version new instances get; members on another version are rolled. */
  launchTemplateVersion?: string;
  /** `HEALTH_CHECK_PATH`: the path the target group must check once every instance serves it. */
  healthCheckPath?: string;
  /** `LAUNCH_TEMPLATE_ID`: the tier's launch template (an instance launched from it is ours). */
  launchTemplateId?: string;
}

/** Environment variable names, shared with the component so the two cannot drift apart. */
export const ENV = {
  spotSource: "SPOT_SOURCE",
  spotFleetRequestId: "SPOT_FLEET_REQUEST_ID",
  spotAsgName: "SPOT_ASG_NAME",
  onDemandAsgName: "ON_DEMAND_ASG_NAME",
  targetGroupArn: "TARGET_GROUP_ARN",
  targetCapacity: "TARGET_CAPACITY",
  stabilizationSeconds: "STABILIZATION_SECONDS",
  rebalanceCountsAsLost: "REBALANCE_COUNTS_AS_LOST",
  maxHintAgeSeconds: "MAX_HINT_AGE_SECONDS",
  queueArn: "RECONCILE_QUEUE_ARN",
  launchTemplateVersion: "LAUNCH_TEMPLATE_VERSION",
  healthCheckPath: "HEALTH_CHECK_PATH",
  launchTemplateId: "LAUNCH_TEMPLATE_ID",
} as const;

export function readConfig(env: Record<string, string | undefined>): ReconcilerConfig {
  const problems: string[] = [];
  const str = (key: string, required = true): string | undefined => {
    const v = env[key]?.trim();
    if (!v && required) problems.push(`${key} is required`);
    return v || undefined;
  };
  const int = (key: string, min: number, dflt?: number): number => {
    const raw = env[key]?.trim();
    if (!raw) {
      if (dflt === undefined) problems.push(`${key} is required (an integer >= ${min})`);
      return dflt ?? min;
    }
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) problems.push(`${key} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
    return n;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const raw = env[key]?.trim().toLowerCase();
    if (!raw) return dflt;
    if (raw !== "true" && raw !== "false") problems.push(`${key} must be "true" or "false" (got ${JSON.stringify(env[key])})`);
    return raw === "true";
  };

  const source = str(ENV.spotSource);
  if (source !== undefined && source !== "fleet" && source !== "asg")
    problems.push(`${ENV.spotSource} must be "fleet" or "asg" (got ${JSON.stringify(source)})`);
  const spotFleetRequestId = str(ENV.spotFleetRequestId, source === "fleet");
  const spotAsgName = str(ENV.spotAsgName, source === "asg");
  const targetGroupArn = str(ENV.targetGroupArn);
  if (targetGroupArn && !/^arn:aws[\w-]*:elasticloadbalancing:[^:]+:\d{12}:targetgroup\/.+/.test(targetGroupArn))
    problems.push(`${ENV.targetGroupArn} must be a target group ARN (got ${JSON.stringify(targetGroupArn)})`);
  const queueArn = str(ENV.queueArn, false);
  if (queueArn && !/^arn:aws[\w-]*:sqs:[^:]+:\d{12}:[\w-]+\.fifo$/.test(queueArn))
    problems.push(`${ENV.queueArn} must be an SQS FIFO queue ARN (got ${JSON.stringify(queueArn)})`);
  const launchTemplateVersion = str(ENV.launchTemplateVersion, false);
  if (launchTemplateVersion && !/^[1-9]\d*$/.test(launchTemplateVersion))
    problems.push(`${ENV.launchTemplateVersion} must be a launch template version number (got ${JSON.stringify(launchTemplateVersion)})`);
  const launchTemplateId = str(ENV.launchTemplateId, false);
  if (launchTemplateId && !/^lt-[0-9a-f]{8,17}$/.test(launchTemplateId)) problems.push(`${ENV.launchTemplateId} must be a launch template id (got ${JSON.stringify(launchTemplateId)})`);
  const healthCheckPath = str(ENV.healthCheckPath, false);
  if (healthCheckPath && !healthCheckPath.startsWith("/")) problems.push(`${ENV.healthCheckPath} must be an absolute path (got ${JSON.stringify(healthCheckPath)})`);
  const cfg: ReconcilerConfig = {
    spotSource: source === "asg" ? "asg" : "fleet",
    spotFleetRequestId,
    spotAsgName,
    onDemandAsgName: str(ENV.onDemandAsgName) ?? "",
    targetGroupArn: targetGroupArn ?? "",
    targetCapacity: int(ENV.targetCapacity, 1),
    stabilizationSeconds: int(ENV.stabilizationSeconds, 0, 600),
    rebalanceCountsAsLost: bool(ENV.rebalanceCountsAsLost, false),
    maxHintAgeSeconds: int(ENV.maxHintAgeSeconds, 1, 180),
    ...(queueArn ? { queueArn } : {}),
    ...(launchTemplateVersion ? { launchTemplateVersion } : {}),
    ...(healthCheckPath ? { healthCheckPath } : {}),
    ...(launchTemplateId ? { launchTemplateId } : {}),
  };
  if (problems.length) throw new Error(`spot-reconciler configuration is invalid: ${problems.join("; ")}`);
  return cfg;
}
