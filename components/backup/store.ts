import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { checkSchedule, type IntervalSchedule } from "../../provision/backup/schedule";
import type { HostPolicyStatement } from "../host-role";
import { backupBucketPolicy, backupHostPolicy, backupLifecycleRules } from "./policy";

export interface BackupStoreArgs {
  /** Days a database/Redis backup object (and any overwritten version) is kept. 1 to 3650. */
  retentionDays: number;
  /** EBS snapshots of the data and key volumes (Data Lifecycle Manager). */
  snapshots: IntervalSchedule & {
    /** Days a snapshot is kept. 1 to 3650. */
    retentionDays: number;
  };
  /** Volumes carrying all of these tags get snapshots (opsfleet tags every data and key volume with `opsfleet:stack`). */
  snapshotTargetTags: Record<string, string>;
  /** Protect the bucket, keys and key store from deletion (`protectData`); an unprotected bucket is force-destroyed with the stack. @default false */
  protect?: boolean;
  tags?: Record<string, string>;
}

function check(name: string, a: BackupStoreArgs): void {
  const days = (key: string, v: number) => {
    if (!Number.isInteger(v) || v < 1 || v > 3650) throw new Error(`BackupStore ${name} ${key}: invalid value ${v} (allowed: a whole number of days from 1 to 3650)`);
  };
  days("retentionDays", a.retentionDays);
  days("snapshots.retentionDays", a.snapshots.retentionDays);
  checkSchedule(`BackupStore ${name} snapshots`, a.snapshots);
  // DLM rejects an age-based retention shorter than the creation interval
  if (a.snapshots.retentionDays * 24 < a.snapshots.intervalHours) {
    throw new Error(`BackupStore ${name} snapshots.retentionDays: ${a.snapshots.retentionDays} days is shorter than the ${a.snapshots.intervalHours} h interval (DLM rejects it)`);
  }
  if (Object.keys(a.snapshotTargetTags).length === 0) throw new Error(`BackupStore ${name} snapshotTargetTags: at least one tag (DLM selects volumes by tag)`);
}

/**
 * The stack's backup storage: one S3 bucket (SSE-KMS with its own key, versioning, public access
 * blocked, TLS only, lifecycle by retention), a second KMS key for the key store (SSM SecureString
 * parameters, created per database host with `keyParameter`), and a DLM policy that snapshots the
 * tagged data and key volumes. Hosts get access to their own prefix through `hostPolicy`.
 */
