/**
 * The stack configuration: every key under the `opsfleet:` namespace, with defaults.
 * Sections for the four systems live beside this file; this file owns the shared ones.
 * README's config reference is generated from these descriptions (`npm run docs:config`).
 */
import { z } from "zod";
import { amiId, cidrBlock, instanceType, intBetween, subnetId, vpcId } from "./common";
import { cidrsOverlap, parseCidr } from "../../components/cidr";
import { spotConfigSchema } from "./spot";
import { redisConfigSchema } from "./redis";
import { elkConfigSchema } from "./elk";
import { databaseConfigSchema } from "./database";
import { architecturesInUse } from "./architecture";
import { albSubnetProblem, AUTHORIZED_KEY_TYPES, EC2_KEY_TYPES, sshPublicKeyProblem } from "./aws-limits";
import { ARCHITECTURES } from "../../components/instance-architecture";
import { alertsConfigSchema, onDemandMaxMinutesProblem } from "./alerts";
import { backupConfigSchema } from "./backup";

export const featuresConfigSchema = z
  .strictObject({
    spotWeb: z.boolean().default(true).describe("Spot web tier with on-demand failover (ALB, Spot source, on-demand ASG, reconciler Lambda)."),
    redis: z.boolean().default(true).describe("Redis Cluster on three hosts."),
    elk: z.boolean().default(true).describe("Elasticsearch cluster and Logstash host."),
    database: z.boolean().default(true).describe("Encrypted MySQL/MariaDB host."),
    backup: z.boolean().default(true).describe("Backups of the enabled data systems: S3 bucket, key store, EBS snapshots, restore scripts on the hosts."),
  })
  .describe("Which of the four systems this stack builds.");

export const networkConfigSchema = z
  .strictObject({
    vpcId: vpcId.optional().describe("Bring your own VPC: its id. Requires publicSubnetIds and privateSubnetIds; opsfleet then creates no network."),
    publicSubnetIds: z.array(subnetId).min(2, { message: "needs at least 2 subnets (2 AZs)" }).optional()
      .describe("Bring your own VPC: public subnets (>= 2 AZs), for the ALB and the bastion."),
    privateSubnetIds: z.array(subnetId).min(2, { message: "needs at least 2 subnets (2 AZs)" }).optional()
      .describe("Bring your own VPC: private subnets (>= 2 AZs, same AZ order as publicSubnetIds), for all hosts. They need outbound internet (NAT) for apt."),
    cidrBlock: cidrBlock.optional().describe("CIDR of the created VPC, /16 to /24 (/23 or larger with spotWeb: the VPC is cut into 16 subnets and the ALB needs /27 ones). Default 10.0.0.0/16."),
    availabilityZoneCount: intBetween(2, 6).optional().describe("Number of AZs the created VPC spans. Default 3."),
    natGateways: z.enum(["none", "single", "onePerAz"]).optional()
      .describe("NAT gateways of the created VPC: none, single (default) or onePerAz (survives an AZ outage)."),
  })
  .superRefine((n, ctx) => {
    if (typeof n !== "object" || n === null) return;
    if (n.vpcId !== undefined) {
      for (const k of ["cidrBlock", "availabilityZoneCount", "natGateways"] as const) {
        if (n[k] !== undefined) ctx.addIssue({ code: "custom", path: [k], input: n[k], message: "cannot be combined with network.vpcId (opsfleet creates no VPC then); remove one of them" });
      }
      for (const k of ["publicSubnetIds", "privateSubnetIds"] as const) {
        if (n[k] === undefined) ctx.addIssue({ code: "custom", path: [k], input: undefined, message: "is required when network.vpcId is set" });
      }
      if (Array.isArray(n.publicSubnetIds) && Array.isArray(n.privateSubnetIds) && n.publicSubnetIds.length !== n.privateSubnetIds.length) {
        ctx.addIssue({ code: "custom", path: ["privateSubnetIds"], input: n.privateSubnetIds, message: `must list as many subnets as publicSubnetIds (${n.publicSubnetIds.length}), one per AZ in the same order` });
      }
      const all = [...(Array.isArray(n.publicSubnetIds) ? n.publicSubnetIds : []), ...(Array.isArray(n.privateSubnetIds) ? n.privateSubnetIds : [])];
      const dup = all.find((s, i) => all.indexOf(s) !== i);
      if (dup) ctx.addIssue({ code: "custom", path: ["privateSubnetIds"], input: dup, message: "a subnet cannot be both public and private, or listed twice" });
    } else {
      for (const k of ["publicSubnetIds", "privateSubnetIds"] as const) {
        if (n[k] !== undefined) ctx.addIssue({ code: "custom", path: [k], input: n[k], message: "only applies with network.vpcId (bring your own VPC)" });
      }
      if (typeof n.cidrBlock === "string" && parseCidr(n.cidrBlock) !== undefined) {
        const prefix = Number(n.cidrBlock.split("/")[1]);
        if (prefix < 16 || prefix > 24) ctx.addIssue({ code: "custom", path: ["cidrBlock"], input: n.cidrBlock, message: "must be a /16 to /24 (AWS VPC limits, and room for 16 subnets)" });
      }
    }
  }, { when: () => true })
  .describe("The VPC: created by opsfleet (default) or brought by you.");

