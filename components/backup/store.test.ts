import * as pulumi from "@pulumi/pulumi";
import { byName, ofType, OptionsRecorder, settle, unsecret, useMocks, valueOf } from "../../test/harness/pulumi-mocks";
import { BackupStore, type BackupStoreArgs } from "./store";
import { backupHostPolicy, backupLifecycleRules } from "./policy";
import { HostRole } from "../host-role";

const args: BackupStoreArgs = {
  retentionDays: 14,
  snapshots: { intervalHours: 12, startTime: "03:00", retentionDays: 7 },
  snapshotTargetTags: { "opsfleet:stack": "dev" },
  tags: { "opsfleet:stack": "dev" },
};

describe("BackupStore", () => {
  beforeEach(() => useMocks());

  test("bucket: SSE-KMS with its own key, versioning, public access blocked, TLS-only policy, lifecycle from retention", async () => {
    const s = new BackupStore("dev-backups", args);
    await settle(s);
    const sse = byName("dev-backups", "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs;
    expect(sse.rules[0]).toEqual({ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: await valueOf(s.kmsKeyArn) }, bucketKeyEnabled: true });
    expect(byName("dev-backups", "aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
    expect(byName("dev-backups", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).toMatchObject({
      blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    const policy = JSON.parse(byName("dev-backups", "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
    const bucketArn = await valueOf(s.bucketArn);
    expect(policy.Statement[0]).toEqual({ Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*",
      Resource: [bucketArn, `${bucketArn}/*`], Condition: { Bool: { "aws:SecureTransport": false } } });
    const rules = byName("dev-backups", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules;
    expect(rules.find((r: any) => r.id === "database-retention")).toMatchObject({ filter: { prefix: "database/" }, expiration: { days: 14 }, noncurrentVersionExpiration: { noncurrentDays: 14 } });
    // Elasticsearch's repository files are managed by SLM: S3 must never expire them under it
    expect(rules.find((r: any) => r.id === "elasticsearch-noncurrent").expiration).toBeUndefined();
    expect(ofType("aws:kms/key:Key").map((k) => k.inputs.enableKeyRotation)).toEqual([true, true]);
  });

  test("DLM snapshots the stack's tagged volumes on the configured interval, kept the configured days", async () => {
    const s = new BackupStore("dev-backups", args);
    await settle(s);
    const dlm = byName("dev-backups-snapshots", "aws:dlm/lifecyclePolicy:LifecyclePolicy").inputs;
    expect(dlm.policyDetails).toMatchObject({
      resourceTypes: ["VOLUME"], targetTags: { "opsfleet:stack": "dev" },
      schedules: [{ createRule: { interval: 12, intervalUnit: "HOURS", times: "03:00" }, retainRule: { interval: 7, intervalUnit: "DAYS" }, copyTags: true }],
    });
    expect(JSON.parse(byName("dev-backups-dlm", "aws:iam/role:Role").inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "dlm.amazonaws.com" });
  });

  test("protectData: bucket, KMS keys and key store entries protected, bucket not force-destroyed", async () => {
    const rec = new OptionsRecorder();
    const s = new BackupStore("prod-backups", { ...args, protect: true }, rec.opts);
    s.keyParameter("prod-db-keys", "/opsfleet/prod/database/keys");
    await settle(s);
    expect(byName("prod-backups", "aws:s3/bucket:Bucket").inputs.forceDestroy).toBe(false);
    const opt = (name: string, type: string) => rec.seen.find((x) => x.name === name && x.type === type)!.opts;
    for (const [n, t] of [["prod-backups", "aws:s3/bucket:Bucket"], ["prod-backups-kms", "aws:kms/key:Key"], ["prod-backups-keystore-kms", "aws:kms/key:Key"],
      ["prod-db-keys", "aws:ssm/parameter:Parameter"]]) expect({ n, protect: opt(n, t).protect }).toEqual({ n, protect: true });
    expect(opt("prod-db-keys", "aws:ssm/parameter:Parameter").ignoreChanges).toEqual(["value", "tier"]);
    const p = byName("prod-db-keys", "aws:ssm/parameter:Parameter").inputs;
    expect(p).toMatchObject({ name: "/opsfleet/prod/database/keys", type: "SecureString", keyId: await valueOf(s.keyStoreKmsKeyArn) });
    expect(unsecret(p.value)).toBe("not backed up yet");
  });

  test.each([
    [{ retentionDays: 0 }, /retentionDays: invalid value 0/],
    [{ snapshots: { intervalHours: 5, startTime: "03:00", retentionDays: 7 } }, /snapshots\.intervalHours: invalid value 5/],
    [{ snapshotTargetTags: {} }, /snapshotTargetTags: at least one tag/],
  ])("rejects %j before creating anything", (bad, msg) => {
    expect(() => new BackupStore("x", { ...args, ...(bad as Partial<BackupStoreArgs>) })).toThrow(msg);
    expect(ofType("aws:s3/bucket:Bucket")).toHaveLength(0);
  });

  test("a host role's backup concern: its own prefix only, no delete, the bucket key via S3, its key store entry via SSM", async () => {
    const s = new BackupStore("dev-backups", args);
    const p = s.keyParameter("dev-db-keys", "/opsfleet/dev/database/keys");
    const role = new HostRole("dev-database-role", { description: "db" });
    role.allow("backup", s.hostStatements({ prefix: "database/dev-db", region: "eu-west-1", keyParameterArn: p.arn }));
    await settle(s, role, role.policies.get("backup")!);
    const doc = JSON.parse(byName("dev-database-role-backup", "aws:iam/rolePolicy:RolePolicy").inputs.policy);
    const bucketArn = await valueOf(s.bucketArn);
    const bySid = Object.fromEntries(doc.Statement.map((x: any) => [x.Sid, x]));
    expect(bySid.ReadWriteOwnPrefix.Resource).toBe(`${bucketArn}/database/dev-db/*`);
    expect(bySid.ReadWriteOwnPrefix.Action).not.toContain("s3:DeleteObject");
    expect(bySid.ListOwnPrefix.Condition).toEqual({ StringLike: { "s3:prefix": ["database/dev-db/*", "database/dev-db/", "database/dev-db"] } });
    expect(bySid.BucketKey.Condition).toEqual({ StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } });
    expect(bySid.KeyStore).toEqual({ Sid: "KeyStore", Effect: "Allow", Action: ["ssm:GetParameter", "ssm:PutParameter"], Resource: await valueOf(p.arn) });
    expect(bySid.KeyStoreKey.Condition).toEqual({ StringEquals: { "kms:ViaService": "ssm.eu-west-1.amazonaws.com" } });
  });
});

describe("backup documents (pure)", () => {
  test("Elasticsearch's repository may delete its own blobs and has the bucket-level actions its S3 repository docs recommend; a prefix with a wildcard is refused", () => {
    const es = backupHostPolicy({ bucketArn: "arn:aws:s3:::b", prefix: "elasticsearch/dev-es", bucketKmsKeyArn: "k", region: "eu-west-1", snapshotRepository: true });
    expect(es.Statement.find((x) => x.Sid === "ReadWriteOwnPrefix")!.Action).toEqual(["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:DeleteObject"]);
    expect(es.Statement.find((x) => x.Sid === "SnapshotRepositoryBucket")).toEqual({ Sid: "SnapshotRepositoryBucket", Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], Resource: "arn:aws:s3:::b" });
    const db = backupHostPolicy({ bucketArn: "arn:aws:s3:::b", prefix: "database/dev-db", bucketKmsKeyArn: "k", region: "eu-west-1" });
    expect(db.Statement.find((x) => x.Sid === "SnapshotRepositoryBucket")).toBeUndefined();
    expect(es.Statement.find((x) => x.Sid === "KeyStore")).toBeUndefined();
    expect(() => backupHostPolicy({ bucketArn: "b", prefix: "redis/*", bucketKmsKeyArn: "k", region: "r" })).toThrow(/no wildcards/);
    expect(() => backupHostPolicy({ bucketArn: "b", prefix: "/redis/", bucketKmsKeyArn: "k", region: "r" })).toThrow(/no leading or trailing slash/);
  });

  test("a Redis host: writes only its own prefix, lists and reads its cluster's (restore); a readPrefix that is not a parent is refused", () => {
    const host = backupHostPolicy({ bucketArn: "arn:aws:s3:::b", prefix: "redis/dev-redis/dev-redis-1", readPrefix: "redis/dev-redis", bucketKmsKeyArn: "k", region: "eu-west-1" });
    expect(host.Statement.slice(0, 3)).toEqual([
      { Sid: "ListSharedPrefix", Effect: "Allow", Action: ["s3:ListBucket"], Resource: "arn:aws:s3:::b", Condition: { StringLike: { "s3:prefix": ["redis/dev-redis/*", "redis/dev-redis/", "redis/dev-redis"] } } },
      { Sid: "ReadSharedPrefix", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::b/redis/dev-redis/*" },
      { Sid: "WriteOwnPrefix", Effect: "Allow", Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], Resource: "arn:aws:s3:::b/redis/dev-redis/dev-redis-1/*" },
    ]);
    // nothing else names an object
    expect(host.Statement.filter((x) => String(x.Resource).startsWith("arn:aws:s3:::b/")).map((x) => x.Sid)).toEqual(["ReadSharedPrefix", "WriteOwnPrefix"]);
    for (const readPrefix of ["redis/other", "redis/dev-redis/dev-redis-1", "redis/dev-redis/*", "redis/dev-redi"]) {
      expect(() => backupHostPolicy({ bucketArn: "b", prefix: "redis/dev-redis/dev-redis-1", readPrefix, bucketKmsKeyArn: "k", region: "r" }))
        .toThrow(`backup host readPrefix ${JSON.stringify(readPrefix)}: allowed: a parent of the host's prefix "redis/dev-redis/dev-redis-1"`);
    }
  });

  test("lifecycle: every rule aborts unfinished multipart uploads and expires overwritten versions", () => {
    for (const r of backupLifecycleRules(30)) {
      expect(r.abortIncompleteMultipartUpload).toEqual({ daysAfterInitiation: 1 });
      expect(r.noncurrentVersionExpiration).toEqual({ noncurrentDays: 30 });
    }
  });
});

void pulumi;
