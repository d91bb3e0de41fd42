import * as pulumi from "@pulumi/pulumi";
import type { AmiSelection } from "./ami";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import { debianAmiId } from "./ami";
import { contentHash, renderStepScript } from "../provision/common/step-script";
import { renderMountScript, WAIT_FOR_CLOUD_INIT } from "../provision/common/volumes";

/** How remote commands reach a host: directly, or through the bastion (`proxy`). */
export interface SshAccess {
  /** Login user with passwordless sudo ("admin" on Debian AMIs). */
  user: string;
  /** Private key of the EC2 key pair; keep it a secret Output. */
  privateKey: pulumi.Input<string>;
  /** Jump host for hosts in private subnets. @default none (direct SSH to the private IP) */
  bastion?: { host: pulumi.Input<string>; user: string };
}

/** A file a step writes onto the host. Secret content stays secret (it travels on stdin). */
export interface HostFileInput {
  path: string;
  content: pulumi.Input<string>;
  /** @default "0644" */
  mode?: string;
  /** @default "root" */
  owner?: string;
  /** @default the owner */
  group?: string;
}

/** One ordered provisioning step. */
export interface HostStepInput {
  /** Unique per host, kebab-case; the command resource is named `${host}-${name}`. */
  name: string;
  /** One line shown in the offline plan. */
  description: string;
  files: HostFileInput[];
  /** Bash run as root after the files are in place; must be idempotent (it re-runs on any change). */
  script: pulumi.Input<string>;
  /** Extra resources this step waits for (e.g. other hosts' `lastStep`). @default [] */
  dependsOn?: pulumi.Resource[];
  /**
   * Force `logging: "none"`. Steps whose stdin is a secret Output get it automatically.
   * @default false
   */
  secret?: boolean;
}

/** An extra encrypted gp3 EBS volume, formatted on first use and mounted by a generated step. */
export interface HostVolumeInput {
  /** Short name: resource suffix and filesystem label. */
  name: string;
  sizeGb: number;
  mountPoint: string;
  /** Owner of the mount point, applied once that user exists. @default root (no chown) */
  owner?: string;
  /** gp3 IOPS. @default 3000 */
  iops?: number;
  /** gp3 throughput in MiB/s. @default 125 */
  throughputMbps?: number;
  /** KMS key for the volume. @default the account's EBS default key */
  kmsKeyId?: pulumi.Input<string>;
}

export interface HostArgs {
  subnetId: pulumi.Input<string>;
  instanceType: pulumi.Input<string>;
  securityGroupIds: pulumi.Input<string>[];
  /** EC2 key pair whose private key is `ssh.privateKey`. @default none (the AMI must accept `ssh.privateKey` otherwise, e.g. via `userData`) */
  keyName?: pulumi.Input<string>;
  /** @default latest official Debian 12 AMI for the instance type's architecture */
  amiId?: AmiSelection;
  /** @default 16 */
  rootVolumeSizeGb?: number;
  /** Encrypted gp3 data volumes, attached and mounted before the steps run. @default [] */
  volumes?: HostVolumeInput[];
  /** Instance profile (role) of the instance. @default none */
  iamInstanceProfile?: pulumi.Input<string>;
  /** Give the instance a public IP (bastion-style hosts in public subnets only). @default false */
  associatePublicIp?: boolean;
  /** cloud-init user data. @default none (the AMI's defaults) */
  userData?: pulumi.Input<string>;
  /** Tags on the instance and its volumes (`Name` is the host's name). @default {} */
  tags?: Record<string, string>;
  ssh: SshAccess;
  /** Ordered steps, run after cloud-init finished and the volumes are mounted. */
  steps: HostStepInput[];
  /** Protect the data volumes from `pulumi destroy` / replacement. @default false */
  protectVolumes?: boolean;
}

/** What the offline plan shows for a host. */
export interface HostManifest {
  host: string;
  instanceType: string;
  privateIp: string;
  files: { step: string; path: string; mode: string; owner: string; group: string; content: string }[];
  steps: { name: string; description: string; resource: string; dependsOn: string[]; files: string[]; script: string }[];
}

interface StepRecord {
  name: string;
  description: string;
  resource: string;
  dependsOn: pulumi.Resource[];
  files: HostFileInput[];
  script: pulumi.Input<string>;
}

