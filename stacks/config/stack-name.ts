/**
 * The stack name prefixes every name opsfleet derives: KMS aliases (`alias/opsfleet-<stack>-alerts`:
 * [A-Za-z0-9/_-]), S3 bucket auto-names (lowercase letters, digits, '-'), Elasticsearch cluster
 * names ([A-Za-z0-9_-], 64), IAM role names (64 with `-elasticsearch-role`), alarm names,
 * metric namespaces and log groups. Pulumi allows more (e.g. '.' and upper case): checked once here.
 */
export const STACK_NAME_ALLOWED = "1-24 lowercase letters, digits and '-', starting with a letter and not ending with '-' (it prefixes KMS aliases, S3 buckets, IAM roles, cluster and alarm names)";

/** Why this stack name cannot prefix every derived name (null when it can). */
export function stackNameProblem(stack: string): string | null {
  return /^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$/.test(stack) ? null : `stack name ${JSON.stringify(stack)}: allowed: ${STACK_NAME_ALLOWED}`;
}