// parsed, not pattern-matched: the base64 key must decode to a key of the type it names
// ssh.publicKey becomes an EC2 key pair (RSA/ED25519 only); additional keys only go into authorized_keys
const sshPublicKeyOf = (types: readonly string[]) => z.string().superRefine((k, ctx) => {
  const problem = sshPublicKeyProblem(k, types);
  if (problem) ctx.addIssue({ code: "custom", input: k, message: `is not an OpenSSH public key: ${problem}` });
});

export const sshConfigSchema = z
  .strictObject({
    user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: "must be a Linux user name" }).default("admin")
      .describe("Login user of the AMI, with passwordless sudo (Debian: admin)."),
    publicKey: sshPublicKeyOf(EC2_KEY_TYPES).optional()
      .describe("Public half of sshPrivateKey: seeds new instances (EC2 key pair) and is authorized on every host. Changing it replaces no instance (see README: Rotating the SSH key). Required when any host system is enabled."),
    additionalPublicKeys: z.array(sshPublicKeyOf(AUTHORIZED_KEY_TYPES)).default([])
      .describe("More keys authorized for the login user on every host: the next key during a rotation, or operators' keys."),
  })
  .describe("SSH access for provisioning; the private key is the secret sshPrivateKey.");

export const bastionConfigSchema = z
  .strictObject({
    instanceType: instanceType.default("t3.micro").describe("Bastion instance type."),
  })
  .describe("The SSH jump host in a public subnet.");

/** Secrets: top-level keys, set only with `pulumi config set --secret <key>`. */
export const SECRET_KEYS = {
  sshPrivateKey: "Private key (OpenSSH/PEM) that remote commands log in with; matches ssh.publicKey. Needed by redis, elk, database.",
  redisPassword: "Redis AUTH password (requirepass/masterauth). Needed by redis.",
  elasticPassword: "Password of the Elasticsearch `elastic` user. Needed by elk.",
  dbRootPassword: "Database root password. Needed by database.",
  dbAppPassword: "Password of the application database user. Needed by database.",
} as const;
export type SecretKey = keyof typeof SECRET_KEYS;

/** Characters that survive every config file format and shell we render into, plus the plan's placeholders. */
export const PASSWORD = /^[A-Za-z0-9!%*+,\-./:;=?@^_~<>\[\]{}]{16,128}$/;
/** PASSWORD in words: error messages and docs/redis.md quote this (a test holds all three together). */
export const PASSWORD_RULE = "16-128 characters from A-Z a-z 0-9 and !%*+,-./:;=?@^_~<>[]{} (no spaces, quotes, backslashes, $ or #)";

