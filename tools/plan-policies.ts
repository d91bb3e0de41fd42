/**
 * Security checks over the offline plan (what a reviewer or a policy pack would check at preview
 * time): IMDSv2, encryption, no internet-open data ports, least-privilege IAM, secret-safe remote
 * commands. `npm run plan` reports violations; the tests require none for every stack.
 */
import type { Plan, PlanResource } from "./plan-core";
import { mockId } from "../test/harness/mock-data";
import { cidrsOverlap, parseCidr } from "../components/cidr";
import { hostMetricsNamespace } from "../provision/monitoring/namespace";

/** Ports that may face the internet: only the ALB's HTTP(S). */
const PUBLIC_PORTS = new Set([80, 443]);
const OPEN = new Set(["0.0.0.0/0", "::/0"]);
const READ_ONLY_ACTION = /^[a-z0-9-]+:(Describe|Get|List)[A-Za-z]*$/;
/** DLM PolicyDescription and schedule Name: [0-9A-Za-z _-]+ (500 and 120 characters at most). */
const DLM_TEXT = /^[0-9A-Za-z _-]+$/;
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

/** Every value of a condition key, under any operator (e.g. "aws:SourceArn" under ArnEquals or ArnLike). */
function conditionValues(condition: any, key: string): unknown[] {
  return Object.values(condition ?? {}).flatMap((byKey: any) => [].concat(byKey?.[key] ?? []));
}

/**
 * Resource policies (KMS keys, SNS topics): no Allow to everyone; an AWS service principal only for
 * named sources of this account (aws:SourceAccount and aws:SourceArn without wildcards: a prefix
 * like `alarm:dev-*` also admits stack dev-eu's alarms).
 */
function resourcePolicy(where: string, doc: unknown): string[] {
  const v: string[] = [];
  for (const s of statements(doc)) {
    if (s.Effect !== "Allow") continue;
    const p = s.Principal;
    if (p === "*" || [].concat(p?.AWS ?? []).includes("*" as never)) v.push(`${where}: ${s.Sid ?? "statement"} allows any principal`);
    if (p?.Service !== undefined) {
      const arns = conditionValues(s.Condition, "aws:SourceArn");
      if (conditionValues(s.Condition, "aws:SourceAccount").length === 0) v.push(`${where}: ${s.Sid ?? "statement"} lets ${p.Service} act without an aws:SourceAccount condition`);
      if (arns.length === 0 || arns.some((a) => typeof a !== "string" || /[*?]/.test(a))) v.push(`${where}: ${s.Sid ?? "statement"} lets ${p.Service} act for sources not named exactly (aws:SourceArn: ${JSON.stringify(arns)})`);
    }
  }
  return v;
}

