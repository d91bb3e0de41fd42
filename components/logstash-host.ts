import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { clientEgress } from "./sg-rules";
import { Host, type HostFleetArgs, type HostFileInput } from "./host";
import { liftFiles } from "./lift-files";
import { DEFAULT_ELASTIC_VERSION, elasticInstallStep, checkElasticVersion } from "../provision/elasticsearch/apt";
import {
  BEATS_PORT, logstashConfigStep, renderLogstashFiles, resolvedHeap, resolvedWorkers, type LogstashSettings,
} from "../provision/logstash/logstash";
import { KIBANA_PORT, kibanaConfigStep } from "../provision/logstash/kibana";

export interface LogstashHostArgs extends HostFleetArgs {
  vpcId: pulumi.Input<string>;
  subnetId: pulumi.Input<string>;
  /** Must be in provision/elasticsearch/instance-types.ts. @default "m5.xlarge" */
  instanceType?: string;
  /** Elastic 8.x version, pinned. @default "8.19.2" */
  version?: string;
  /** pipeline.workers. @default the instance type's vCPUs */
  workers?: number;
  /** pipeline.batch.size. @default 1000 */
  batchSize?: number;
  /** pipeline.batch.delay (ms). @default 50 */
  batchDelayMs?: number;
  /** @default 50 % of memory, at most 8192 */
  heapMb?: number;
  /** @default "persisted" */
  queueType?: "memory" | "persisted";
  /** @default 4 */
  queueMaxGb?: number;
  /** Volume for /var/lib/logstash (persisted queue). @default 50 */
  volumeSizeGb?: number;
  /** The cluster to write to: data nodes' IPs, its CA, and credentials (password secret). */
  elasticsearch: {
    dataNodeIps: pulumi.Input<string[]>;
    caCertPem: pulumi.Input<string>;
    user: string;
    password: pulumi.Input<string>;
    /** Daily index prefix. @default "logstash" */
    indexPrefix?: string;
    /** Wait for these (e.g. the cluster's user-creation step) before starting Logstash. @default [] */
    readyAfter?: pulumi.Resource[];
  };
  /** Kibana on the same host (5601 from `kibanaClientSecurityGroupIds` only). @default undefined (no Kibana) */
  kibana?: { kibanaSystemPassword: pulumi.Input<string>; encryptionKey: pulumi.Input<string> };
  /** Security groups allowed to send Beats to 5044 (the apps). @default [] */
  beatsClientSecurityGroupIds?: pulumi.Input<string>[];
  /** Who may open Kibana (5601). @default [bastionSecurityGroupId] */
  kibanaClientSecurityGroupIds?: pulumi.Input<string>[];
  /** Elasticsearch cluster SG: Logstash may send to 9200 there only. */
  elasticsearchSecurityGroupId: pulumi.Input<string>;
}

const PLACEHOLDER = "placeholder";

/** Logstash (Beats :5044 → Elasticsearch data nodes over TLS), optionally with Kibana, on one host. */
export class LogstashHost extends pulumi.ComponentResource {
  public readonly host: Host;
  public readonly privateIp: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  /** `<ip>:5044` for Beats shippers. */
  public readonly beatsEndpoint: pulumi.Output<string>;
  /** `http://<ip>:5601` when Kibana is on. */
  public readonly kibanaUrl?: pulumi.Output<string>;

  constructor(name: string, args: LogstashHostArgs, opts?: pulumi.ComponentResourceOptions) {
    const version = args.version ?? DEFAULT_ELASTIC_VERSION;
    checkElasticVersion(version, `LogstashHost ${name}: version`);
    const settings: LogstashSettings = {
      nodeName: name,
      instanceType: args.instanceType ?? "m5.xlarge",
      workers: args.workers,
      batchSize: args.batchSize ?? 1000,
      batchDelayMs: args.batchDelayMs ?? 50,
      heapMb: args.heapMb,
      queueType: args.queueType ?? "persisted",
      queueMaxGb: args.queueMaxGb ?? 4,
    };
    // Validate before creating anything: unknown type, bad numbers.
    resolvedHeap(settings);
    const positive: [string, number | undefined][] = [
      ["workers", resolvedWorkers(settings)], ["batchSize", settings.batchSize], ["batchDelayMs", settings.batchDelayMs],
      ["queueMaxGb", settings.queueMaxGb], ["volumeSizeGb", args.volumeSizeGb ?? 50], ["heapMb", settings.heapMb ?? 1024],
    ];
    for (const [k, v] of positive) {
      if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`LogstashHost ${name}: ${k} must be a whole number >= 1 (got ${v})`);
    }
    super("opsfleet:index:LogstashHost", name, {}, opts);
    const indexPrefix = args.elasticsearch.indexPrefix ?? "logstash";
    const tags = args.tags ?? {};

