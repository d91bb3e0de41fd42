import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { clientEgress } from "./sg-rules";
import * as tls from "@pulumi/tls";
import { Host, type HostFleetArgs, RollingGates } from "./host";
import { elasticsearchHealthStep } from "../provision/elasticsearch/health";
import { liftFiles } from "./lift-files";
import { renderEsSnapshotStep, type EsSnapshotOptions } from "../provision/backup/elasticsearch";
import { DEFAULT_ELASTIC_VERSION, elasticInstallStep, checkElasticVersion } from "../provision/elasticsearch/apt";
import { elasticsearchHeap } from "../provision/elasticsearch/heap";
import { elasticsearchOsStep } from "../provision/elasticsearch/os";
import {
  ES_HTTP_PORT, ES_TRANSPORT_PORT, NODE_ROLES, checkLayout, renderConfigScript, renderNodePublicFiles, renderNodeSecretFiles,
  type EsClusterLayout, type EsRole,
} from "../provision/elasticsearch/node-config";
import { clusterSecurityFiles, clusterSecurityScript, forgetBootstrapStep, indexProfileStep, type ServiceUsers } from "../provision/elasticsearch/cluster-steps";
import type { IndexProfile, ProfileOptions } from "../provision/elasticsearch/profiles";
import { dataNodesStep } from "../provision/elasticsearch/data-nodes";

export interface ElasticsearchNodeGroupArgs {
  /** Nodes in the group. @default 3 for masters, 2 for data */
  count?: number;
  /** Must be in provision/elasticsearch/instance-types.ts (the heap is computed from its memory). @default "t3.medium" for masters, "m5.2xlarge" for data */
  instanceType?: string;
  /** Encrypted gp3 data volume per node, GiB. @default 20 for masters, 500 for data */
  volumeSizeGb?: number;
}

export interface ElasticsearchIndexArgs {
  /** Daily indices `<prefix>-YYYY.MM.dd`; template and profile cover `<prefix>-*`. @default "logstash" */
  prefix?: string;
  /** Primary shards of new indices. @default 2 */
  shards?: number;
  /** Replicas under the normal profile. @default 1 */
  replicas?: number;
  /** Tuning profile applied on `pulumi up`. @default "normal" */
  profile?: IndexProfile;
  /** @default 30 */
  greenTimeoutMinutes?: number;
}

export interface ElasticsearchClusterArgs extends HostFleetArgs {
  vpcId: pulumi.Input<string>;
  /** Private subnets, one per AZ; nodes go round-robin over them (one per AZ where possible). */
  subnetIds: pulumi.Input<string>[];
  /** `cluster.name`. */
  clusterName: string;
  /** Elastic 8.x version, pinned. @default "8.19.2" */
  version?: string;
  /** Master-eligible nodes: 3+ for HA, 1 tolerated (dev, with a warning), 2 rejected. @default { count: 3, instanceType: "t3.medium", volumeSizeGb: 20 } */
  masters?: ElasticsearchNodeGroupArgs;
  /** Data (+ingest) nodes. @default { count: 2, instanceType: "m5.2xlarge", volumeSizeGb: 500 } */
  data?: ElasticsearchNodeGroupArgs;
  /** Password of the `elastic` superuser (secret). */
  elasticPassword: pulumi.Input<string>;
  /** Security groups allowed to reach 9200 (Logstash, Kibana, apps). More via `allowHttpFrom`. @default [] */
  clientSecurityGroupIds?: pulumi.Input<string>[];
  /** @default {} */
  index?: ElasticsearchIndexArgs;
  /** Least-privilege user for Logstash (role logstash_writer on `<prefix>-*`). @default none (no Logstash user is created) */
  logstashUser?: { username: string; password: pulumi.Input<string> };
  /** Sets the built-in kibana_system user's password (for Kibana). @default none (left unset: no Kibana) */
  kibanaSystemPassword?: pulumi.Input<string>;
  /**
   * S3 snapshot repository + SLM policy, registered by provisioning; `status` (without hostLabel: the
   * first master's name) turns on the snapshot status metrics.
   * @default none
   */
  snapshots?: Omit<EsSnapshotOptions, "bucket" | "status"> & { bucket: pulumi.Input<string>; status?: Omit<NonNullable<EsSnapshotOptions["status"]>, "hostLabel"> };
}

