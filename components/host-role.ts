/**
 * HostRole: the IAM identity of one group of hosts (e.g. all Redis hosts): a role EC2 may assume,
 * its instance profile, and one inline policy per concern (metrics, backup, ...), each made of
 * least-privilege statements the caller passes in. A concern added later (`allow`) is one more
 * inline policy on the same role; nothing else changes on the hosts (the profile stays the same,
 * and an instance's profile is updated in place anyway).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { trustPolicy } from "./spot-failover/iam";

/** One IAM statement; Resource may hold Outputs (ARNs of resources created elsewhere). */
export interface HostPolicyStatement {
  /** Unique within the role, alphanumeric (IAM's rule for Sid). */
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: pulumi.Input<string> | pulumi.Input<string>[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface HostRoleArgs {
  /** What the hosts are, for the role's description (e.g. "Redis hosts of dev"). */
  description: string;
  /** Inline policies by concern name (kebab-case, e.g. "metrics"): each a list of statements. @default {} */
  policies?: Record<string, HostPolicyStatement[]>;
  /** Tags on every resource created. @default {} */
  tags?: Record<string, string>;
}

const CONCERN = /^[a-z][a-z0-9-]{0,30}$/;
const SID = /^[A-Za-z0-9]+$/;

/** Checks a concern's statements (pure): names, no wildcard action, Sids unique across the role. */
export function checkHostStatements(role: string, concern: string, statements: HostPolicyStatement[], usedSids: Set<string>): void {
  const fail = (key: string, got: unknown, allowed: string) => {
    throw new Error(`HostRole ${role}: ${key}: got ${JSON.stringify(got)}; allowed: ${allowed}`);
  };
  if (!CONCERN.test(concern)) fail("policy name", concern, "kebab-case, 1-31 characters, starting with a letter");
  if (statements.length === 0) fail(`policies.${concern}`, [], "at least one statement");
  for (const s of statements) {
    if (!SID.test(s.Sid)) fail(`policies.${concern} Sid`, s.Sid, "letters and digits only");
    if (usedSids.has(s.Sid)) fail(`policies.${concern} Sid`, s.Sid, "a Sid not used by another statement of this role");
    usedSids.add(s.Sid);
    if (s.Action.length === 0) fail(`policies.${concern}.${s.Sid}.Action`, s.Action, "at least one action");
    for (const a of s.Action) if (a === "*" || a.endsWith(":*")) fail(`policies.${concern}.${s.Sid}.Action`, a, "named actions (no wildcard)");
  }
}

/** The policy document of one concern (resolves Outputs in Resource). */
export function hostPolicyDocument(statements: HostPolicyStatement[]): pulumi.Output<string> {
  return pulumi.output(statements as pulumi.Input<HostPolicyStatement>[]).apply((s) =>
    JSON.stringify({ Version: "2012-10-17", Statement: s }));
}

export class HostRole extends pulumi.ComponentResource {
  public readonly role: aws.iam.Role;
  public readonly instanceProfile: aws.iam.InstanceProfile;
  /** Pass to `HostArgs.iamInstanceProfile`. */
  public readonly instanceProfileName: pulumi.Output<string>;
  public readonly roleName: pulumi.Output<string>;
  public readonly roleArn: pulumi.Output<string>;
  /** Inline policies by concern. */
  public readonly policies = new Map<string, aws.iam.RolePolicy>();
  private readonly label: string;
  private readonly sids = new Set<string>();

  constructor(name: string, args: HostRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    const sids = new Set<string>();
    for (const [concern, statements] of Object.entries(args.policies ?? {})) checkHostStatements(name, concern, statements, sids);
    super("opsfleet:index:HostRole", name, {}, opts);
    this.label = name;
    this.role = new aws.iam.Role(`${name}`, {
      description: args.description,
      assumeRolePolicy: trustPolicy("ec2.amazonaws.com"),
      tags: args.tags,
    }, { parent: this });
    this.instanceProfile = new aws.iam.InstanceProfile(`${name}`, { role: this.role.name, tags: args.tags }, { parent: this });
    this.instanceProfileName = this.instanceProfile.name;
    this.roleName = this.role.name;
    this.roleArn = this.role.arn;
    for (const [concern, statements] of Object.entries(args.policies ?? {})) this.allow(concern, statements);
    this.registerOutputs({ roleArn: this.roleArn, instanceProfileName: this.instanceProfileName });
  }

  /**
   * Adds one concern's statements as an inline policy `${name}-${concern}` (e.g. backup adds
   * S3/KMS writes scoped to its bucket). Throws on a repeated concern or Sid, or a wildcard action.
   */
  allow(concern: string, statements: HostPolicyStatement[]): aws.iam.RolePolicy {
    if (this.policies.has(concern)) throw new Error(`HostRole ${this.label}: policy ${concern} added twice`);
    checkHostStatements(this.label, concern, statements, this.sids);
    const policy = new aws.iam.RolePolicy(`${this.label}-${concern}`, {
      role: this.role.id,
      policy: hostPolicyDocument(statements),
    }, { parent: this });
    this.policies.set(concern, policy);
    return policy;
  }
}