    const sg = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: "opsfleet Logstash: Beats 5044 from clients, 22 from the bastion, out to Elasticsearch 9200",
      tags: { ...tags, Name: `${name}-sg` },
    }, { parent: this });
    this.securityGroupId = sg.id;
    const ingress = (suffix: string, port: number, from: pulumi.Input<string>, description: string) =>
      new aws.vpc.SecurityGroupIngressRule(`${name}-in-${suffix}`, {
        securityGroupId: sg.id, ipProtocol: "tcp", fromPort: port, toPort: port, referencedSecurityGroupId: from, description,
      }, { parent: this });
    ingress("ssh", 22, args.bastionSecurityGroupId, "SSH from the bastion");
    (args.beatsClientSecurityGroupIds ?? []).forEach((c, i) => {
      ingress(`beats-${i}`, BEATS_PORT, c, "Beats from a client security group");
      clientEgress(`${name}-client-out-beats-${i}`, { clientSecurityGroupId: c, serviceSecurityGroupId: sg.id, fromPort: BEATS_PORT, toPort: BEATS_PORT, description: "Logstash Beats" }, this);
    });
    if (args.kibana) {
      // The default client, the bastion, has inline egress: it opens KIBANA_PORT itself (Bastion forwardPorts).
      (args.kibanaClientSecurityGroupIds ?? [args.bastionSecurityGroupId]).forEach((c, i) => ingress(`kibana-${i}`, KIBANA_PORT, c, "Kibana"));
      (args.kibanaClientSecurityGroupIds ?? []).forEach((c, i) =>
        clientEgress(`${name}-client-out-kibana-${i}`, { clientSecurityGroupId: c, serviceSecurityGroupId: sg.id, fromPort: KIBANA_PORT, toPort: KIBANA_PORT, description: "Kibana" }, this));
    }
    new aws.vpc.SecurityGroupEgressRule(`${name}-out-es`, {
      securityGroupId: sg.id, ipProtocol: "tcp", fromPort: 9200, toPort: 9200, referencedSecurityGroupId: args.elasticsearchSecurityGroupId,
      description: "Elasticsearch HTTP",
    }, { parent: this });
    for (const port of [443, 80]) {
      new aws.vpc.SecurityGroupEgressRule(`${name}-out-${port}`, {
        securityGroupId: sg.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0", description: "apt",
      }, { parent: this });
    }

    const steps = [elasticInstallStep("logstash", version)];
    if (args.kibana) steps.push(elasticInstallStep("kibana", version));
    this.host = new Host(name, {
      subnetId: args.subnetId,
      instanceType: settings.instanceType,
      securityGroupIds: [sg.id],
      keyName: args.keyName,
      iamInstanceProfile: args.iamInstanceProfile,
      amiId: args.amiId,
      volumes: [{ name: "data", sizeGb: args.volumeSizeGb ?? 50, mountPoint: "/var/lib/logstash", owner: "logstash" }],
      protectVolumes: args.protectVolumes,
      tags,
      ssh: args.ssh,
      steps,
    }, { parent: this });
    this.privateIp = this.host.privateIp;

    // Config: public files from the cluster's IPs/CA; the env file with the password stays secret.
    const es = args.elasticsearch;
    const target = (ips: string[], ca: string, pw: string) => ({ hosts: ips, user: es.user, password: pw, caCertPem: ca, indexPrefix });
    const shape = logstashConfigStep(settings, target(["10.0.0.1"], PLACEHOLDER, PLACEHOLDER));
    // Public files are rendered without the password (placeholder); only the env file takes the secret.
    const publicFiles = pulumi.all([es.dataNodeIps, es.caCertPem])
      .apply(([ips, ca]) => renderLogstashFiles(settings, target(ips, ca, PLACEHOLDER)));
    const secretFiles = pulumi.all([es.dataNodeIps, es.caCertPem, pulumi.secret(es.password)])
      .apply(([ips, ca, pw]) => renderLogstashFiles(settings, target(ips, ca, pw)));
    const lifted = mergeSecret(liftFiles(shape.files, publicFiles), liftFiles(shape.files, secretFiles), ["/etc/default/logstash"]);
    this.host.addStep({
      name: shape.name,
      description: shape.description,
      files: lifted,
      script: shape.script,
      dependsOn: es.readyAfter,
    });

    if (args.kibana) {
      const k = args.kibana;
      const kShape = kibanaConfigStep({ host: "10.0.0.1", elasticsearchHosts: ["10.0.0.1"], kibanaSystemPassword: PLACEHOLDER, encryptionKey: PLACEHOLDER.repeat(4), caCertPem: PLACEHOLDER });
      const render = (ip: string, ips: string[], ca: string, pw: string, key: string) =>
        kibanaConfigStep({ host: ip, elasticsearchHosts: ips, kibanaSystemPassword: pw, encryptionKey: key, caCertPem: ca }).files;
      const kPublic = pulumi.all([this.privateIp, es.dataNodeIps, es.caCertPem])
        .apply(([ip, ips, ca]) => render(ip, ips, ca, PLACEHOLDER, PLACEHOLDER.repeat(4)));
      const kSecret = pulumi.all([this.privateIp, es.dataNodeIps, es.caCertPem, pulumi.secret(k.kibanaSystemPassword), pulumi.secret(k.encryptionKey)])
        .apply(([ip, ips, ca, pw, key]) => render(ip, ips, ca, pw, key));
      this.host.addStep({
        name: kShape.name,
        description: kShape.description,
        files: mergeSecret(liftFiles(kShape.files, kPublic), liftFiles(kShape.files, kSecret), ["/etc/default/kibana"]),
        script: kShape.script,
      });
      this.kibanaUrl = pulumi.interpolate`http://${this.privateIp}:${KIBANA_PORT}`;
    }

    this.beatsEndpoint = pulumi.interpolate`${this.privateIp}:${BEATS_PORT}`;
    this.registerOutputs({ privateIp: this.privateIp, beatsEndpoint: this.beatsEndpoint, kibanaUrl: this.kibanaUrl, securityGroupId: this.securityGroupId });
  }
}

/** Takes the listed paths from the secret rendering, everything else from the public one. */
function mergeSecret(pub: HostFileInput[], sec: HostFileInput[], secretPaths: string[]): HostFileInput[] {
  return pub.map((f, i) => (secretPaths.includes(f.path) ? sec[i] : f));
}
