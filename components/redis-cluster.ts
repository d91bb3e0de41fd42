/**
 * RedisCluster: N Debian hosts (3 by default) each running a Redis Cluster master on :7000 and a
 * replica on :7001 (of a master on another host), provisioned over SSH by the shared Host block
 * with the renderers in `provision/redis` — the same steps the host tests run on local test hosts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { clientEgress } from "./sg-rules";
import type * as command from "@pulumi/command";
import { Host, type HostFleetArgs, RollingGates } from "./host";
import { liftFiles } from "./lift-files";
import { REDIS_BACKUP_PATHS, redisHostBackupPrefix, renderRedisBackupStep } from "../provision/backup/redis";
import type { IntervalSchedule } from "../provision/backup/schedule";
import { BUS_PORT_OFFSET, MAXMEMORY_POLICIES, REDIS_PORTS, type MaxmemoryPolicy } from "../provision/redis/conf";
import {
  redisClusterNodeOrder, redisCreatedFirst, renderRedisClusterStep, renderRedisHealthStep, renderRedisInstallStep, renderRedisNodesStep, renderRedisOsTuningStep,
  type RedisHostParams,
} from "../provision/redis/steps";

export interface RedisClusterArgs extends HostFleetArgs {
  vpcId: pulumi.Input<string>;
  /** Subnets (one per AZ); host i goes to subnet i mod length, so give >= 3 to lose at most one host per AZ. */
  subnetIds: pulumi.Input<string>[];
  /** Hosts, each with one master and one replica. @default 3 */
  hostCount?: number;
  /** @default "t3.small" */
  instanceType?: pulumi.Input<string>;
  /** requirepass/masterauth; keep it a secret Output (16-512 printable ASCII characters). */
  password: pulumi.Input<string>;
  /** Memory limit per Redis instance (two per host) in MiB. @default 512 */
  maxmemoryMb?: number;
  /** @default "noeviction" */
  maxmemoryPolicy?: MaxmemoryPolicy;
  /** cluster-node-timeout: how long a node may be unreachable before failover. @default 5000 */
  nodeTimeoutMs?: number;
  /** Encrypted gp3 volume for /var/lib/redis (AOF, RDB, nodes.conf). @default 20 */
  dataVolumeSizeGb?: number;
  /** Security groups whose members may connect to 7000-7001 (never the bus ports). @default [] */
  clientSecurityGroupIds?: pulumi.Input<string>[];
  /** RDB snapshots of every master to the backup bucket, and the restore script on every host. @default none */
  backup?: RedisBackupArgs;
  /**
   * One instance profile per host, in host order (host i is `redisHostName(name, i)`): each host's own
   * role, so it may write only its own backup prefix. Its length must equal hostCount. Overrides
   * `iamInstanceProfile` (one profile shared by every host). @default none
   */
  hostInstanceProfiles?: pulumi.Input<string>[];
}

/** The name of host `i` of cluster `name` (its resources, metric `Host`, backup prefix level). */
export function redisHostName(name: string, i: number): string {
  return `${name}-${i}`;
}

/** Where and when the Redis hosts back up (see provision/backup/redis.ts). */
export interface RedisBackupArgs {
  bucket: pulumi.Input<string>;
  /**
   * The cluster's prefix in the bucket, e.g. "redis/dev-redis": host i writes only under
   * `redisHostBackupPrefix(prefix, redisHostName(name, i))`; a restore reads every host's.
   */
  prefix: string;
  region: string;
  /** CloudWatch namespace of the backup metrics: the stack's host namespace (`hostMetricsNamespace`), the only one its host roles may write to. */
  metricNamespace: string;
  schedule: IntervalSchedule;
}

/** Defaults, applied in one place. */
const DEFAULTS = { hostCount: 3, instanceType: "t3.small", maxmemoryMb: 512, maxmemoryPolicy: "noeviction", nodeTimeoutMs: 5000, dataVolumeSizeGb: 20 } as const;

