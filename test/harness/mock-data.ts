/**
 * Canned provider behaviour shared by the test harness and the offline plan (`tools/plan.ts`):
 * what AWS would compute for a resource (ids, ARNs, IPs) and the answers to the data sources the
 * program calls. Unknown invokes throw: a new lookup must be added here deliberately.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

export const ACCOUNT = "123456789012";
/** Mock VPC CIDR of a brought-your-own VPC (aws.ec2.getVpc). */
const EXISTING_VPC_CIDR = "10.20.0.0/16";

/** The stack's region (`aws:region`), so ARNs, AZs and DNS names read like that region's. */
function region(): string {
  return pulumi.runtime.allConfig()["aws:region"] || "us-east-1";
}

/** Starts a new deterministic run (addresses handed out from the start again): one call per plan. */
export function resetMockData(): void {
  subnets.clear();
  nextHost.clear();
  interfaces.clear();
  liveHealthCheckPaths.clear();
  liveInstancesOnEnis.clear();
}

function arn(service: string, resource: string): string {
  return `arn:aws:${service}:${region()}:${ACCOUNT}:${resource}`;
}

/** eu-west-1 -> euw1, ap-southeast-2 -> apse2: AWS's prefix of AZ ids. */
function zoneIdPrefix(r: string): string {
  const [geo, dir = "", n = ""] = r.split("-");
  return geo + dir.replace("north", "n").replace("south", "s").replace("east", "e").replace("west", "w").replace("central", "c") + n;
}

/** The ALB's canonical hosted zone per region (Route53 alias targets). */
const ALB_ZONE_IDS: Record<string, string> = { "us-east-1": "Z35SXDOTRQ7X7K", "eu-west-1": "Z32O12XQLNTSW2", "eu-central-1": "Z215JYRZR1TBD5" };

/** Subnets created so far (mock id -> CIDR, AZ): instances get addresses from their subnet's range. */
const subnets = new Map<string, { cidr: string; az?: string }>();
const nextHost = new Map<string, number>();
/** Network interfaces created so far (mock id -> address, subnet). */
const interfaces = new Map<string, { privateIp: string; subnetId: string }>();

/**
 * A change preview's provider answers with another id than the fresh one (a kept resource: its deployed id;
 * a replaced one: a new id) and may keep outputs (a kept interface's address). Lookups by that id
 * (aws.ec2.getSubnet, an instance on that interface) must answer from what the plan created: a replaced
 * subnet keeps its AZ and CIDR, never the fallback. `state`: the inputs as Pulumi keeps them.
 */
export function recordAnswer(a: pulumi.runtime.MockResourceArgs, id: string, outputs: Record<string, unknown>, state: Record<string, any> = a.inputs): void {
  const fresh = mockId(a);
  // What AWS has is the state (an ignored path keeps its deployed value), not what the program now says.
  if (a.type === "aws:lb/targetGroup:TargetGroup" && typeof outputs.arn === "string") liveHealthCheckPaths.set(outputs.arn, state.healthCheck?.path);
  if (a.type === "aws:ec2/subnet:Subnet" && subnets.has(fresh)) subnets.set(id, subnets.get(fresh)!);
  const instanceEni = state.primaryNetworkInterface?.networkInterfaceId;
  if (a.type === "aws:ec2/instance:Instance" && typeof instanceEni === "string") liveInstancesOnEnis.set(instanceEni, id);
  if (a.type === "aws:ec2/networkInterface:NetworkInterface" && interfaces.has(fresh)) {
    const eni = interfaces.get(fresh)!;
    interfaces.set(id, { ...eni, privateIp: typeof outputs.privateIp === "string" ? outputs.privateIp : eni.privateIp });
  }
}

