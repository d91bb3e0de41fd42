/**
 * Where host checkers publish: one CloudWatch namespace for every host metric, which is also the
 * only namespace the hosts' instance profile may write to (IAM condition `cloudwatch:namespace`).
 */
export const HOST_METRICS_NAMESPACE = "Opsfleet/Hosts";

/** The one statement the host checkers need: PutMetricData has no resource-level ARN, so the namespace condition scopes it. */
export function hostMetricsStatement(namespace: string = HOST_METRICS_NAMESPACE) {
  return {
    Sid: "PublishHostMetrics",
    Effect: "Allow" as const,
    Action: ["cloudwatch:PutMetricData"],
    Resource: "*",
    Condition: { StringEquals: { "cloudwatch:namespace": namespace } },
  };
}