/**
 * An EC2 host (IMDSv2 only, encrypted gp3 volumes) plus its ordered provisioning over SSH:
 * wait for cloud-init → mount volumes → the given steps. Each step is one `@pulumi/command`
 * remote command whose command text is a constant (`sudo bash -s`); the files and the script
 * travel on stdin, so a secret never appears in command text or in an error message.
 */
export class Host extends pulumi.ComponentResource {
  public readonly instance: aws.ec2.Instance;
  public readonly privateIp: pulumi.Output<string>;
  public readonly availabilityZone: pulumi.Output<string>;
  public readonly volumes: aws.ebs.Volume[];
  /** Provisioning commands in order; [0] waits for cloud-init. */
  public readonly steps: command.remote.Command[] = [];
  private readonly records: StepRecord[] = [];
  private readonly connection: command.types.input.remote.ConnectionArgs;
  private readonly createCommand: string;
  /** The host's resource name (e.g. "dev-redis-0"). */
  public readonly hostName: string;
  /** Mount points of the data volumes, in order. */
  public readonly mountPoints: string[];

  constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("opsfleet:index:Host", name, {}, opts);
    this.hostName = name;
    this.mountPoints = (args.volumes ?? []).map((v) => v.mountPoint);
    const tags = { Name: name, ...(args.tags ?? {}) };

    this.instance = new aws.ec2.Instance(
      name,
      {
        ami: debianAmiId(args.instanceType, args.amiId, this),
        instanceType: args.instanceType,
        subnetId: args.subnetId,
        vpcSecurityGroupIds: args.securityGroupIds,
        keyName: args.keyName,
        iamInstanceProfile: args.iamInstanceProfile,
        associatePublicIpAddress: args.associatePublicIp ?? false,
        userData: args.userData,
        metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { volumeType: "gp3", volumeSize: args.rootVolumeSizeGb ?? 16, encrypted: true, deleteOnTermination: true },
        tags,
      },
      // A newer Debian AMI must not replace a running data host; pin `amiId` to roll images deliberately.
      { parent: this, ignoreChanges: args.amiId === undefined ? ["ami"] : [] },
    );
    this.privateIp = this.instance.privateIp;
    this.availabilityZone = this.instance.availabilityZone;

    this.connection = {
      host: this.instance.privateIp,
      user: args.ssh.user,
      privateKey: pulumi.secret(args.ssh.privateKey),
      proxy: args.ssh.bastion
        ? { host: args.ssh.bastion.host, user: args.ssh.bastion.user, privateKey: pulumi.secret(args.ssh.privateKey) }
        : undefined,
      dialErrorLimit: 60,
      perDialTimeout: 10,
    };
    this.createCommand = args.ssh.user === "root" ? "bash -s" : "sudo bash -s";

    // 1. Wait for cloud-init: sshd answers before user data and apt are done (dpkg lock races).
    this.addStep(
      { name: "cloud-init", description: "wait until cloud-init has finished", files: [], script: WAIT_FOR_CLOUD_INIT },
      { dialErrorLimit: -1, timeout: "20m" },
    );

    // 2. Data volumes: encrypted gp3, attached, then formatted once and mounted by UUID.
    const devices = "fghijklmnop";
    this.volumes = (args.volumes ?? []).map((v, i) => {
      if (i >= devices.length) throw new Error(`host ${name}: at most ${devices.length} volumes`);
      const volume = new aws.ebs.Volume(
        `${name}-${v.name}`,
        {
          availabilityZone: this.instance.availabilityZone,
          size: v.sizeGb,
          type: "gp3",
          iops: v.iops ?? 3000,
          throughput: v.throughputMbps ?? 125,
          encrypted: true,
          kmsKeyId: v.kmsKeyId,
          tags: { ...tags, Name: `${name}-${v.name}` },
        },
        { parent: this, protect: args.protectVolumes ?? false },
      );
      new aws.ec2.VolumeAttachment(
        `${name}-${v.name}`,
        { deviceName: `/dev/sd${devices[i]}`, volumeId: volume.id, instanceId: this.instance.id, stopInstanceBeforeDetaching: true },
        { parent: this },
      );
      return volume;
    });
    if (this.volumes.length > 0) {
      const mounts = pulumi
        .all(this.volumes.map((v) => v.id))
        .apply((ids) =>
          renderMountScript(
            (args.volumes ?? []).map((v, i) => ({
              volumeId: ids[i],
              deviceName: `/dev/sd${devices[i]}`,
              mountPoint: v.mountPoint,
              label: v.name.slice(0, 16),
              owner: v.owner,
            })),
          ),
        );
      this.addStep({ name: "volumes", description: "format (first use) and mount the data volumes", files: [], script: mounts });
    }

