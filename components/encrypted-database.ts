import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { clientEgress } from "./sg-rules";
import { Host, type HostFleetArgs, type HostStepInput } from "./host";
import { liftFiles } from "./lift-files";
import { renderDatabaseBackupStep } from "../provision/backup/database";
import type { IntervalSchedule } from "../provision/backup/schedule";
import {
  renderDatabaseSteps, renderUsersStep, resolveDatabaseOptions,
  type DatabaseEngine, type DatabaseProvisionOptions, type KeyRotationSchedule,
} from "../provision/database";

export const DATABASE_PORT = 3306;

export interface EncryptedDatabaseArgs extends HostFleetArgs {
  /** mariadb: Debian's MariaDB 10.11; mysql: MySQL 8.4 LTS from Oracle's apt repository. @default "mariadb" */
  engine?: DatabaseEngine;
  vpcId: pulumi.Input<string>;
  /** Private subnet of the host. */
  subnetId: pulumi.Input<string>;
  /** @default "t3.medium" */
  instanceType?: string;
  /** Security groups allowed to reach 3306 (the application tier). Nothing else can. */
  clientSecurityGroupIds: pulumi.Input<string>[];
  /** Database root password (a Pulumi secret; it is made secret here in any case). */
  rootPassword: pulumi.Input<string>;
  /** Password of the application user (a Pulumi secret; it is made secret here in any case). */
  appPassword: pulumi.Input<string>;
  /** @default "app" */
  databaseName?: string;
  /** @default "app" */
  appUser?: string;
  /** @default "%" */
  appUserHost?: string;
  /** Encrypted gp3 volume for /var/lib/mysql. @default 50 */
  dataVolumeSizeGb?: number;
  /** @default 3000 */
  dataVolumeIops?: number;
  /** Separate encrypted gp3 volume for the key material, so keys never share a disk with the data. @default 1 */
  keyVolumeSizeGb?: number;
  /** @default "monthly" */
  keyRotationSchedule?: KeyRotationSchedule;
  /** MariaDB background encryption threads. @default 4 */
  encryptionThreads?: number;
  /** @default 7 */
  binlogExpireDays?: number;
  /** Backups: full + binlog shipping to the bucket, the key bundle to the key store, restore script. @default none */
  backup?: DatabaseBackupArgs;
}

/** Where and when the database host backs up (see provision/backup/database.ts). */
export interface DatabaseBackupArgs {
  bucket: pulumi.Input<string>;
  /** This host's prefix in the bucket, e.g. "database/dev-db". */
  prefix: string;
  region: string;
  /** CloudWatch namespace of the backup metrics: the stack's host namespace (`hostMetricsNamespace`), the only one its host roles may write to. */
  metricNamespace: string;
  /** SSM SecureString parameter holding the key bundle. */
  keyParameterName: string;
  /** KMS key (ARN or alias) of the key store. */
  keyStoreKmsKeyId: pulumi.Input<string>;
  schedule: IntervalSchedule;
  /** Binlogs shipped this often, minutes (1 to 60). */
  recoveryPointMinutes: number;
}

/** The db-backup step, rendered when the bucket name and key ARN are known; file paths known now. */
function backupStep(hostLabel: string, engineOptions: DatabaseProvisionOptions, b: DatabaseBackupArgs): HostStepInput {
  const render = (bucket: string, kmsKeyId: string) => renderDatabaseBackupStep({
    database: engineOptions,
    target: { bucket, prefix: b.prefix, region: b.region, hostLabel, metricNamespace: b.metricNamespace },
    keyParameter: b.keyParameterName,
    keyStoreKmsKeyId: kmsKeyId,
    schedule: b.schedule,
    recoveryPointMinutes: b.recoveryPointMinutes,
  });
  const shape = render("shape-bucket", "alias/shape");
  const actual = pulumi.all([b.bucket, b.keyStoreKmsKeyId]).apply(([bucket, key]) => render(bucket, key));
  return { name: shape.name, description: `backups to the stack's bucket under ${b.prefix}/ (full every ${b.schedule.intervalHours} h from ${b.schedule.startTime} UTC, binlogs every ${b.recoveryPointMinutes} min), key to ${b.keyParameterName}`,
    files: liftFiles(shape.files, actual.apply((s) => s.files)), script: actual.apply((s) => s.script) };
}

/** Component-level defaults; provisioning defaults live in `resolveDatabaseOptions`. */
function withDefaults(a: EncryptedDatabaseArgs) {
  const sized = (key: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`EncryptedDatabase ${key}: invalid value ${v} (allowed: a whole number from ${min} to ${max})`);
    return v;
  };
  return {
    instanceType: a.instanceType ?? "t3.medium",
    dataVolumeSizeGb: sized("dataVolumeSizeGb", a.dataVolumeSizeGb ?? 50, 1, 16384),
    dataVolumeIops: sized("dataVolumeIops", a.dataVolumeIops ?? 3000, 3000, 80000) /* gp3: 3,000-80,000 */,
    keyVolumeSizeGb: sized("keyVolumeSizeGb", a.keyVolumeSizeGb ?? 1, 1, 16384),
    protectVolumes: a.protectVolumes ?? false,
    tags: a.tags ?? {},
  };
}