export class BackupStore extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;
  public readonly kmsKeyArn: pulumi.Output<string>;
  /** KMS key of the key store (database key bundles), separate from the bucket's. */
  public readonly keyStoreKmsKeyArn: pulumi.Output<string>;
  public readonly keyStoreKmsAlias: pulumi.Output<string>;
  public readonly snapshotPolicyArn: pulumi.Output<string>;
  private readonly protect: boolean;
  private readonly tags: Record<string, string>;

  constructor(name: string, args: BackupStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    check(name, args);
    super("opsfleet:index:BackupStore", name, {}, opts);
    this.protect = args.protect ?? false;
    const tags = { ...(args.tags ?? {}), "opsfleet:role": "backup" };
    this.tags = tags;
    const protect = this.protect;

    const key = new aws.kms.Key(`${name}-kms`, {
      description: `opsfleet ${name}: backup bucket encryption`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      tags,
    }, { parent: this, protect });
    new aws.kms.Alias(`${name}-kms`, { name: `alias/${name}-backups`, targetKeyId: key.keyId }, { parent: this });
    const keyStoreKey = new aws.kms.Key(`${name}-keystore-kms`, {
      description: `opsfleet ${name}: key store (database key bundles in SSM Parameter Store)`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      tags,
    }, { parent: this, protect });
    const keyStoreAlias = new aws.kms.Alias(`${name}-keystore-kms`, { name: `alias/${name}-keystore`, targetKeyId: keyStoreKey.keyId }, { parent: this });

    const bucket = new aws.s3.Bucket(name, { forceDestroy: !protect, tags }, { parent: this, protect });
    new aws.s3.BucketOwnershipControls(name, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: this });
    const pab = new aws.s3.BucketPublicAccessBlock(name, {
      bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    }, { parent: this });
    new aws.s3.BucketVersioning(name, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, { parent: this });
    new aws.s3.BucketServerSideEncryptionConfiguration(name, {
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }],
    }, { parent: this });
    new aws.s3.BucketPolicy(name, {
      bucket: bucket.id,
      policy: bucket.arn.apply((arn) => JSON.stringify(backupBucketPolicy(arn))),
    }, { parent: this, dependsOn: [pab] });
    new aws.s3.BucketLifecycleConfiguration(name, { bucket: bucket.id, rules: backupLifecycleRules(args.retentionDays) }, { parent: this });

    const dlmRole = new aws.iam.Role(`${name}-dlm`, {
      description: `opsfleet ${name}: Data Lifecycle Manager snapshots`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "dlm.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      tags,
    }, { parent: this });
    new aws.iam.RolePolicyAttachment(`${name}-dlm`, {
      role: dlmRole.name,
      policyArn: "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole",
    }, { parent: this });
    const dlm = new aws.dlm.LifecyclePolicy(`${name}-snapshots`, {
      // DLM accepts only [0-9A-Za-z _-] in the description and schedule name (no ":" or ",")
      description: `opsfleet ${name} data and key volumes every ${args.snapshots.intervalHours} h kept ${args.snapshots.retentionDays} days`,
      executionRoleArn: dlmRole.arn,
      state: "ENABLED",
      policyDetails: {
        resourceTypes: ["VOLUME"],
        targetTags: args.snapshotTargetTags,
        schedules: [{
          name: `every ${args.snapshots.intervalHours} h from ${args.snapshots.startTime.replace(":", "")} UTC`,
          createRule: { interval: args.snapshots.intervalHours, intervalUnit: "HOURS", times: args.snapshots.startTime },
          retainRule: { interval: args.snapshots.retentionDays, intervalUnit: "DAYS" },
          copyTags: true,
          tagsToAdd: { "opsfleet:snapshot": "dlm" },
        }],
      },
      tags,
    }, { parent: this });

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.kmsKeyArn = key.arn;
    this.keyStoreKmsKeyArn = keyStoreKey.arn;
    this.keyStoreKmsAlias = keyStoreAlias.name;
    this.snapshotPolicyArn = dlm.arn;
    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      kmsKeyArn: this.kmsKeyArn,
      keyStoreKmsKeyArn: this.keyStoreKmsKeyArn,
      snapshotPolicyArn: this.snapshotPolicyArn,
    });
  }

  /**
   * The key store entry of one database host: a SecureString under the key store's KMS key. The
   * host writes the value (its key bundle); Pulumi creates it with a placeholder and never resets it.
   */
  keyParameter(resourceName: string, parameterName: string): aws.ssm.Parameter {
    return new aws.ssm.Parameter(resourceName, {
      name: parameterName,
      type: "SecureString",
      keyId: this.keyStoreKmsKeyArn,
      tier: "Intelligent-Tiering",
      value: pulumi.secret("not backed up yet"),
      description: "opsfleet: database key bundle (written by the host's backup-key script; restore reads it)",
      tags: this.tags,
    }, { parent: this, protect: this.protect, ignoreChanges: ["value", "tier"] });
  }

  /**
   * Statements for a host role's "backup" concern: its own prefix (plus reads of `readPrefix`, a
   * parent of it), the bucket key and (database) its key store entry. Sids and actions are plain; only the ARNs are Outputs.
   */
  hostStatements(access: { prefix: string; readPrefix?: string; region: string; snapshotRepository?: boolean; keyParameterArn?: pulumi.Input<string> }): HostPolicyStatement[] {
    const withKeys = access.keyParameterArn !== undefined;
    const doc = (bucketArn: string, bucketKmsKeyArn: string, keyStoreKmsKeyArn: string, keyParameterArn?: string) =>
      backupHostPolicy({ bucketArn, prefix: access.prefix, readPrefix: access.readPrefix, bucketKmsKeyArn, region: access.region, snapshotRepository: access.snapshotRepository,
        ...(withKeys ? { keyParameterArn, keyStoreKmsKeyArn } : {}) }).Statement;
    const shape = doc("arn:aws:s3:::shape", "shape", "shape", withKeys ? "shape" : undefined);
    const real = pulumi.all([this.bucketArn, this.kmsKeyArn, this.keyStoreKmsKeyArn, access.keyParameterArn]).apply(([b, k, ks, p]) => doc(b, k, ks, p));
    return shape.map((s, i) => ({
      Sid: s.Sid, Effect: "Allow" as const, Action: s.Action, ...(s.Condition ? { Condition: s.Condition } : {}),
      Resource: real.apply((r) => r[i].Resource as string),
    }));
  }
}
