import * as pulumi from "@pulumi/pulumi";
import type { AmiSelection } from "./ami";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";
import { debianAmiId } from "./ami";
import { contentHash, renderStepScript } from "../provision/common/step-script";
import { renderMountScript, WAIT_FOR_CLOUD_INIT } from "../provision/common/volumes";
import { combineUserData, renderHostKeyCloudConfig } from "../provision/common/cloud-init";
import { renderAuthorizedKeysStep } from "../provision/common/ssh-keys";

/** How remote commands reach a host: directly, or through the bastion (`proxy`). */
export interface SshAccess {
  /** Login user with passwordless sudo ("admin" on Debian AMIs). */
  user: string;
  /** Private key of the EC2 key pair; keep it a secret Output. */
  privateKey: pulumi.Input<string>;
  /**
   * Jump host for hosts in private subnets: a stable address (the bastion's Elastic IP) and its
   * pinned SSH host key (`ssh-ed25519 ...`, `Bastion.proxy` gives all three).
   * @default none (direct SSH to the private IP)
   */
  bastion?: { host: pulumi.Input<string>; user: string; hostKey: pulumi.Input<string> };
  /**
   * Public keys the login user's `authorized_keys` holds on every host, written by a step (the first
   * must be the public half of `privateKey`): how a key is rotated without replacing instances.
   * @default the EC2 key pair's key only, as the image installed it
   */
  authorizedKeys?: string[];
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

/**
 * The key pair an instance launches with: its fixed name, plus the key pair resource to wait for.
 * The name is plain on purpose: a key pair is replaced delete-before-replace, and Pulumi then first
 * replaces every resource taking one of its outputs into a replace-forcing input (keyName replaces an
 * instance) -- all hosts at once. A `dependsOn` orders the first launch after the key pair without that.
 */
export type HostKeyName = string | { name: string; keyPair: pulumi.Resource };

/** What every component built on hosts (Redis, Elasticsearch, Logstash, database) takes for access, image and lifecycle. */
export interface HostFleetArgs {
  /** SSH (22, provisioning) is allowed only from this security group. */
  bastionSecurityGroupId: pulumi.Input<string>;
  ssh: SshAccess;
  /** EC2 key pair whose private key is `ssh.privateKey`. @default none (see HostArgs.keyName) */
  keyName?: HostKeyName;
  /** Instance profile of the hosts (e.g. a HostRole's): what the host checkers and backups may call. @default none */
  iamInstanceProfile?: pulumi.Input<string>;
  /** @default latest official Debian 12 AMI for the instance type's architecture; or pinned: one AMI id, or one per architecture */
  amiId?: AmiSelection;
  /** Protect the component's volumes (data, keys, queue) from deletion and replacement. @default false */
  protectVolumes?: boolean;
  /** Tags on every resource created. @default {} */
  tags?: Record<string, string>;
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
  /**
   * Shell lines run before `script` whose change alone never re-runs the step (not in its triggers:
   * the change is an update, which runs nothing): facts about the stack that only matter when the step
   * runs for another reason, e.g. on a new instance. @default none
   */
  context?: pulumi.Input<string>;
  /** Extra resources this step waits for (e.g. other hosts' `lastStep`). @default [] */
  dependsOn?: pulumi.Resource[];
  /**
   * Force `logging: "none"`. Steps whose stdin is a secret Output get it automatically.
   * @default false
   */
  secret?: boolean;
  /**
   * A health gate: it also re-runs when the instance is stopped and started in place (instance type
   * change), and other hosts' `waitFor` point at it.
   * @default false
   */
  health?: boolean;
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
  /** Security groups of the host's network interface (changed in place). */
  securityGroupIds: pulumi.Input<string>[];
  /**
   * EC2 key pair whose private key is `ssh.privateKey`: only seeds a new instance. Give a name that
   * never changes (a changed key name replaces the instance); rotate keys with `ssh.authorizedKeys`.
   * A plain name, never an Output: see {@link HostKeyName}.
   * @default none (the AMI must accept `ssh.privateKey` otherwise, e.g. via `userData`)
   */
  keyName?: HostKeyName;
  /** @default latest official Debian 12 AMI for the instance type's architecture */
  amiId?: AmiSelection;
  /** @default 16 */
  rootVolumeSizeGb?: number;
  /** Encrypted gp3 data volumes, attached and mounted before the steps run. @default [] */
  volumes?: HostVolumeInput[];
  /** Instance profile (role) of the instance. @default none */
  iamInstanceProfile?: pulumi.Input<string>;
  /**
   * Give the host a public address: an Elastic IP on its network interface, which survives stop/start
   * and instance replacement (bastion-style hosts in public subnets only). @default false
   */
  associatePublicIp?: boolean;
  /** What the Elastic IP's association waits for (the VPC's internet gateway). @default [] */
  publicIpDependsOn?: pulumi.Resource[];
  /** More user data (`#cloud-config` or a `#!` script), run next to the host-key cloud-config. @default none */
  userData?: pulumi.Input<string>;
  /** Tags on the instance and its volumes (`Name` is the host's name). @default {} */
  tags?: Record<string, string>;
  ssh: SshAccess;
  /** Ordered steps, run after cloud-init finished and the volumes are mounted. */
  steps: HostStepInput[];
  /** Protect the data volumes from `pulumi destroy` / replacement. @default false */
  protectVolumes?: boolean;
  /**
   * What creating or replacing the instance waits for: in a cluster, the previous host's health step
   * (`addStep({ health: true })`), so hosts are (re)placed one at a time, each after its predecessor
   * is back and the cluster healthy. A promise when that step is created later. @default []
   */
  waitFor?: pulumi.Resource[] | Promise<pulumi.Resource[]>;
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
  /** The primary network interface: created apart from the instance, so the private IP (and an Elastic IP) survive a replacement. */
  public readonly networkInterface: aws.ec2.NetworkInterface;
  /** Stable private IP (the network interface's). */
  public readonly privateIp: pulumi.Output<string>;
  public readonly availabilityZone: pulumi.Output<string>;
  public readonly volumes: aws.ebs.Volume[];
  /** The Elastic IP's address when `associatePublicIp`. */
  public readonly publicIp?: pulumi.Output<string>;
  /** The host's SSH host key (`ssh-ed25519 ...`), generated here and installed by cloud-init: pin it. */
  public readonly hostPublicKey: pulumi.Output<string>;
  /** Provisioning commands in order; [0] waits for cloud-init. */
  public readonly steps: command.remote.Command[] = [];
  private readonly records: StepRecord[] = [];
  private readonly connection: command.types.input.remote.ConnectionArgs;
  private readonly createCommand: string;
  /** The host's resource name (e.g. "dev-redis-0"). */
  public readonly hostName: string;
  /** Mount points of the data volumes, in order. */
  public readonly mountPoints: string[];
  private volumesReady: pulumi.Resource[] = [];

  constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("opsfleet:index:Host", name, {}, opts);
    this.hostName = name;
    this.mountPoints = (args.volumes ?? []).map((v) => v.mountPoint);
    const tags = { Name: name, ...(args.tags ?? {}) };

    // Private IP and security groups live on an interface of their own: a replaced instance gets the
    // same address, so no other host's config, certificate or connection changes with it.
    this.networkInterface = new aws.ec2.NetworkInterface(name, {
      subnetId: args.subnetId,
      securityGroups: args.securityGroupIds,
      description: `opsfleet ${name}: primary interface, kept across instance replacements`,
      tags,
    }, { parent: this });
    this.privateIp = this.networkInterface.privateIp;
    // From the subnet, never from the instance: a volume whose AZ input came from a replaced instance
    // would itself be planned for replacement (availabilityZone forces a new volume).
    this.availabilityZone = aws.ec2.getSubnetOutput({ id: args.subnetId }, { parent: this }).availabilityZone;
    if (args.associatePublicIp) {
      const eip = new aws.ec2.Eip(name, { domain: "vpc", networkInterface: this.networkInterface.id, tags }, {
        parent: this, dependsOn: args.publicIpDependsOn ?? [],
      });
      this.publicIp = eip.publicIp;
    }

    // The SSH host key, known before the first connection: installed by cloud-init, pinned below.
    // Its user data is secret (it holds the private key); the key lives as long as this resource, so
    // a stop/start or a replacement keeps the same pinned key.
    const hostKey = new tls.PrivateKey(`${name}-ssh-host`, { algorithm: "ED25519" }, { parent: this, additionalSecretOutputs: ["privateKeyOpenssh", "privateKeyPem"] });
    this.hostPublicKey = hostKey.publicKeyOpenssh.apply((k) => k.trim());
    const userData = pulumi.secret(
      pulumi.all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh, args.userData ?? ""]).apply(([priv, pub, extra]) =>
        combineUserData([renderHostKeyCloudConfig({ privateKeyOpenssh: priv, publicKeyOpenssh: pub }), ...(extra ? [extra] : [])])),
    );

    const keyPair: pulumi.Resource[] = typeof args.keyName === "object" ? [args.keyName.keyPair] : [];
    const instanceDependsOn: Promise<pulumi.Resource[]> = Promise.resolve(args.waitFor ?? []).then((w) => [...w, ...keyPair]);
    this.instance = new aws.ec2.Instance(
      name,
      {
        ami: debianAmiId(args.instanceType, args.amiId, this),
        instanceType: args.instanceType,
        primaryNetworkInterface: { networkInterfaceId: this.networkInterface.id },
        keyName: typeof args.keyName === "object" ? args.keyName.name : args.keyName,
        iamInstanceProfile: args.iamInstanceProfile,
        userData,
        metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { volumeType: "gp3", volumeSize: args.rootVolumeSizeGb ?? 16, encrypted: true, deleteOnTermination: true },
        tags,
      },
      {
        parent: this,
        // A newer Debian AMI must not replace a running data host; pin `amiId` to roll images deliberately.
        ignoreChanges: args.amiId === undefined ? ["ami"] : [],
        // The old instance must let go of the interface and the data volumes first (else
        // InvalidNetworkInterface.InUse / VolumeInUse, pulumi/pulumi-aws#2769).
        deleteBeforeReplace: true,
        // the key pair by dependsOn: ordered on first launch, not replaced with it (see HostKeyName)
        dependsOn: instanceDependsOn,
      },
    );

    const hop = { user: args.ssh.user, privateKey: pulumi.secret(args.ssh.privateKey), dialErrorLimit: 60, perDialTimeout: 10 };
    this.connection = {
      ...hop,
      // a host with a public address (the bastion) is reached directly there
      host: this.publicIp && !args.ssh.bastion ? this.publicIp : this.privateIp,
      hostKey: this.hostPublicKey,
      // the proxy hop is pinned and retries like the target hop (the bastion may be booting too)
      proxy: args.ssh.bastion ? { ...hop, host: args.ssh.bastion.host, user: args.ssh.bastion.user, hostKey: args.ssh.bastion.hostKey } : undefined,
    };
    this.createCommand = args.ssh.user === "root" ? "bash -s" : "sudo bash -s";

    // 1. Wait for cloud-init: sshd answers before user data and apt are done (dpkg lock races).
    this.addStep(
      { name: "cloud-init", description: "wait until cloud-init has finished", files: [], script: WAIT_FOR_CLOUD_INIT },
      { dialErrorLimit: -1, timeout: "20m" },
    );
    if (args.ssh.authorizedKeys) this.addStep(renderAuthorizedKeysStep(args.ssh.user, args.ssh.authorizedKeys));

    // 2. Data volumes: encrypted gp3, attached, then formatted once and mounted by UUID. A replaced
    //    instance gets them back: the attachment goes first (stopping the old instance), the volume stays.
    const devices = "fghijklmnop";
    this.volumes = (args.volumes ?? []).map((v, i) => {
      if (i >= devices.length) throw new Error(`host ${name}: at most ${devices.length} volumes`);
      const volume = new aws.ebs.Volume(
        `${name}-${v.name}`,
        {
          availabilityZone: this.availabilityZone,
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
      this.volumesReady.push(new aws.ec2.VolumeAttachment(
        `${name}-${v.name}`,
        { deviceName: `/dev/sd${devices[i]}`, volumeId: volume.id, instanceId: this.instance.id, stopInstanceBeforeDetaching: true },
        { parent: this, deleteBeforeReplace: true },
      ));
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
      this.addStep({ name: "volumes", description: "format (first use) and mount the data volumes", files: [], script: mounts, dependsOn: this.volumesReady });
    }

    // 3. The caller's steps, in order.
    for (const step of args.steps) this.addStep(step);

    this.registerOutputs({ instanceId: this.instance.id, privateIp: this.privateIp, publicIp: this.publicIp, hostPublicKey: this.hostPublicKey });
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
    const render = (script: pulumi.Input<string>) => pulumi
      .all([pulumi.all(step.files.map((f) => f.content)), script])
      .apply(([contents, text]) =>
        renderStepScript({
          name: step.name,
          files: step.files.map((f, i) => ({ path: f.path, content: contents[i], mode: f.mode, owner: f.owner, group: f.group })),
          script: text,
        }),
      );
    const triggered = render(step.script);
    const script = step.context === undefined ? step.script : pulumi.all([step.context, step.script]).apply(([c, t]) => `${c}\n${t}`);
    const stdin = step.context === undefined ? triggered : render(script);
    const logging = step.secret
      ? pulumi.output<"none">("none")
      : pulumi.output(pulumi.isSecret(stdin)).apply((s) => (s ? "none" : "stdoutAndStderr"));
    const dependsOn = [...(this.steps.length ? [this.lastStep] : []), ...(step.dependsOn ?? [])];
    const dial = conn.dialErrorLimit;
    const connection = dial === undefined ? this.connection : {
      ...this.connection,
      dialErrorLimit: dial,
      proxy: this.connection.proxy ? pulumi.output(this.connection.proxy).apply((p) => ({ ...p, dialErrorLimit: dial })) : undefined,
    };
    const cmd = new command.remote.Command(
      resourceName,
      {
        connection,
        create: this.createCommand,
        // Any other input change (a new connection: key, proxy address) is an update, which would run
        // `create` again; what a step does is in `triggers`, so an update only proves the connection.
        update: "true",
        stdin,
        // A changed rendered file or script replaces (re-runs) the step, and so does a new instance
        // (the steps run again on the replacement); the hash of a secret stays secret.
        triggers: [
          triggered.apply((s) => contentHash(s)),
          this.instance.id,
          // a health gate also re-checks after an in-place stop/start
          ...(step.health ? [this.instance.instanceType] : []),
        ],
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
    this.records.push({ name: step.name, description: step.description, resource: resourceName, dependsOn, files: step.files, script });
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

/**
 * The order in which the hosts of a cluster are created and replaced: host i's instance waits for
 * host i-1's health gate (`before(i)` goes into `HostArgs.waitFor`; `open(i-1, step)` once that step
 * exists). A gate left unopened would hang the program, so `open` checks the order.
 */
export class RollingGates {
  private readonly resolvers: ((r: pulumi.Resource[]) => void)[] = [];
  private readonly promises: Promise<pulumi.Resource[]>[] = [];
  private opened = 0;

  constructor(private readonly owner: string, private readonly count: number) {
    for (let i = 0; i < count; i++) this.promises.push(new Promise((res) => this.resolvers.push(res)));
  }

  /** What host i waits for: nothing for the first host, else the previous host's gate. */
  before(i: number): pulumi.Resource[] | Promise<pulumi.Resource[]> {
    return i === 0 ? [] : this.promises[i - 1];
  }

  /** Host i's health step exists: host i+1 may go after it. */
  open(i: number, healthStep: pulumi.Resource): void {
    if (i !== this.opened || i >= this.count) throw new Error(`${this.owner}: health gate ${i} opened out of order (expected ${this.opened})`);
    this.opened++;
    this.resolvers[i]([healthStep]);
  }
}
