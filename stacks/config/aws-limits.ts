/**
 * Values AWS or the services reject, checked before anything is created. Pure functions returning
 * "why not; allowed: …" (or undefined) for the schema to report at the key that carries the value.
 */
import { cidrSubnet, parseCidr } from "../../components/cidr";

/** gp3 limits (EC2 CreateVolume): 3,000-80,000 IOPS, at most 500 IOPS per GiB; 125-2,000 MiB/s, at most 0.25 MiB/s per IOPS. */
export const GP3 = { minIops: 3000, maxIops: 80000, iopsPerGiB: 500, minThroughput: 125, maxThroughput: 2000, throughputPerIops: 0.25 } as const;

/** Highest IOPS a gp3 volume of this size takes: 3,000 always, up to 500 per GiB, at most 80,000. */
export const gp3MaxIops = (sizeGiB: number) => Math.max(GP3.minIops, Math.min(GP3.maxIops, GP3.iopsPerGiB * sizeGiB));
/** Highest throughput (MiB/s) at these IOPS: 125 always, up to 0.25 per IOPS, at most 2,000. */
export const gp3MaxThroughput = (iops: number) => Math.max(GP3.minThroughput, Math.min(GP3.maxThroughput, Math.floor(GP3.throughputPerIops * iops)));

export function gp3IopsProblem(iops: number, sizeGiB: number): string | undefined {
  const max = gp3MaxIops(sizeGiB);
  if (iops >= GP3.minIops && iops <= max) return undefined;
  return `${iops} IOPS is not possible on a ${sizeGiB} GiB gp3 volume (AWS: ${GP3.minIops} to ${GP3.maxIops} IOPS, at most ${GP3.iopsPerGiB} per GiB); allowed: ${GP3.minIops} to ${max}`;
}

export function gp3ThroughputProblem(throughputMiBps: number, iops: number): string | undefined {
  const max = gp3MaxThroughput(iops);
  if (throughputMiBps >= GP3.minThroughput && throughputMiBps <= max) return undefined;
  return `${throughputMiBps} MiB/s is not possible at ${iops} IOPS on gp3 (AWS: ${GP3.minThroughput} to ${GP3.maxThroughput} MiB/s, at most ${GP3.throughputPerIops} MiB/s per IOPS); allowed: ${GP3.minThroughput} to ${max}`;
}

/** Logstash warns when workers x batch size exceeds this many in-flight events (heap pressure). */
export const LOGSTASH_MAX_IN_FLIGHT = 10000;

export function logstashInFlightProblem(workers: number, batchSize: number): string | undefined {
  const n = workers * batchSize;
  if (n <= LOGSTASH_MAX_IN_FLIGHT) return undefined;
  return `${workers} workers x ${batchSize} = ${n} in-flight events, above the ${LOGSTASH_MAX_IN_FLIGHT} Logstash warns about (each worker holds a whole batch in the heap); allowed: batchSize at most ${Math.floor(LOGSTASH_MAX_IN_FLIGHT / workers)} with ${workers} workers`;
}

/** An ALB needs a subnet of /27 or larger with at least 8 free addresses in every AZ it uses. */
export const ALB_MIN_SUBNET_PREFIX = 27;

/** The created VPC is cut into 16 blocks (components/cidr.ts subnetLayout): a /24 gives /28 subnets. */
export function albSubnetProblem(vpcCidr: string): string | undefined {
  if (!parseCidr(vpcCidr)) return undefined;
  const subnet = cidrSubnet(vpcCidr, 4, 0);
  const prefix = Number(subnet.split("/")[1]);
  if (prefix <= ALB_MIN_SUBNET_PREFIX) return undefined;
  return `is cut into /${prefix} subnets (16 per VPC, ${2 ** (32 - prefix) - 5} usable addresses each), but the web tier's ALB needs /${ALB_MIN_SUBNET_PREFIX} or larger subnets with 8 free addresses; allowed: /16 to /${ALB_MIN_SUBNET_PREFIX - 4} while features.spotWeb is on`;
}