function check(r: PlanResource, stack?: string): string[] {
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
            else if (stack !== undefined) {
              // one stack's hosts may not publish what looks like another stack's metrics
              const foreign = conditionValues(s.Condition, "cloudwatch:namespace").filter((n) => n !== hostMetricsNamespace(stack));
              if (foreign.length) v.push(`${where}: cloudwatch:PutMetricData into ${JSON.stringify(foreign)}; allowed: this stack's namespace ${hostMetricsNamespace(stack)}`);
            }
          } else if (!READ_ONLY_ACTION.test(a) && resources.includes("*")) v.push(`${where}: write action ${a} on Resource "*"`);
        }
      }
      break;
    case "aws:kms/key:Key":
      if (i.policy !== undefined) v.push(...resourcePolicy(where, unwrap(i.policy)));
      break;
    case "aws:sns/topicPolicy:TopicPolicy":
      v.push(...resourcePolicy(where, unwrap(i.policy)));
      break;
    case "aws:dlm/lifecyclePolicy:LifecyclePolicy":
      // what the DLM API enforces (CreateLifecyclePolicy): a preview passes these, the apply fails
      if (!DLM_TEXT.test(String(i.description ?? "")) || String(i.description).length > 500) v.push(`${where}: description ${JSON.stringify(i.description)} is not 1-500 of [0-9A-Za-z _-] (DLM rejects it)`);
      for (const sch of i.policyDetails?.schedules ?? []) {
        if (!DLM_TEXT.test(String(sch.name ?? "")) || String(sch.name).length > 120) v.push(`${where}: schedule name ${JSON.stringify(sch.name)} is not 1-120 of [0-9A-Za-z _-] (DLM rejects it)`);
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

/** One permission of a security group rule: the group it is on, the peer (a group or a CIDR), protocol and ports. */
interface Permission {
  rule: string;
  group: string;
  peerGroup?: string;
  cidr?: string;
  protocol: string;
  from: number;
  to: number;
}

const GROUP = "aws:ec2/securityGroup:SecurityGroup";

/** Every ingress and egress permission of the plan, from inline rules and from the three rule resources. */
function permissions(resources: PlanResource[]): { ingress: Permission[]; egress: Permission[] } {
  const ingress: Permission[] = [];
  const egress: Permission[] = [];
  const add = (dir: "ingress" | "egress", rule: string, group: string, x: any, peers: { groups?: unknown[]; cidrs?: unknown[]; self?: boolean }) => {
    const base = { rule, group, protocol: String(x.protocol ?? x.ipProtocol ?? "-1"), from: Number(x.fromPort ?? 0), to: Number(x.toPort ?? 65535) };
    const list = dir === "ingress" ? ingress : egress;
    for (const g of [...(peers.groups ?? []), ...(peers.self ? [group] : [])]) if (g) list.push({ ...base, peerGroup: String(g) });
    for (const c of peers.cidrs ?? []) if (c) list.push({ ...base, cidr: String(c) });
  };
  for (const r of resources) {
    const i = r.inputs as Record<string, any>;
    const where = `${r.type} ${r.name}`;
    if (r.type === GROUP) {
      const id = mockId({ type: r.type, name: r.name, inputs: i, custom: true } as Parameters<typeof mockId>[0]);
      for (const x of i.ingress ?? []) add("ingress", `${where} (inline ingress ${x.fromPort}-${x.toPort})`, id, x, { groups: x.securityGroups, cidrs: x.cidrBlocks, self: x.self });
      for (const x of i.egress ?? []) add("egress", `${where} (inline egress)`, id, x, { groups: x.securityGroups, cidrs: x.cidrBlocks, self: x.self });
    } else if (r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
      add("ingress", where, String(i.securityGroupId), i, { groups: [i.referencedSecurityGroupId], cidrs: [i.cidrIpv4] });
    } else if (r.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
      add("egress", where, String(i.securityGroupId), i, { groups: [i.referencedSecurityGroupId], cidrs: [i.cidrIpv4] });
    } else if (r.type === "aws:ec2/securityGroupRule:SecurityGroupRule") {
      add(i.type === "egress" ? "egress" : "ingress", where, String(i.securityGroupId), i, { groups: [i.sourceSecurityGroupId], cidrs: i.cidrBlocks, self: i.self });
    }
  }
  return { ingress, egress };
}

/** The VPC CIDRs the plan creates, by the VPC's id. */
function vpcCidrs(resources: PlanResource[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of resources) {
    if (r.type === "aws:ec2/vpc:Vpc") m.set(mockId({ type: r.type, name: r.name, inputs: r.inputs, custom: true } as Parameters<typeof mockId>[0]), String((r.inputs as any).cidrBlock));
  }
  return m;
}

/** a contains b (both IPv4 CIDRs). */
function cidrContains(a: string, b: string): boolean {
  const pa = parseCidr(a);
  const pb = parseCidr(b);
  if (!pa || !pb) return false;
  return Number(a.split("/")[1]) <= Number(b.split("/")[1]) && cidrsOverlap(a, b);
}

const PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/**
 * Every ingress rule that admits a security group needs the matching egress on that group: the
 * provider deletes AWS's default allow-all egress, so without it the rule is dead (clients time out).
 * An egress matches when it allows the protocol and every port of the ingress, towards the target
 * group itself, or towards a CIDR holding the target's VPC (0.0.0.0/0; the VPC's CIDR; for a VPC
 * this plan does not create, a private range). Groups this plan does not create are not checked.
 */
export function missingEgress(resources: PlanResource[]): string[] {
  const { ingress, egress } = permissions(resources);
  const groupVpc = new Map<string, string>();
  const groupName = new Map<string, string>();
  for (const r of resources) {
    if (r.type !== GROUP) continue;
    const id = mockId({ type: r.type, name: r.name, inputs: r.inputs, custom: true } as Parameters<typeof mockId>[0]);
    groupVpc.set(id, String((r.inputs as any).vpcId));
    groupName.set(id, r.name);
  }
  const cidrs = vpcCidrs(resources);
  const reaches = (e: Permission, target: string): boolean => {
    if (e.peerGroup !== undefined) return e.peerGroup === target;
    if (e.cidr === undefined) return false;
    if (e.cidr === "0.0.0.0/0") return true;
    const vpcCidr = cidrs.get(groupVpc.get(target) ?? "");
    return vpcCidr !== undefined ? cidrContains(e.cidr, vpcCidr) : PRIVATE.some((p) => cidrContains(p, e.cidr as string));
  };
  const covers = (e: Permission, i: Permission): boolean =>
    e.protocol === "-1" || (e.protocol === i.protocol && e.from <= i.from && e.to >= i.to);
  const label = (id: string) => groupName.get(id) ?? id;
  return ingress
    // a group this plan does not create manages its own egress: nothing here can prove or fix it
    .filter((i) => i.peerGroup !== undefined && groupName.has(i.peerGroup))
    .filter((i) => !egress.some((e) => e.group === i.peerGroup && reaches(e, i.group) && covers(e, i)))
    .map((i) => {
      const src = label(i.peerGroup as string);
      return `${i.rule}: admits security group ${src} on ${i.protocol} ${i.from}-${i.to} into ${label(i.group)}, but ${src} has no egress rule that allows it (the rule is dead: the provider removes AWS's default allow-all egress)`;
    });
}

export function planViolations(plan: Pick<Plan, "resources"> & { stack?: string }): string[] {
  return [...plan.resources.flatMap((r) => check(r, plan.stack)), ...missingEgress(plan.resources)];
}
