/**
 * Where a stack's hosts publish (health checkers and backup scripts): one CloudWatch namespace per
 * stack, which is also the only namespace that stack's host roles may write to (IAM condition
 * `cloudwatch:namespace`, StringEquals). A shared namespace would let a host of any stack in the
 * account publish values that look like another stack's (the `Stack` dimension is only data).
 */

/** Pulumi stack names: letters, digits, `_`, `.`, `-` (all valid in a CloudWatch namespace). */
const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** `Opsfleet/Hosts/<stack>`: the namespace of one stack's host metrics. */
export function hostMetricsNamespace(stack: string): string {
  if (!STACK_NAME.test(stack)) {
    throw new Error(`host metrics namespace: stack ${JSON.stringify(stack)} is not a stack name (allowed: 1-100 letters, digits, _ . -)`);
  }
  return `Opsfleet/Hosts/${stack}`;
}

/** The one statement a stack's hosts need: PutMetricData has no resource-level ARN, so the namespace condition scopes it. */
export function hostMetricsStatement(stack: string) {
  return {
    Sid: "PublishHostMetrics",
    Effect: "Allow" as const,
    Action: ["cloudwatch:PutMetricData"],
    Resource: "*",
    Condition: { StringEquals: { "cloudwatch:namespace": hostMetricsNamespace(stack) } },
  };
}
