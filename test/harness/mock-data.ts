/**
 * Canned provider behaviour shared by the test harness and the offline plan (`tools/plan.ts`):
 * what AWS would compute for a resource (ids, ARNs, IPs) and the answers to the data sources the
 * program calls. Unknown invokes throw: a new lookup must be added here deliberately.
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
let ipCounter = 10;

function arn(service: string, resource: string): string {
  return `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
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
  switch (a.type) {
    case "aws:ec2/instance:Instance": {
      const n = ipCounter++;
      const az = a.inputs.availabilityZone ?? `${REGION}a`;
      return {
        privateIp: `10.0.${Math.floor(n / 250)}.${(n % 250) + 2}`,
        publicIp: a.inputs.associatePublicIpAddress ? `203.0.113.${(n % 250) + 2}` : "",
        availabilityZone: az,
        arn: arn("ec2", `instance/i-${a.name}`),
        primaryNetworkInterfaceId: `eni-${a.name}`,
      };
    }
    case "aws:ec2/networkInterface:NetworkInterface": {
      const n = ipCounter++;
      return { privateIp: `10.0.${Math.floor(n / 250)}.${(n % 250) + 2}`, arn: arn("ec2", `network-interface/eni-${a.name}`) };
    }
    case "aws:ec2/vpc:Vpc":
      return { arn: arn("ec2", `vpc/${id}`), defaultSecurityGroupId: `sg-default-${a.name}` };
    case "aws:ec2/subnet:Subnet":
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
      return { arn: arn("elasticloadbalancing", `loadbalancer/app/${a.name}/0123456789abcdef`), dnsName: `${a.name}.${REGION}.elb.amazonaws.com`, zoneId: "Z35SXDOTRQ7X7K", arnSuffix: `app/${a.name}/0123456789abcdef` };
    case "aws:lb/targetGroup:TargetGroup":
      return { arn: arn("elasticloadbalancing", `targetgroup/${a.name}/0123456789abcdef`), arnSuffix: `targetgroup/${a.name}/0123456789abcdef` };
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::${ACCOUNT}:role/${a.inputs.name ?? a.name}`, name: a.inputs.name ?? a.name };
    case "aws:iam/instanceProfile:InstanceProfile":
      return { arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${a.name}`, name: a.inputs.name ?? a.name };
    case "aws:lambda/function:Function":
      return { arn: arn("lambda", `function:${a.inputs.name ?? a.name}`), name: a.inputs.name ?? a.name, invokeArn: `arn:aws:apigateway:${REGION}:lambda:path/${a.name}` };
    case "aws:cloudwatch/eventRule:EventRule":
      return { arn: arn("events", `rule/${a.inputs.name ?? a.name}`), name: a.inputs.name ?? a.name };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { arn: arn("logs", `log-group:${a.inputs.name ?? a.name}`) };
    case "aws:sqs/queue:Queue":
      return { arn: arn("sqs", a.inputs.name ?? a.name), url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${a.name}` };
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
export function mockInvoke(token: string, inputs: Record<string, any>): Record<string, unknown> {
  switch (token) {
    case "aws:ec2/getAmi:getAmi": {
      const arch = (inputs.filters ?? []).find((f: any) => f.name === "architecture")?.values?.[0] ?? "x86_64";
      return { id: DEBIAN_12_AMI[arch] ?? DEBIAN_12_AMI.x86_64, architecture: arch, name: `debian-12-${arch}-20261101-1000` };
    }
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { names: [`${REGION}a`, `${REGION}b`, `${REGION}c`, `${REGION}d`], zoneIds: ["use1-az1", "use1-az2", "use1-az4", "use1-az6"], id: REGION };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/plan`, userId: "AIDPLAN", id: ACCOUNT };
    case "aws:index/getRegion:getRegion":
      return { name: REGION, region: REGION, id: REGION };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:ec2/getSubnet:getSubnet":
      return { id: inputs.id, availabilityZone: `${REGION}a`, cidrBlock: "10.0.0.0/20" };
    case "aws:ec2/getVpc:getVpc":
      return { id: inputs.id ?? "vpc-existing", cidrBlock: "10.20.0.0/16" };
    case "aws:iam/getPolicyDocument:getPolicyDocument":
      throw new Error("use inline JSON policies (aws.iam.getPolicyDocument is not mocked: keep policies reviewable in the plan)");
    default:
      throw new Error(`unmocked invoke ${token}: add it to test/harness/mock-data.ts`);
  }
}