const DEFAULTS = {
  version: DEFAULT_ELASTIC_VERSION,
  masters: { count: 3, instanceType: "t3.medium", volumeSizeGb: 20 },
  data: { count: 2, instanceType: "m5.2xlarge", volumeSizeGb: 500 },
  index: { prefix: "logstash", shards: 2, replicas: 1, profile: "normal" as IndexProfile, greenTimeoutMinutes: 30 },
};
const PLACEHOLDER = "placeholder";

/** Validates counts and types before anything is created; returns the args with defaults applied. */
function resolveArgs(name: string, a: ElasticsearchClusterArgs) {
  const masters = { ...DEFAULTS.masters, ...a.masters };
  const data = { ...DEFAULTS.data, ...a.data };
  const index = { ...DEFAULTS.index, ...a.index };
  const version = a.version ?? DEFAULTS.version;
  checkElasticVersion(version, `ElasticsearchCluster ${name}: version`);
  for (const [g, v] of [["masters", masters], ["data", data]] as const) {
    if (!Number.isInteger(v.count) || v.count < 1) throw new Error(`ElasticsearchCluster ${name}: ${g}.count must be a whole number >= 1 (got ${v.count})`);
    if (!Number.isInteger(v.volumeSizeGb) || v.volumeSizeGb < 1) {
      throw new Error(`ElasticsearchCluster ${name}: ${g}.volumeSizeGb must be a whole number of GiB >= 1 (got ${v.volumeSizeGb})`);
    }
    elasticsearchHeap(v.instanceType, `ElasticsearchCluster ${name}: ${g}.instanceType`);
  }
  if (masters.count === 2) {
    throw new Error(`ElasticsearchCluster ${name}: masters.count 2 cannot survive losing a master (quorum is 2); allowed: 1 (dev) or 3+`);
  }
  if (index.replicas > data.count - 1) {
    throw new Error(`ElasticsearchCluster ${name}: index.replicas ${index.replicas} needs ${index.replicas + 1} data nodes (have ${data.count}); allowed: 0..${data.count - 1}`);
  }
  if (a.subnetIds.length === 0) throw new Error(`ElasticsearchCluster ${name}: subnetIds must list at least one subnet`);
  return { masters, data, index, version };
}

/**
 * An Elasticsearch 8 cluster on EC2: dedicated master-eligible nodes and data(+ingest) nodes,
 * TLS on transport and HTTP with a CA generated here (certificates carry each node's IP), the
 * elastic password from a secret, heap from the instance type, and a reversible index profile.
 */
export class ElasticsearchCluster extends pulumi.ComponentResource {
  public readonly clusterName: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly masters: Host[];
  public readonly dataNodes: Host[];
  /** `https://<data node IP>:9200` — where clients (Logstash, apps) send requests. */
  public readonly httpEndpoints: pulumi.Output<string[]>;
  public readonly dataNodeIps: pulumi.Output<string[]>;
  public readonly masterIps: pulumi.Output<string[]>;
  /** The cluster CA (PEM) clients verify the nodes with. */
  public readonly caCertPem: pulumi.Output<string>;
  /** The first master's step that verified the cluster and created the service users: clients start after it. */
  public readonly usersReady: pulumi.Resource;
  private readonly sg: aws.ec2.SecurityGroup;
  private readonly clusterLabel: string;