export const configSchema = z
  .strictObject({
    features: featuresConfigSchema.prefault({}),
    network: networkConfigSchema.prefault({}),
    adminCidrs: z.array(cidrBlock).default([])
      .describe("CIDRs allowed to SSH to the bastion (operators, CI runners). Required when any host system is enabled; never 0.0.0.0/0."),
    ssh: sshConfigSchema.prefault({}),
    bastion: bastionConfigSchema.prefault({}),
    amiIds: z.strictObject({
      x86_64: amiId.optional().describe("AMI for the x86_64 (Intel/AMD) instance types."),
      arm64: amiId.optional().describe("AMI for the arm64 (Graviton) instance types."),
    }).optional().describe("Pinned AMIs, one per CPU architecture, instead of the latest official Debian 12 (pin them in prod to roll images deliberately). An AMI runs only on its architecture: pin one for every architecture the stack's instance types use."),
    amiId: amiId.optional().describe("Removed: one AMI cannot serve x86_64 and arm64 hosts; use amiIds. Setting it is an error that says what to set instead."),
    protectData: z.boolean().default(false).describe("Protect data volumes (Redis, Elasticsearch, database, keys) from deletion; true in prod."),
    tags: z.record(z.string().regex(/^[\w .:/=+@-]{1,128}$/, { message: "tag keys use letters, digits, spaces and _.:/=+-@ (max 128)" }), z.string().max(256))
      .default({}).describe("Tags added to every resource that takes tags."),
    spot: spotConfigSchema.prefault({}).describe("Spot web tier settings (used when features.spotWeb)."),
    redis: redisConfigSchema.prefault({}).describe("Redis Cluster settings (used when features.redis)."),
    elk: elkConfigSchema.prefault({}).describe("Elasticsearch/Logstash settings (used when features.elk)."),
    database: databaseConfigSchema.prefault({}).describe("Encrypted database settings (used when features.database)."),
    alerts: alertsConfigSchema.prefault({}).describe("Alarm notifications and thresholds (every stack has its topic, alarms and dashboard)."),
    backup: backupConfigSchema.prefault({}).describe("Backup settings (used when features.backup)."),
  })
  // Runs even when other keys failed (`when`), so every problem is reported at once; the
  // values may therefore be of the wrong type here, hence the defensive reads.
  .superRefine((c, ctx) => {
    const features = (c.features ?? {}) as Partial<Record<string, unknown>>;
    const network = (c.network ?? {}) as Partial<z.infer<typeof networkConfigSchema>>;
    const adminCidrs = Array.isArray(c.adminCidrs) ? c.adminCidrs : [];
    const hostFeatures = (["redis", "elk", "database"] as const).filter((f) => features[f] === true);
    if (hostFeatures.length > 0) {
      if (adminCidrs.length === 0) {
        ctx.addIssue({ code: "custom", path: ["adminCidrs"], input: c.adminCidrs, message: `must list at least one CIDR: ${hostFeatures.join(", ")} are provisioned over SSH through the bastion` });
      }
      if (c.ssh?.publicKey === undefined) {
        ctx.addIssue({ code: "custom", path: ["ssh", "publicKey"], input: undefined, message: `is required: ${hostFeatures.join(", ")} hosts are provisioned over SSH` });
      }
    }
    const needOutbound = [...(features.spotWeb === true ? ["spotWeb"] : []), ...hostFeatures];
    if (network.vpcId === undefined && network.natGateways === "none" && needOutbound.length > 0) {
      ctx.addIssue({ code: "custom", path: ["network", "natGateways"], input: "none", message: `"none" leaves the private instances (${needOutbound.join(", ")}) without outbound access for apt; use "single" or "onePerAz"` });
    }
    // The database host's subnet must exist: known here from the network settings.
    const subnetIndex = (c.database as { subnetIndex?: unknown } | undefined)?.subnetIndex;
    const privateSubnets = network.vpcId !== undefined
      ? (Array.isArray(network.privateSubnetIds) ? network.privateSubnetIds.length : undefined)
      : (typeof network.availabilityZoneCount === "number" ? network.availabilityZoneCount : 3);
    if (features.database === true && typeof subnetIndex === "number" && privateSubnets !== undefined && subnetIndex >= privateSubnets) {
      ctx.addIssue({ code: "custom", path: ["database", "subnetIndex"], input: subnetIndex, message: `must be below the number of private subnets (${privateSubnets}): allowed 0 to ${privateSubnets - 1}` });
    }
    // The created VPC's subnets must take the ALB (a /24 gives /28s, an ALB needs /27).
    if (features.spotWeb === true && network.vpcId === undefined && typeof network.cidrBlock === "string") {
      const problem = albSubnetProblem(network.cidrBlock);
      if (problem) ctx.addIssue({ code: "custom", path: ["network", "cidrBlock"], input: network.cidrBlock, message: problem });
    }
    // One AMI per architecture: a pinned set must cover every architecture the stack launches.
    const inUse = architecturesInUse(c);
    const describeUse = (a: string) => (inUse.get(a as never) ?? []).map((u) => `${NS}${u.key}=${u.type}`).join(", ");
    if (c.amiId !== undefined) {
      const wanted = [...inUse.keys()].map((a) => `${a}: <${a} AMI>`).join(", ");
      ctx.addIssue({
        code: "custom", path: ["amiId"], input: c.amiId,
        message: `is replaced by ${NS}amiIds (one AMI per CPU architecture; an AMI runs only on its own); this stack uses ${[...inUse.keys()].map((a) => `${a} (${describeUse(a)})`).join(" and ") || "no hosts"}: set ${NS}amiIds: { ${wanted} } and remove ${NS}amiId`,
      });
    }
    const amiIds = c.amiIds as Partial<Record<string, unknown>> | undefined;
    if (amiIds !== undefined && amiIds !== null && typeof amiIds === "object") {
      for (const a of ARCHITECTURES) {
        if (inUse.has(a) && amiIds[a] === undefined) {
          ctx.addIssue({
            code: "custom", path: ["amiIds", a], input: undefined,
            message: `no ${a} AMI pinned, but ${describeUse(a)} ${inUse.get(a)!.length > 1 ? "are" : "is"} ${a}; allowed: an ${a} AMI id here, or only ${Object.keys(amiIds).join("/") || "pinned"}-architecture instance types`,
          });
        }
      }
    }
    // the on-demand-in-use alarm must outlast a normal failover's hand-back
    const stabilization = (c.spot as { stabilizationSeconds?: unknown } | undefined)?.stabilizationSeconds;
    const onDemandMax = (c.alerts as { thresholds?: { onDemandMaxMinutes?: unknown } } | undefined)?.thresholds?.onDemandMaxMinutes;
    if (features.spotWeb === true && typeof stabilization === "number" && typeof onDemandMax === "number" && Number.isInteger(onDemandMax) && onDemandMax % 5 === 0 && onDemandMax >= 5) {
      const problem = onDemandMaxMinutesProblem(stabilization, onDemandMax);
      if (problem) ctx.addIssue({ code: "custom", path: ["alerts", "thresholds", "onDemandMaxMinutes"], input: onDemandMax, message: problem });
    }
    adminCidrs.forEach((a, i) => {
      if (a === "0.0.0.0/0") ctx.addIssue({ code: "custom", path: ["adminCidrs", i], input: a, message: "must not open SSH to the whole internet; list your office/VPN/CI ranges" });
      else if (typeof network.cidrBlock === "string" && typeof a === "string" && cidrsOverlap(a, network.cidrBlock)) {
        ctx.addIssue({ code: "custom", path: ["adminCidrs", i], input: a, message: `overlaps the VPC ${network.cidrBlock}; admin CIDRs are outside addresses` });
      }
    });
  }, { when: () => true });

export type OpsfleetConfig = z.infer<typeof configSchema>;

const NS = "opsfleet:";