/**
 * One EC2 host running MariaDB or MySQL with everything at rest encrypted: InnoDB tablespaces,
 * redo/undo logs, binary logs (and MariaDB's temp files) by the database's own keys, which live on
 * their own encrypted EBS volume; the data directory on another. Reachable on 3306 from the client
 * security groups only; provisioned over SSH through the bastion.
 */
export class EncryptedDatabase extends pulumi.ComponentResource {
  public readonly host: Host;
  public readonly securityGroupId: pulumi.Output<string>;
  /** `<private ip>:3306`. */
  public readonly endpoint: pulumi.Output<string>;
  public readonly address: pulumi.Output<string>;
  public readonly port: number = DATABASE_PORT;
  public readonly engine: DatabaseEngine;
  public readonly databaseName: string;
  public readonly appUser: string;
  /** Where the key material lives on the host (back it up: without it the data is lost). */
  public readonly keyDir: string;

  constructor(name: string, args: EncryptedDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    // validate everything before the first resource (this component included) exists
    const d = withDefaults(args);
    const provision: DatabaseProvisionOptions = {
      engine: args.engine ?? "mariadb",
      databaseName: args.databaseName,
      appUser: args.appUser,
      appUserHost: args.appUserHost,
      keyRotationSchedule: args.keyRotationSchedule,
      encryptionThreads: args.encryptionThreads,
      binlogExpireDays: args.binlogExpireDays,
    };
    const o = resolveDatabaseOptions(provision);
    super("opsfleet:index:EncryptedDatabase", name, {}, opts);
    const { before, after } = renderDatabaseSteps(o);
    const users = renderUsersStep(o, { rootPassword: pulumi.secret(args.rootPassword), appPassword: pulumi.secret(args.appPassword) });
    this.engine = o.engine;
    this.databaseName = o.databaseName;
    this.appUser = o.appUser;
    this.keyDir = o.keyDir;
    const tags = { ...d.tags, "opsfleet:role": "database" };

    const sg = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `opsfleet ${o.engine}: ${DATABASE_PORT} from the client security groups, 22 from the bastion`,
      tags: { ...tags, Name: `${name}-sg` },
    }, { parent: this });
    this.securityGroupId = sg.id;
    const ingress = (suffix: string, port: number, from: pulumi.Input<string>, description: string) =>
      new aws.vpc.SecurityGroupIngressRule(`${name}-in-${suffix}`, {
        securityGroupId: sg.id, ipProtocol: "tcp", fromPort: port, toPort: port, referencedSecurityGroupId: from, description,
      }, { parent: this });
    ingress("ssh", 22, args.bastionSecurityGroupId, "SSH from the bastion");
    args.clientSecurityGroupIds.forEach((c, i) => {
      ingress(`db-${i}`, DATABASE_PORT, c, `${o.engine} from a client security group`);
      clientEgress(`${name}-client-out-db-${i}`, { clientSecurityGroupId: c, serviceSecurityGroupId: sg.id, fromPort: DATABASE_PORT, toPort: DATABASE_PORT, description: `${o.engine} ${name}` }, this);
    });
    // packages (Debian mirrors, repo.mysql.com); no inbound rule is open to any CIDR
    for (const port of [80, 443]) {
      new aws.vpc.SecurityGroupEgressRule(`${name}-out-${port}`, {
        securityGroupId: sg.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0", description: "apt repositories",
      }, { parent: this });
    }

    const steps: HostStepInput[] = [...before, { ...users, secret: true }, ...after, ...(args.backup ? [backupStep(`${name}-host`, o, args.backup)] : [])];
    this.host = new Host(`${name}-host`, {
      subnetId: args.subnetId,
      instanceType: d.instanceType,
      securityGroupIds: [sg.id],
      keyName: args.keyName,
      iamInstanceProfile: args.iamInstanceProfile,
      amiId: args.amiId,
      volumes: [
        { name: "data", sizeGb: d.dataVolumeSizeGb, iops: d.dataVolumeIops, mountPoint: "/var/lib/mysql", owner: "mysql" },
        { name: "keys", sizeGb: d.keyVolumeSizeGb, mountPoint: o.keyDir, owner: "mysql" },
      ],
      protectVolumes: d.protectVolumes,
      ssh: args.ssh,
      steps,
      tags,
    }, { parent: this });
    this.address = this.host.privateIp;
    this.endpoint = pulumi.interpolate`${this.host.privateIp}:${DATABASE_PORT}`;

    this.registerOutputs({
      endpoint: this.endpoint,
      address: this.address,
      port: this.port,
      engine: this.engine,
      databaseName: this.databaseName,
      appUser: this.appUser,
      securityGroupId: this.securityGroupId,
    });
  }
}