function validate(name: string, a: RedisClusterArgs): void {
  const fail = (key: string, got: unknown, allowed: string) => {
    throw new Error(`RedisCluster ${name}: ${key}: got ${JSON.stringify(got)}; allowed: ${allowed}`);
  };
  const count = a.hostCount ?? DEFAULTS.hostCount;
  if (!Number.isInteger(count) || count < 3 || count > 15) fail("hostCount", count, "a whole number from 3 to 15 (a cluster needs 3 masters)");
  if (a.subnetIds.length === 0) fail("subnetIds", a.subnetIds.length, "at least one subnet (one per AZ, 3 recommended)");
  const mem = a.maxmemoryMb ?? DEFAULTS.maxmemoryMb;
  if (!Number.isInteger(mem) || mem < 32) fail("maxmemoryMb", mem, "a whole number >= 32 (MiB per instance)");
  const policy = a.maxmemoryPolicy ?? DEFAULTS.maxmemoryPolicy;
  if (!(MAXMEMORY_POLICIES as readonly string[]).includes(policy)) fail("maxmemoryPolicy", policy, MAXMEMORY_POLICIES.join(", "));
  const timeout = a.nodeTimeoutMs ?? DEFAULTS.nodeTimeoutMs;
  if (!Number.isInteger(timeout) || timeout < 1000 || timeout > 60000) fail("nodeTimeoutMs", timeout, "a whole number from 1000 to 60000");
  if (a.hostInstanceProfiles !== undefined && a.hostInstanceProfiles.length !== count) fail("hostInstanceProfiles", `${a.hostInstanceProfiles.length} profiles`, `one per host (${count})`);
  const size = a.dataVolumeSizeGb ?? DEFAULTS.dataVolumeSizeGb;
  if (!Number.isInteger(size) || size < 1 || size > 16384) fail("dataVolumeSizeGb", size, "a whole number from 1 to 16384");
}

/** Placeholder values for the plain "shape" render (paths/modes/owners), never deployed. */
const SHAPE_IP = "192.0.2.1";
const SHAPE_PASSWORD = "x".repeat(16);

export class RedisCluster extends pulumi.ComponentResource {
  public readonly hosts: Host[];
  public readonly securityGroupId: pulumi.Output<string>;
  /** Private IPs of the hosts, in host order. */
  public readonly privateIps: pulumi.Output<string[]>;
  /** Every node, `ip:port`: each host's master port, then the replica ports. */
  public readonly nodeEndpoints: pulumi.Output<string[]>;
  /** Comma-separated masters-at-creation (`ip:7000,...`): the seed list for cluster clients. */
  public readonly seedList: pulumi.Output<string>;
  /** The cluster-create step (on the first host): depend on it to run after the cluster is healthy. */
  public readonly clusterStep: command.remote.Command;