/**
 * AWS regions (commercial, GovCloud, China), from the AWS regions list. A region AWS adds later is
 * an error until it is added here: the error names it, so the fix is one line.
 */
export const AWS_REGIONS = [
  "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
  "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
  "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
  "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1", "il-central-1", "me-south-1",
  "me-central-1", "mx-central-1", "sa-east-1", "us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1",
] as const;

export function regionProblem(region: string): string | undefined {
  if ((AWS_REGIONS as readonly string[]).includes(region)) return undefined;
  return `${JSON.stringify(region)} is not an AWS region; allowed: ${AWS_REGIONS.join(", ")}`;
}

/** ACM certificates are regional: an ALB takes only one from its own region. */
export function certificateRegionProblem(certificateArn: string, region: string): string | undefined {
  const certRegion = certificateArn.split(":")[3];
  if (certRegion === undefined || certRegion === region) return undefined;
  return `is in ${certRegion}, but the stack (aws:region) is ${region}: an ALB takes only certificates of its own region; allowed: an ACM certificate ARN in ${region} (request or import one there)`;
}

/** EC2 ImportKeyPair (aws.ec2.KeyPair) takes only RSA and ED25519 keys. */
export const EC2_KEY_TYPES = ["ssh-ed25519", "ssh-rsa"] as const;
/** authorized_keys (OpenSSH on the hosts) also takes ECDSA and FIDO security-key (sk-) keys. */
export const AUTHORIZED_KEY_TYPES = [
  ...EC2_KEY_TYPES, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
] as const;

/**
 * An OpenSSH public key line: `<type> <base64 blob> [comment]`, where the blob decodes to the SSH
 * wire format whose first field repeats the type (RFC 4253 6.6), with the key data after it.
 * `types`: EC2_KEY_TYPES for the key pair (ssh.publicKey), AUTHORIZED_KEY_TYPES for authorized_keys only.
 */
export function sshPublicKeyProblem(line: string, types: readonly string[] = EC2_KEY_TYPES): string | undefined {
  const ec2 = types.every((t) => (EC2_KEY_TYPES as readonly string[]).includes(t));
  const allowed = `allowed: one OpenSSH public key line, ${types.join(" / ")} followed by its base64 key (the .pub file's content)`;
  if (line.includes("PRIVATE KEY")) return `is a private key, not a public key; ${allowed}`;
  const lines = line.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length > 1) return `holds ${lines.length} key lines, not one; ${allowed}${ec2 ? " (more keys go in ssh.additionalPublicKeys)" : ""}`;
  const [type, blob] = line.trim().split(/\s+/);
  if (!types.includes(type)) {
    if (ec2 && (AUTHORIZED_KEY_TYPES as readonly string[]).includes(type)) return `key type ${JSON.stringify(type)} cannot be imported: EC2 key pairs accept ssh-rsa or ssh-ed25519 (an ${type} key may go in ssh.additionalPublicKeys); ${allowed}`;
    return `key type ${JSON.stringify(type ?? "")} is not one ${ec2 ? "EC2 imports (EC2 key pairs accept ssh-rsa or ssh-ed25519)" : "OpenSSH authorizes"}; ${allowed}`;
  }
  if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || blob.length % 4 !== 0) return `the key after ${type} is not base64; ${allowed}`;
  const buf = Buffer.from(blob, "base64");
  const n = buf.length >= 4 ? buf.readUInt32BE(0) : -1;
  const inner = n >= 0 && 4 + n <= buf.length ? buf.subarray(4, 4 + n).toString("latin1") : undefined;
  if (inner !== type) return `the key data does not belong to a ${type} key (it ${inner === undefined ? "is truncated" : `says ${JSON.stringify(inner.slice(0, 30))}`}); ${allowed}`;
  const minBody: Record<string, number> = { "ssh-ed25519": 4 + 32, "ssh-rsa": 4 + 1 + 4 + 128 };
  if (buf.length - 4 - n < (minBody[type] ?? 4 + 33)) return `the ${type} key data is truncated; ${allowed}`;
  return undefined;
}
