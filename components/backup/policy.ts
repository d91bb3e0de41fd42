/**
 * IAM and S3 documents of the backup store (pure, so the scoping is tested without Pulumi).
 * A host may read and write its own prefix only, and may not delete (versioning keeps what it
 * overwrites); Elasticsearch manages its snapshot repository itself and needs DeleteObject there
 * (plus the bucket-level actions its S3 repository docs recommend).
 * The metrics (the stack's namespace Opsfleet/Hosts/<stack>) are already granted by the host role's base "metrics" concern.
 */
import type { PolicyDocument, PolicyStatement } from "../spot-failover/iam";

export interface BackupHostAccess {
  bucketArn: string;
  /** The host's prefix, e.g. "database/dev-db-host" (no slashes at either end): the only place it may write. */
  prefix: string;
  /**
   * A parent of `prefix` the host may list and read but not write (Redis: the cluster's prefix, so a
   * restore on any host reads every host's snapshots while each host writes only its own). @default prefix
   */
  readPrefix?: string;
  /** KMS key of the bucket (SSE-KMS). */
  bucketKmsKeyArn: string;
  region: string;
  /**
   * Elasticsearch's S3 snapshot repository: deletes its own stale blobs, and needs the bucket-level
   * actions the Elasticsearch S3 repository docs recommend (s3:GetBucketLocation; s3:ListBucketMultipartUploads
   * for its register and cleanup of unfinished uploads). @default false
   */
  snapshotRepository?: boolean;
  /** The key store parameter this host writes its key bundle to (database hosts). */
  keyParameterArn?: string;
  keyStoreKmsKeyArn?: string;
}

const PREFIX = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export function backupHostPolicy(a: BackupHostAccess): PolicyDocument {
  if (!PREFIX.test(a.prefix)) throw new Error(`backup host prefix ${JSON.stringify(a.prefix)}: no leading or trailing slash, no wildcards`);
  const read = a.readPrefix;
  if (read !== undefined && (!PREFIX.test(read) || !a.prefix.startsWith(`${read}/`))) {
    throw new Error(`backup host readPrefix ${JSON.stringify(read)}: allowed: a parent of the host's prefix ${JSON.stringify(a.prefix)}, no leading or trailing slash, no wildcards`);
  }
  const list = (p: string) => ({ StringLike: { "s3:prefix": [`${p}/*`, `${p}/`, p] } });
  const write = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", ...(a.snapshotRepository ? ["s3:DeleteObject"] : [])];
  const statements: PolicyStatement[] = read === undefined
    ? [
      { Sid: "ListOwnPrefix", Effect: "Allow", Action: ["s3:ListBucket"], Resource: a.bucketArn, Condition: list(a.prefix) },
      { Sid: "ReadWriteOwnPrefix", Effect: "Allow", Action: ["s3:GetObject", ...write], Resource: `${a.bucketArn}/${a.prefix}/*` },
    ]
    : [
      // reads span the parent (a restore needs every host's files), writes only the host's own prefix
      { Sid: "ListSharedPrefix", Effect: "Allow", Action: ["s3:ListBucket"], Resource: a.bucketArn, Condition: list(read) },
      { Sid: "ReadSharedPrefix", Effect: "Allow", Action: ["s3:GetObject"], Resource: `${a.bucketArn}/${read}/*` },
      { Sid: "WriteOwnPrefix", Effect: "Allow", Action: write, Resource: `${a.bucketArn}/${a.prefix}/*` },
    ];
  statements.push(
    // these two take no s3:prefix condition (they name no objects' content): bucket-wide, read-only
    ...(a.snapshotRepository
      ? [{ Sid: "SnapshotRepositoryBucket", Effect: "Allow" as const, Action: ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], Resource: a.bucketArn }]
      : []),
    {
      Sid: "BucketKey",
      Effect: "Allow",
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: a.bucketKmsKeyArn,
      Condition: { StringEquals: { "kms:ViaService": `s3.${a.region}.amazonaws.com` } },
    },
  );
  if (a.keyParameterArn !== undefined) {
    if (a.keyStoreKmsKeyArn === undefined) throw new Error("backup host access: keyParameterArn needs keyStoreKmsKeyArn");
    statements.push(
      { Sid: "KeyStore", Effect: "Allow", Action: ["ssm:GetParameter", "ssm:PutParameter"], Resource: a.keyParameterArn },
      {
        Sid: "KeyStoreKey",
        Effect: "Allow",
        Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
        Resource: a.keyStoreKmsKeyArn,
        Condition: { StringEquals: { "kms:ViaService": `ssm.${a.region}.amazonaws.com` } },
      },
    );
  }
  return { Version: "2012-10-17", Statement: statements };
}

export interface DenyStatement {
  Sid: string;
  Effect: "Deny";
  Principal: "*";
  Action: string | string[];
  Resource: string[];
  Condition: Record<string, Record<string, string | boolean>>;
}

/** Bucket policy: TLS only, for everyone (the host roles' grants are in their own policies). */
export function backupBucketPolicy(bucketArn: string): { Version: "2012-10-17"; Statement: DenyStatement[] } {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": false } },
      },
      {
        Sid: "DenyOldTls",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
      },
    ],
  };
}

/** Prefixes per system; Elasticsearch's repository manages its own retention (SLM), so S3 must not expire it. */
export const BACKUP_PREFIXES = { database: "database", redis: "redis", elasticsearch: "elasticsearch" } as const;

export interface LifecycleRule {
  id: string;
  status: "Enabled";
  filter: { prefix: string };
  expiration?: { days: number };
  noncurrentVersionExpiration: { noncurrentDays: number };
  abortIncompleteMultipartUpload: { daysAfterInitiation: number };
}

/**
 * Lifecycle: database and Redis objects expire `retentionDays` after they were written; any
 * overwritten or deleted version goes `retentionDays` later (versioning guards against a host
 * overwriting good backups); unfinished multipart uploads after a day.
 */
export function backupLifecycleRules(retentionDays: number): LifecycleRule[] {
  const common = { status: "Enabled" as const, noncurrentVersionExpiration: { noncurrentDays: retentionDays }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } };
  return [
    { id: "database-retention", filter: { prefix: `${BACKUP_PREFIXES.database}/` }, expiration: { days: retentionDays }, ...common },
    { id: "redis-retention", filter: { prefix: `${BACKUP_PREFIXES.redis}/` }, expiration: { days: retentionDays }, ...common },
    { id: "elasticsearch-noncurrent", filter: { prefix: `${BACKUP_PREFIXES.elasticsearch}/` }, ...common },
  ];
}
