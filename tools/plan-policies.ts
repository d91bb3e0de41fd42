/**
 * Security checks over the offline plan (what a reviewer or a policy pack would check at preview
 * time): IMDSv2, encryption, no internet-open data ports, least-privilege IAM, secret-safe remote
 * commands. `npm run plan` reports violations; the tests require none for every stack.
 */
import type { Plan, PlanResource } from "./plan-core";

/** Ports that may face the internet: only the ALB's HTTP(S). */
const PUBLIC_PORTS = new Set([80, 443]);
const OPEN = new Set(["0.0.0.0/0", "::/0"]);
const READ_ONLY_ACTION = /^[a-z0-9-]+:(Describe|Get|List)[A-Za-z]*$/;
const BROAD_MANAGED = /(AdministratorAccess|PowerUserAccess|FullAccess)$/;

function unwrap(v: unknown): any {
  if (v && typeof v === "object" && "$secret" in (v as object)) return unwrap((v as { $secret: unknown }).$secret);
  return v;
}

function portsOpenToWorld(rule: any): boolean {
  const cidrs = [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? []), rule.cidrIpv4, rule.cidrIpv6].filter(Boolean);
  if (!cidrs.some((c: string) => OPEN.has(c))) return false;
  const from = Number(rule.fromPort ?? 0);
  const to = Number(rule.toPort ?? 65535);
  if (rule.protocol === "-1" || rule.ipProtocol === "-1") return true;
  for (let p = from; p <= Math.min(to, from + 70000); p++) if (!PUBLIC_PORTS.has(p)) return true;
  return false;
}

function statements(doc: unknown): any[] {
  const d = typeof doc === "string" ? JSON.parse(doc) : doc;
  if (!d) return [];
  return Array.isArray(d.Statement) ? d.Statement : [d.Statement];
}

/** `StringEquals: { "cloudwatch:namespace": <named namespaces, no wildcard> }`. */
function namespaceScoped(condition: any): boolean {
  const values = [].concat(condition?.StringEquals?.["cloudwatch:namespace"] ?? []) as unknown[];
  return values.length > 0 && values.every((n) => typeof n === "string" && n !== "" && !/[*?]/.test(n));
}

function check(r: PlanResource): string[] {
  const v: string[] = [];
  const i = r.inputs as Record<string, any>;
  const where = `${r.type} ${r.name}`;
  switch (r.type) {
    case "aws:ec2/instance:Instance":
      if (i.metadataOptions?.httpTokens !== "required") v.push(`${where}: IMDSv2 not required (metadataOptions.httpTokens)`);
      if (i.rootBlockDevice?.encrypted !== true) v.push(`${where}: root volume not encrypted`);
      for (const b of i.ebsBlockDevices ?? []) if (b.encrypted !== true) v.push(`${where}: EBS block device ${b.deviceName} not encrypted`);
      break;
    case "aws:ec2/launchTemplate:LaunchTemplate":
      if (i.metadataOptions?.httpTokens !== "required") v.push(`${where}: IMDSv2 not required (metadataOptions.httpTokens)`);
      for (const b of i.blockDeviceMappings ?? []) if (String(b.ebs?.encrypted) !== "true") v.push(`${where}: block device ${b.deviceName} not encrypted`);
      break;
    case "aws:ebs/volume:Volume":
      if (i.encrypted !== true) v.push(`${where}: volume not encrypted`);
      break;
    case "aws:ec2/securityGroup:SecurityGroup":
      for (const rule of i.ingress ?? []) if (portsOpenToWorld(rule)) v.push(`${where}: ingress ${rule.fromPort}-${rule.toPort} open to the internet`);
      break;
    case "aws:ec2/securityGroupRule:SecurityGroupRule":
      if (i.type === "ingress" && portsOpenToWorld(i)) v.push(`${where}: ingress ${i.fromPort}-${i.toPort} open to the internet`);
      break;
    case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
      if (portsOpenToWorld(i)) v.push(`${where}: ingress ${i.fromPort}-${i.toPort} open to the internet`);
      break;
    case "aws:iam/rolePolicy:RolePolicy":
    case "aws:iam/policy:Policy":
      for (const s of statements(unwrap(i.policy))) {
        if (s.Effect !== "Allow") continue;
        const actions: string[] = [].concat(s.Action ?? []);
        const resources: string[] = [].concat(s.Resource ?? []);
        for (const a of actions) {
          if (a === "*" || /:\*$/.test(a)) v.push(`${where}: wildcard action ${a}`);
          else if (a === "cloudwatch:PutMetricData" && resources.includes("*")) {
            // PutMetricData has no resource ARN: "*" is fine only when a namespace condition scopes it
            if (!namespaceScoped(s.Condition)) v.push(`${where}: cloudwatch:PutMetricData on Resource "*" without a cloudwatch:namespace condition`);
          } else if (!READ_ONLY_ACTION.test(a) && resources.includes("*")) v.push(`${where}: write action ${a} on Resource "*"`);
        }
      }
      break;
    case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
      if (BROAD_MANAGED.test(String(unwrap(i.policyArn)))) v.push(`${where}: broad managed policy ${i.policyArn}`);
      break;
    case "aws:iam/role:Role":
      for (const arn of i.managedPolicyArns ?? []) if (BROAD_MANAGED.test(String(arn))) v.push(`${where}: broad managed policy ${arn}`);
      break;
    case "command:remote:Command": {
      if (!r.options.deletedWith) v.push(`${where}: remote command without deletedWith (its delete would SSH to a destroyed host)`);
      if (JSON.stringify(i.create ?? "").includes("<secret:")) v.push(`${where}: a secret appears in the command text`);
      const stdinSecret = i.stdin && typeof i.stdin === "object" && "$secret" in i.stdin;
      if (stdinSecret && unwrap(i.logging) !== "none") v.push(`${where}: secret stdin but logging is ${JSON.stringify(i.logging)}`);
      if (!r.options.additionalSecretOutputs.includes("stdout")) v.push(`${where}: stdout not marked secret`);
      break;
    }
    case "aws:lambda/function:Function": {
      const m = /^nodejs(\d+)\.x$/.exec(String(i.runtime));
      if (!m || Number(m[1]) < 22) v.push(`${where}: runtime ${i.runtime} (Node.js 22 or newer required)`);
      break;
    }
  }
  return v;
}

export function planViolations(plan: Pick<Plan, "resources">): string[] {
  return plan.resources.flatMap(check);
}