  constructor(name: string, args: ElasticsearchClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    const { masters, data, index, version } = resolveArgs(name, args); // bad input fails before anything registers
    super("opsfleet:index:ElasticsearchCluster", name, {}, opts);
    if (masters.count === 1) {
      pulumi.log.warn(`ElasticsearchCluster ${name}: 1 master-eligible node is not highly available (acceptable for dev only; use 3)`, this);
    }
    this.clusterLabel = name;
    const tags = args.tags ?? {};

    // Security group: 9300 only inside the cluster, 9200 from the cluster and the client SGs, SSH from the bastion.
    this.sg = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `opsfleet Elasticsearch ${args.clusterName}: 9300 inside the cluster, 9200 from clients, 22 from the bastion`,
      tags: { ...tags, Name: `${name}-sg` },
    }, { parent: this });
    this.securityGroupId = this.sg.id;
    const ingress = (suffix: string, port: number, from: pulumi.Input<string>, description: string) =>
      new aws.vpc.SecurityGroupIngressRule(`${name}-in-${suffix}`, {
        securityGroupId: this.sg.id, ipProtocol: "tcp", fromPort: port, toPort: port, referencedSecurityGroupId: from, description,
      }, { parent: this });
    const egress = (suffix: string, port: number, to: { cidrIpv4?: string; referencedSecurityGroupId?: pulumi.Input<string> }, description: string) =>
      new aws.vpc.SecurityGroupEgressRule(`${name}-out-${suffix}`, {
        securityGroupId: this.sg.id, ipProtocol: "tcp", fromPort: port, toPort: port, ...to, description,
      }, { parent: this });
    ingress("transport", ES_TRANSPORT_PORT, this.sg.id, "transport between cluster nodes");
    ingress("http-self", ES_HTTP_PORT, this.sg.id, "HTTP between cluster nodes (bootstrap checks, cluster steps)");
    ingress("ssh", 22, args.bastionSecurityGroupId, "SSH from the bastion");
    (args.clientSecurityGroupIds ?? []).forEach((sg, i) => {
      ingress(`http-client-${i}`, ES_HTTP_PORT, sg, "HTTP from a client security group");
      clientEgress(`${name}-client-out-http-${i}`, { clientSecurityGroupId: sg, serviceSecurityGroupId: this.sg.id, fromPort: ES_HTTP_PORT, toPort: ES_HTTP_PORT, description: `Elasticsearch ${args.clusterName} HTTP` }, this);
    });
    egress("transport", ES_TRANSPORT_PORT, { referencedSecurityGroupId: this.sg.id }, "transport to cluster nodes");
    egress("http-self", ES_HTTP_PORT, { referencedSecurityGroupId: this.sg.id }, "HTTP to cluster nodes");
    egress("https", 443, { cidrIpv4: "0.0.0.0/0" }, "HTTPS for apt and artifacts.elastic.co");
    egress("http", 80, { cidrIpv4: "0.0.0.0/0" }, "HTTP for Debian apt mirrors");

    // Bring-your-own CA: generated here, private key only in (secret) state.
    const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "RSA", rsaBits: 3072 }, { parent: this });
    const ca = new tls.SelfSignedCert(`${name}-ca`, {
      privateKeyPem: caKey.privateKeyPem,
      subject: { commonName: `${args.clusterName} CA`, organization: "opsfleet" },
      isCaCertificate: true,
      validityPeriodHours: 10 * 365 * 24,
      allowedUses: ["cert_signing", "crl_signing"],
    }, { parent: this });
    this.caCertPem = ca.certPem;

    // Hosts: install + OS tuning now; the config needs every node's IP, so it is added once all exist.
    const nodeName = (role: EsRole, i: number) => `${name}-${role}-${i + 1}`;
    // Nodes are created, and replaced (a pinned-AMI bump), one at a time, masters first: each waits
    // for the previous node's health gate (green again; or a cluster not formed yet on the first `up`).
    const gates = new RollingGates(`ElasticsearchCluster ${name}`, masters.count + data.count);
    const makeGroup = (role: EsRole, g: typeof masters, offset: number) =>
      Array.from({ length: g.count }, (_, i) =>
        new Host(nodeName(role, i), {
          subnetId: args.subnetIds[(offset + i) % args.subnetIds.length],
          instanceType: g.instanceType,
          securityGroupIds: [this.sg.id],
          keyName: args.keyName,
          iamInstanceProfile: args.iamInstanceProfile,
          amiId: args.amiId,
          volumes: [{ name: "data", sizeGb: g.volumeSizeGb, mountPoint: "/var/lib/elasticsearch", owner: "elasticsearch" }],
          protectVolumes: args.protectVolumes,
          tags: { ...tags, "opsfleet:es-cluster": args.clusterName, "opsfleet:es-role": role },
          ssh: args.ssh,
          steps: [elasticInstallStep("elasticsearch", version), elasticsearchOsStep()],
          waitFor: gates.before(offset + i),
        }, { parent: this }));
    // Data nodes continue the round-robin after the masters (1 master + 1 data in dev: two AZs).
    this.masters = makeGroup("master", masters, 0);
    this.dataNodes = makeGroup("data", data, masters.count);
    // node.name = the host's resource name; masters first (the first one runs the cluster-wide steps).
    const all = [...this.masters.map((h, i) => ({ h, name: nodeName("master", i), role: "master" as const, type: masters.instanceType })),
                 ...this.dataNodes.map((h, i) => ({ h, name: nodeName("data", i), role: "data" as const, type: data.instanceType }))];

    const layout: pulumi.Output<EsClusterLayout> = pulumi.all(all.map((n) => n.h.privateIp)).apply((ips) => {
      const l: EsClusterLayout = {
        clusterName: args.clusterName,
        nodes: all.map((n, i) => ({ name: n.name, role: n.role, privateIp: ips[i], instanceType: n.type })),
      };
      checkLayout(l);
      return l;
    });
    const placeholderLayout: EsClusterLayout = {
      clusterName: args.clusterName,
      nodes: all.map((n) => ({ name: n.name, role: n.role, privateIp: "10.0.0.1", instanceType: n.type })),
    };
    const password = pulumi.secret(args.elasticPassword);

    all.forEach((n, i) => {
      const certName = n.name;
      const key = new tls.PrivateKey(`${certName}-tls-key`, { algorithm: "RSA", rsaBits: 2048 }, { parent: this });
      const csr = new tls.CertRequest(`${certName}-tls-csr`, {
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: certName, organization: "opsfleet" },
        ipAddresses: [n.h.privateIp, "127.0.0.1"],
        dnsNames: [certName, "localhost"],
      }, { parent: this });
      const cert = new tls.LocallySignedCert(`${certName}-tls-cert`, {
        certRequestPem: csr.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: 3 * 365 * 24,
        earlyRenewalHours: 30 * 24, // `pulumi up` in the last 30 days re-issues; ES reloads PEM files on change
        allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
      }, { parent: this });
      const shapeNode = placeholderLayout.nodes[i];
      const publicFiles = pulumi.all([layout, ca.certPem, cert.certPem]).apply(([l, caPem, certPem]) =>
        renderNodePublicFiles(l, l.nodes[i], { caCertPem: caPem, certPem }));
      const secretFiles = pulumi.all([key.privateKeyPem, password]).apply(([k, pw]) => renderNodeSecretFiles(k, pw));
      n.h.addStep({
        name: "elasticsearch-config",
        description: `${shapeNode.name} (${NODE_ROLES[n.role].join(", ")}): elasticsearch.yml, heap, TLS, keystore cleanup, elastic password, start`,
        files: [
          ...liftFiles(renderNodePublicFiles(placeholderLayout, shapeNode, { caCertPem: PLACEHOLDER, certPem: PLACEHOLDER }), publicFiles),
          ...liftFiles(renderNodeSecretFiles(PLACEHOLDER, PLACEHOLDER), pulumi.secret(secretFiles)),
        ],
        script: layout.apply(renderConfigScript),
      });
      const healthShape = elasticsearchHealthStep(placeholderLayout, n.name);
      gates.open(i, n.h.addStep({
        name: healthShape.name,
        description: healthShape.description,
        files: [],
        script: layout.apply((l) => elasticsearchHealthStep(l, n.name).script),
        health: true,
      }, { timeout: "40m" }));
    });

    // Cluster-wide steps on the first master, once every node has its config.
    const first = this.masters[0];
    const users: ServiceUsers = {
      logstash: args.logstashUser ? { username: args.logstashUser.username, password: PLACEHOLDER, indexPattern: `${index.prefix}-*` } : undefined,
      kibanaSystemPassword: args.kibanaSystemPassword !== undefined ? PLACEHOLDER : undefined,
    };
    const securityFiles = pulumi
      .all([password, args.logstashUser?.password ?? "", args.kibanaSystemPassword ?? ""])
      .apply(([pw, ls, kb]) => clusterSecurityFiles(pw, {
        logstash: users.logstash && { ...users.logstash, password: ls },
        kibanaSystemPassword: users.kibanaSystemPassword !== undefined ? kb : undefined,
      }));
    const security = first.addStep({
      name: "elasticsearch-cluster-security",
      description: `wait for all ${all.length} nodes, set the elastic password, create service users`,
      files: liftFiles(clusterSecurityFiles(PLACEHOLDER, users), pulumi.secret(securityFiles)),
      script: layout.apply((l) => clusterSecurityScript(l, users)),
      dependsOn: all.map((n) => n.h.lastStep),
    });
    this.usersReady = security;
    for (const m of this.masters) {
      m.addStep({ ...forgetBootstrapStep(), dependsOn: [security] });
    }
    // Data-node scale-in: leaving data nodes hand over their shards before Pulumi deletes their hosts.
    const drainShape = dataNodesStep(placeholderLayout, { timeoutMinutes: index.greenTimeoutMinutes });
    first.addStep({
      name: drainShape.name,
      description: drainShape.description,
      files: [],
      script: layout.apply((l) => dataNodesStep(l, { timeoutMinutes: index.greenTimeoutMinutes }).script),
      dependsOn: [security],
    }, { timeout: `${index.greenTimeoutMinutes + 10}m` });
    const profileOptions: ProfileOptions = {
      indexPattern: `${index.prefix}-*`, templateName: `opsfleet-${index.prefix}`, shards: index.shards, replicas: index.replicas,
      greenTimeoutMinutes: index.greenTimeoutMinutes,
    };
    const profileShape = indexProfileStep(placeholderLayout, index.profile, profileOptions);
    const profileStep = layout.apply((l) => indexProfileStep(l, index.profile, profileOptions));
    first.addStep({
      name: profileShape.name,
      description: profileShape.description,
      files: liftFiles(profileShape.files, profileStep.apply((s) => s.files)),
      script: profileStep.apply((s) => s.script),
    }, { timeout: `${index.greenTimeoutMinutes + 10}m` });

    if (args.snapshots) {
      const sn = args.snapshots;
      const render = (bucket: string, ip: string) =>
        renderEsSnapshotStep({ ...sn, bucket, status: sn.status ? { ...sn.status, hostLabel: first.hostName } : undefined }, `https://${ip}:${ES_HTTP_PORT}`);
      const shape = render("shape-bucket", "192.0.2.1");
      const actual = pulumi.all([sn.bucket, first.privateIp]).apply(([bucket, ip]) => render(bucket, ip));
      first.addStep({
        name: shape.name,
        description: `snapshot repository in the stack's bucket under ${sn.basePath}/ and SLM policy (every ${sn.schedule.intervalHours} h from ${sn.schedule.startTime} UTC, ${sn.expireAfterDays} days)`,
        files: liftFiles(shape.files, actual.apply((s) => s.files)),
        script: actual.apply((s) => s.script),
        dependsOn: [security],
      });
    }

    this.clusterName = pulumi.output(args.clusterName);
    this.masterIps = pulumi.all(this.masters.map((h) => h.privateIp));
    this.dataNodeIps = pulumi.all(this.dataNodes.map((h) => h.privateIp));
    this.httpEndpoints = this.dataNodeIps.apply((ips) => ips.map((ip) => `https://${ip}:${ES_HTTP_PORT}`));
    this.registerOutputs({
      clusterName: this.clusterName, httpEndpoints: this.httpEndpoints, masterIps: this.masterIps,
      dataNodeIps: this.dataNodeIps, caCertPem: this.caCertPem, securityGroupId: this.securityGroupId,
    });
  }

  /** Lets another security group (Logstash, Kibana, an app) reach 9200. */
  allowHttpFrom(suffix: string, securityGroupId: pulumi.Input<string>): aws.vpc.SecurityGroupIngressRule {
    return new aws.vpc.SecurityGroupIngressRule(`${this.clusterLabel}-in-http-${suffix}`, {
      securityGroupId: this.sg.id, ipProtocol: "tcp", fromPort: ES_HTTP_PORT, toPort: ES_HTTP_PORT,
      referencedSecurityGroupId: securityGroupId, description: `HTTP from ${suffix}`,
    }, { parent: this });
  }
}