  constructor(name: string, args: RedisClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    validate(name, args); // before anything is registered
    super("opsfleet:index:RedisCluster", name, {}, opts);
    const o = { ...DEFAULTS, ...stripUndefined(args) };
    const ports = REDIS_PORTS;
    const tags = { ...(args.tags ?? {}), "opsfleet:component": "redis-cluster", "opsfleet:cluster": name };

    // Members talk to each other on the client and bus ports; clients only on the client ports.
    const sg = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `Redis Cluster ${name}: ${ports.join("-")} from members and clients, bus ${ports[0] + BUS_PORT_OFFSET}-${ports[ports.length - 1] + BUS_PORT_OFFSET} between members, SSH from the bastion`,
      tags: { ...tags, Name: `${name}-sg` },
    }, { parent: this });
    const [lo, hi] = [ports[0], ports[ports.length - 1]];
    const rule = (dir: "in" | "out", suffix: string, from: number, to: number, peer: { referencedSecurityGroupId?: pulumi.Input<string>; cidrIpv4?: string }, description: string) => {
      const a = { securityGroupId: sg.id, ipProtocol: "tcp", fromPort: from, toPort: to, description, ...peer };
      return dir === "in"
        ? new aws.vpc.SecurityGroupIngressRule(`${name}-in-${suffix}`, a, { parent: this })
        : new aws.vpc.SecurityGroupEgressRule(`${name}-out-${suffix}`, a, { parent: this });
    };
    rule("in", "ssh", 22, 22, { referencedSecurityGroupId: args.bastionSecurityGroupId }, "SSH from the bastion");
    rule("in", "redis-members", lo, hi, { referencedSecurityGroupId: sg.id }, "Redis from cluster members");
    rule("in", "bus-members", lo + BUS_PORT_OFFSET, hi + BUS_PORT_OFFSET, { referencedSecurityGroupId: sg.id }, "cluster bus from cluster members");
    (args.clientSecurityGroupIds ?? []).forEach((c, i) => {
      rule("in", `redis-client-${i}`, lo, hi, { referencedSecurityGroupId: c }, "Redis from a client security group");
      clientEgress(`${name}-client-out-redis-${i}`, { clientSecurityGroupId: c, serviceSecurityGroupId: sg.id, fromPort: lo, toPort: hi, description: `Redis Cluster ${name}` }, this);
    });
    rule("out", "redis-members", lo, hi, { referencedSecurityGroupId: sg.id }, "Redis to cluster members");
    rule("out", "bus-members", lo + BUS_PORT_OFFSET, hi + BUS_PORT_OFFSET, { referencedSecurityGroupId: sg.id }, "cluster bus to cluster members");
    rule("out", "http", 80, 80, { cidrIpv4: "0.0.0.0/0" }, "apt repositories");
    rule("out", "https", 443, 443, { cidrIpv4: "0.0.0.0/0" }, "apt repositories");
    this.securityGroupId = sg.id;

    const hostParams = (privateIp: string, password: string): RedisHostParams => ({
      privateIp, password, maxmemoryMb: o.maxmemoryMb, maxmemoryPolicy: o.maxmemoryPolicy, nodeTimeoutMs: o.nodeTimeoutMs, ports,
    });
    const password = pulumi.secret(args.password);

    // Hosts are created, and later replaced (a pinned-AMI bump), one at a time: each instance waits for
    // the previous host's health gate, which passes once the cluster is healthy again (or was never
    // formed yet: the first `up` creates the hosts one after another, then forms the cluster).
    // Host 0's gate runs before any other host exists on a first `up`, so only there may silent peers
    // mean a first creation: see `createdFirst` below.
    const gates = new RollingGates(`RedisCluster ${name}`, o.hostCount);
    this.hosts = [];
    for (let i = 0; i < o.hostCount; i++) {
      const install = renderRedisInstallStep();
      const os = renderRedisOsTuningStep();
      this.hosts.push(new Host(redisHostName(name, i), {
        subnetId: args.subnetIds[i % args.subnetIds.length],
        instanceType: o.instanceType,
        securityGroupIds: [sg.id],
        keyName: args.keyName,
        iamInstanceProfile: args.hostInstanceProfiles?.[i] ?? args.iamInstanceProfile,
        amiId: args.amiId,
        volumes: [{ name: "data", sizeGb: o.dataVolumeSizeGb, mountPoint: "/var/lib/redis", owner: "redis" }],
        protectVolumes: args.protectVolumes ?? false,
        tags,
        ssh: args.ssh,
        steps: [install, os],
        waitFor: gates.before(i),
      }, { parent: this }));
    }
    // Instances EC2 has on the other hosts' network interfaces (any state but terminated), before this `up`.
    const createdFirst = () => aws.ec2.getInstancesOutput({
      filters: [
        { name: "network-interface.network-interface-id", values: this.hosts.slice(1).map((h) => h.networkInterface.id) },
        { name: "instance-state-name", values: ["pending", "running", "shutting-down", "stopping", "stopped"] },
      ],
    }, { parent: this }).ids.apply((ids) => `CREATED_FIRST=${redisCreatedFirst(0, ids) ? 1 : 0}`);
    // A gate whose own nodes know no cluster asks the first three hosts (every cluster has them, so a
    // host-count change leaves the gates alone): their addresses are known before any instance exists.
    const anchors = this.hosts.slice(0, 3);
    this.hosts.forEach((host, i) => {
      // The config binds the host's own IP, known only once the instance exists: added after it.
      // Hosts reconfigure one after another, so a config change restarts one instance at a time.
      const shape = renderRedisNodesStep(hostParams(SHAPE_IP, SHAPE_PASSWORD));
      const actual = pulumi.all([host.privateIp, password]).apply(([ip, pw]) => renderRedisNodesStep(hostParams(ip, pw)));
      host.addStep({
        name: shape.name,
        description: shape.description.replace(SHAPE_IP, "<private ip>"),
        files: liftFiles(shape.files, actual.apply((s) => s.files)),
        // the script holds no secret: render it from the IP alone so the plan can show it
        script: host.privateIp.apply((ip) => renderRedisNodesStep(hostParams(ip, SHAPE_PASSWORD)).script),
        dependsOn: i > 0 ? [this.hosts[i - 1].lastStep] : [],
        secret: true,
      });
      const peers = anchors.filter((h) => h !== host).map((h) => h.privateIp);
      const health = (ip: string, peerIps: string[]) => renderRedisHealthStep({ hostIp: ip, peerIps, ports });
      const shapeHealth = health(SHAPE_IP, peers.map((_, j) => `192.0.2.${j + 2}`));
      gates.open(i, host.addStep({
        name: shapeHealth.name,
        description: shapeHealth.description.replace(SHAPE_IP, "<private ip>"),
        files: [],
        script: pulumi.all([host.privateIp, ...peers]).apply(([ip, ...peerIps]) => health(ip, peerIps).script),
        // the first host of the chain: may silent peers mean a first creation? Only while no other
        // host's instance exists (EC2, read at plan time; later `up`s always find them). A context,
        // not part of the script: its flip after the first `up` re-runs nothing.
        context: i === 0 ? createdFirst() : undefined,
        health: true,
      }, { timeout: "20m" }));
    });

    this.privateIps = pulumi.all(this.hosts.map((h) => h.privateIp));
    const shapeCluster = renderRedisClusterStep({ hostIps: this.hosts.map((_, i) => `192.0.2.${i + 1}`), ports });
    this.clusterStep = this.hosts[0].addStep({
      name: shapeCluster.name,
      description: shapeCluster.description,
      files: [],
      script: this.privateIps.apply((ips) => renderRedisClusterStep({ hostIps: ips, ports }).script),
      dependsOn: this.hosts.slice(1).map((h) => h.lastStep), // host 0's own steps come first anyway
    }, { timeout: "20m" });

    if (args.backup) {
      const b = args.backup;
      const render = (hostLabel: string, ip: string, bucket: string) => renderRedisBackupStep({
        target: { bucket, prefix: redisHostBackupPrefix(b.prefix, hostLabel), region: b.region, hostLabel, metricNamespace: b.metricNamespace },
        clusterPrefix: b.prefix, privateIp: ip, schedule: b.schedule,
      });
      this.hosts.forEach((host, i) => {
        const hostName = redisHostName(name, i);
        const shape = render(hostName, SHAPE_IP, "shape-bucket");
        const actual = pulumi.all([host.privateIp, b.bucket]).apply(([ip, bucket]) => render(hostName, ip, bucket));
        host.addStep({
          name: shape.name,
          description: `RDB snapshots of this host's masters to the stack's bucket under ${redisHostBackupPrefix(b.prefix, hostName)}/ (restore reads all of ${b.prefix}/) every ${b.schedule.intervalHours} h from ${b.schedule.startTime} UTC; restore: ${REDIS_BACKUP_PATHS.restore}`,
          files: liftFiles(shape.files, actual.apply((s) => s.files)),
          script: actual.apply((s) => s.script),
          dependsOn: [this.clusterStep],
        });
      });
    }

    this.nodeEndpoints = this.privateIps.apply((ips) => redisClusterNodeOrder(ips, ports));
    this.seedList = this.privateIps.apply((ips) => ips.map((ip) => `${ip}:${ports[0]}`).join(","));
    this.registerOutputs({
      securityGroupId: this.securityGroupId,
      privateIps: this.privateIps,
      nodeEndpoints: this.nodeEndpoints,
      seedList: this.seedList,
    });
  }
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