/** The next free address of a CIDR, after the 4 AWS reserves at the start (and a few more, like DHCP'd hosts). */
function nextAddress(cidr: string): string {
  const n = (nextHost.get(cidr) ?? 9) + 1;
  nextHost.set(cidr, n);
  const v = cidr.split("/")[0].split(".").reduce((a, o) => a * 256 + Number(o), 0) + n;
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join(".");
}

/** Resource ids where the plan shows them inside rendered scripts: shaped like AWS's (vol-0123...). */
export function mockId(a: pulumi.runtime.MockResourceArgs): string {
  if (a.id) return a.id;
  if (a.type === "aws:ebs/volume:Volume") {
    let h = 0;
    for (const c of a.name) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
    return `vol-0${h.toString(16).padStart(8, "0")}${"0".repeat(8)}`;
  }
  return `${a.name}-id`;
}

/** Provider-computed output properties per resource type (merged over the echoed inputs). */
export function computedOutputs(a: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const id = `${a.name}-id`;
  const REGION = region();
  switch (a.type) {
    case "aws:ec2/instance:Instance": {
      // an instance on its own network interface (components/host.ts) has that interface's address
      const eni = interfaces.get(a.inputs.primaryNetworkInterface?.networkInterfaceId);
      const subnet = subnets.get(eni?.subnetId ?? a.inputs.subnetId);
      const privateIp = eni?.privateIp ?? nextAddress(subnet?.cidr ?? EXISTING_VPC_CIDR);
      const az = a.inputs.availabilityZone ?? subnet?.az ?? `${REGION}a`;
      return {
        privateIp,
        publicIp: a.inputs.associatePublicIpAddress ? `203.0.113.${Number(privateIp.split(".")[3]) % 250 + 2}` : "",
        availabilityZone: az,
        arn: arn("ec2", `instance/i-${a.name}`),
        primaryNetworkInterfaceId: a.inputs.primaryNetworkInterface?.networkInterfaceId ?? `eni-${a.name}`,
      };
    }
    case "aws:ec2/networkInterface:NetworkInterface": {
      const subnet = subnets.get(a.inputs.subnetId);
      const privateIp = nextAddress(subnet?.cidr ?? EXISTING_VPC_CIDR);
      interfaces.set(mockId(a), { privateIp, subnetId: a.inputs.subnetId });
      return { privateIp, arn: arn("ec2", `network-interface/eni-${a.name}`) };
    }
    case "aws:ec2/vpc:Vpc":
      return { arn: arn("ec2", `vpc/${id}`), defaultSecurityGroupId: `sg-default-${a.name}` };
    case "aws:ec2/subnet:Subnet":
      if (typeof a.inputs.cidrBlock === "string") subnets.set(mockId(a), { cidr: a.inputs.cidrBlock, az: a.inputs.availabilityZone });
      return { arn: arn("ec2", `subnet/${id}`) };
    case "aws:ec2/securityGroup:SecurityGroup":
      return { arn: arn("ec2", `security-group/sg-${a.name}`) };
    case "aws:ec2/eip:Eip":
      return { publicIp: "198.51.100.10", allocationId: `eipalloc-${a.name}` };
    case "aws:ec2/keyPair:KeyPair":
      return { keyName: a.inputs.keyName ?? a.name, arn: arn("ec2", `key-pair/${a.name}`) };
    case "aws:ebs/volume:Volume":
      return { arn: arn("ec2", `volume/vol-${a.name}`) };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { arn: arn("ec2", `launch-template/lt-${a.name}`), latestVersion: 1 };
    case "aws:ec2/spotFleetRequest:SpotFleetRequest":
      return { arn: arn("ec2", `spot-fleet-request/sfr-${a.name}`) };
    case "aws:autoscaling/group:Group":
      return {
        arn: `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:uuid-${a.name}:autoScalingGroupName/${a.inputs.name ?? a.name}`,
        name: a.inputs.name ?? a.name,
      };
    case "aws:lb/loadBalancer:LoadBalancer":
      return { arn: arn("elasticloadbalancing", `loadbalancer/app/${a.name}/0123456789abcdef`), dnsName: `${a.name}.${REGION}.elb.amazonaws.com`, zoneId: ALB_ZONE_IDS[REGION] ?? "Z35SXDOTRQ7X7K", arnSuffix: `app/${a.name}/0123456789abcdef` };
    case "aws:lb/targetGroup:TargetGroup": {
      const tgArn = arn("elasticloadbalancing", `targetgroup/${a.name}/0123456789abcdef`);
      if (!liveHealthCheckPaths.has(tgArn)) liveHealthCheckPaths.set(tgArn, a.inputs.healthCheck?.path); // created with it
      return { arn: tgArn, arnSuffix: `targetgroup/${a.name}/0123456789abcdef` };
    }
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::${ACCOUNT}:role/${a.inputs.name ?? a.name}`, name: a.inputs.name ?? a.name };
    case "aws:iam/instanceProfile:InstanceProfile":
      return { arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${a.name}`, name: a.inputs.name ?? a.name };
    case "aws:lambda/function:Function":
      return { arn: arn("lambda", `function:${a.inputs.name ?? a.name}`), name: a.inputs.name ?? a.name, invokeArn: `arn:aws:apigateway:${REGION}:lambda:path/${a.name}` };
    case "aws:cloudwatch/eventRule:EventRule":
      return { arn: arn("events", `rule/${a.inputs.name ?? a.name}`), name: a.inputs.name ?? a.name };
    case "aws:cloudwatch/logGroup:LogGroup": {
      const name = a.inputs.name ?? (a.inputs.namePrefix !== undefined ? `${a.inputs.namePrefix}20261101a1b2c3d4e5f6a7b8c9` : a.name); // the provider's prefix + unique id
      return { arn: arn("logs", `log-group:${name}`), name };
    }
    case "aws:sqs/queue:Queue":
      return { arn: arn("sqs", a.inputs.name ?? a.name), url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${a.name}` };
    case "aws:s3/bucket:Bucket": {
      const bucket = a.inputs.bucket ?? `${a.name}-20261101a1b2c3`; // Pulumi's auto-name: name + random suffix
      return { bucket, arn: `arn:aws:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.${REGION}.amazonaws.com` };
    }
    case "aws:kms/key:Key":
      return { arn: arn("kms", `key/${a.name}-0000-4000-8000-000000000000`), keyId: `${a.name}-0000-4000-8000-000000000000` };
    case "aws:ssm/parameter:Parameter":
      return { arn: arn("ssm", `parameter${a.inputs.name}`) };
    case "command:remote:Command":
      return { stdout: "", stderr: "" };
    case "tls:index/privateKey:PrivateKey":
      return {
        privateKeyPem: `<secret:tls-private-key:${a.name}>`,
        publicKeyPem: `<tls-public-key:${a.name}>`,
        // OpenSSH shapes (what cloud-init and the SSH host key pin read); the key material is a stand-in
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n<secret:tls-private-key:${a.name}>\n-----END OPENSSH PRIVATE KEY-----\n`,
        publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5${createHash("sha256").update(a.name).digest("base64").replace(/=+$/, "")}\n`,
      };
    case "tls:index/selfSignedCert:SelfSignedCert":
      return { certPem: `<tls-certificate:${a.name}>` };
    case "tls:index/certRequest:CertRequest":
      return { certRequestPem: `<tls-csr:${a.name}>` };
    case "tls:index/locallySignedCert:LocallySignedCert":
      return { certPem: `<tls-certificate:${a.name}>` };
    default:
      if (a.type.startsWith("aws:")) return { arn: arn(a.type.split(":")[1].split("/")[0], a.name) };
      return {};
  }
}

const DEBIAN_12_AMI: Record<string, string> = { x86_64: "ami-0debian12amd64000", arm64: "ami-0debian12arm64000" };

/** Answers to the data sources (invokes) the program calls. */
/**
 * Health check path of each mocked target group as AWS has it: the path it was created with, unless a
 * test changed it as the spot reconciler does at run time (ModifyTargetGroup).
 */
export const liveHealthCheckPaths = new Map<string, string | undefined>();

/**
 * Instances EC2 has attached to network interfaces, by interface id: empty is a first `up` (nothing
 * launched yet); a test of a later `up` adds the instances that run by then.
 */
export const liveInstancesOnEnis = new Map<string, string>();

export function mockInvoke(token: string, inputs: Record<string, any>): Record<string, unknown> {
  const REGION = region();
  switch (token) {
    case "aws:lb/getTargetGroup:getTargetGroup":
      return { arn: inputs.arn, id: inputs.arn, healthCheck: { path: liveHealthCheckPaths.get(inputs.arn) ?? "/" } };
    case "aws:ec2/getAmi:getAmi": {
      const arch = (inputs.filters ?? []).find((f: any) => f.name === "architecture")?.values?.[0] ?? "x86_64";
      return { id: DEBIAN_12_AMI[arch] ?? DEBIAN_12_AMI.x86_64, architecture: arch, name: `debian-12-${arch}-20261101-1000` };
    }
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { names: [`${REGION}a`, `${REGION}b`, `${REGION}c`, `${REGION}d`], zoneIds: [1, 2, 3, 4].map((n) => `${zoneIdPrefix(REGION)}-az${n}`), id: REGION };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/plan`, userId: "AIDPLAN", id: ACCOUNT };
    case "aws:index/getRegion:getRegion":
      return { name: REGION, region: REGION, id: REGION };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:ec2/getSubnet:getSubnet": {
      const subnet = subnets.get(inputs.id);
      return { id: inputs.id, availabilityZone: subnet?.az ?? `${REGION}a`, cidrBlock: subnet?.cidr ?? EXISTING_VPC_CIDR };
    }
    case "aws:ec2/getInstances:getInstances": {
      const enis: string[] = (inputs.filters ?? []).find((f: any) => f.name === "network-interface.network-interface-id")?.values ?? [];
      const ids = enis.map((e) => liveInstancesOnEnis.get(e)).filter((x): x is string => x !== undefined);
      return { id: REGION, ids, privateIps: [], publicIps: [], ipv6Addresses: [] };
    }
    case "aws:ec2/getVpc:getVpc":
      return { id: inputs.id ?? "vpc-existing", cidrBlock: EXISTING_VPC_CIDR };
    case "aws:iam/getPolicyDocument:getPolicyDocument":
      throw new Error("use inline JSON policies (aws.iam.getPolicyDocument is not mocked: keep policies reviewable in the plan)");
    default:
      throw new Error(`unmocked invoke ${token}: add it to test/harness/mock-data.ts`);
  }
}

/**
 * A resource's URN as Pulumi's engine forms it: the parent's whole qualified type chain, then ours
 * (`urn:pulumi:prod::opsfleet::opsfleet:index:RedisCluster$opsfleet:index:Host$aws:ec2/instance:Instance::prod-redis-0`);
 * the stack resource is never a prefix. (The SDK's mock monitor keeps only the parent's own type.)
 */
export function pulumiUrn(stack: string, project: string, parentUrn: string | undefined, type: string, name: string): string {
  const parentType = parentUrn ? parentUrn.split("::")[2] : undefined;
  const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** After `pulumi.runtime.setMocks`: registrations get the URNs the engine would give them (`pulumiUrn`). */
export function usePulumiUrns(): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as { newUrn?: (parent: string, type: string, name: string) => string } | undefined;
  if (typeof monitor?.newUrn !== "function") throw new Error("usePulumiUrns: the runtime has no mock monitor (call pulumi.runtime.setMocks first)");
  monitor.newUrn = (parent, type, name) => pulumiUrn(pulumi.getStack(), pulumi.getProject(), parent || undefined, type, name);
}