    // 3. The caller's steps, in order.
    for (const step of args.steps) this.addStep(step);

    this.registerOutputs({ instanceId: this.instance.id, privateIp: this.privateIp });
  }

  /** The last provisioning command so far: depend on it to run after this host is ready. */
  get lastStep(): command.remote.Command {
    return this.steps[this.steps.length - 1];
  }

  /**
   * Appends a step after the current last one (e.g. a cluster-wide step on the first host that
   * also waits for the other hosts).
   */
  addStep(step: HostStepInput, conn: { dialErrorLimit?: number; timeout?: string } = {}): command.remote.Command {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(step.name)) throw new Error(`host ${this.hostName}: bad step name ${JSON.stringify(step.name)}`);
    if (this.records.some((r) => r.name === step.name)) throw new Error(`host ${this.hostName}: duplicate step ${step.name}`);
    const resourceName = `${this.hostName}-${step.name}`;
    const stdin = pulumi
      .all([pulumi.all(step.files.map((f) => f.content)), step.script])
      .apply(([contents, script]) =>
        renderStepScript({
          name: step.name,
          files: step.files.map((f, i) => ({ path: f.path, content: contents[i], mode: f.mode, owner: f.owner, group: f.group })),
          script,
        }),
      );
    const logging = step.secret
      ? pulumi.output<"none">("none")
      : pulumi.output(pulumi.isSecret(stdin)).apply((s) => (s ? "none" : "stdoutAndStderr"));
    const dependsOn = [...(this.steps.length ? [this.lastStep] : []), ...(step.dependsOn ?? [])];
    const cmd = new command.remote.Command(
      resourceName,
      {
        connection: conn.dialErrorLimit !== undefined ? { ...this.connection, dialErrorLimit: conn.dialErrorLimit } : this.connection,
        create: this.createCommand,
        stdin,
        // A changed rendered file or script replaces (re-runs) the step; the hash of a secret stays secret.
        triggers: [stdin.apply((s) => contentHash(s))],
        logging,
        addPreviousOutputInEnv: false,
      },
      {
        parent: this,
        dependsOn,
        deletedWith: this.instance,
        additionalSecretOutputs: ["stdout", "stderr"],
        deleteBeforeReplace: true,
        customTimeouts: { create: conn.timeout ?? "30m", update: conn.timeout ?? "30m" },
      },
    );
    this.steps.push(cmd);
    this.records.push({ name: step.name, description: step.description, resource: resourceName, dependsOn, files: step.files, script: step.script });
    return cmd;
  }

  /** Rendered files and ordered steps, for the offline plan. */
  manifest(): pulumi.Output<HostManifest> {
    const records = [...this.records];
    return pulumi
      .all([
        this.instance.instanceType,
        this.privateIp,
        pulumi.all(records.map((r) => pulumi.all(r.files.map((f) => f.content)))),
        pulumi.all(records.map((r) => r.script)),
        pulumi.all(records.map((r) => pulumi.all(r.dependsOn.map((d) => d.urn)))),
      ])
      .apply(([instanceType, privateIp, contents, scripts, deps]) => ({
        host: this.hostName,
        instanceType,
        privateIp,
        files: records.flatMap((r, i) =>
          r.files.map((f, j) => ({
            step: r.name,
            path: f.path,
            mode: f.mode ?? "0644",
            owner: f.owner ?? "root",
            group: f.group ?? f.owner ?? "root",
            content: contents[i][j],
          })),
        ),
        steps: records.map((r, i) => ({
          name: r.name,
          description: r.description,
          resource: r.resource,
          dependsOn: deps[i].map((u) => u.split("::").pop() ?? u),
          files: r.files.map((f) => f.path),
          script: scripts[i],
        })),
      }));
  }
}
