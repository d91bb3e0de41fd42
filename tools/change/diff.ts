/**
 * Pure: two offline plans (before = what is deployed, after = what `pulumi up` would make of it) ->
 * what happens to each resource, which provisioning steps run on which hosts, in which order hosts
 * are replaced, and what the operator must know. Resources are matched by URN (or a recorded alias),
 * as Pulumi does: a rename without an alias is a delete plus a create.
 */
import type { HostManifest } from "../../components/host";
import { createHash } from "node:crypto";
import { architectureOf } from "../../components/ami";
import { changedLeaves, dependentReplaceKeys, diffResource, isObject, REFUSED, unwrap } from "./rules";
import type { StateResource } from "./state";

export type ChangeOp = "create" | "update" | "replace" | "delete" | "same";
export const OPS: ChangeOp[] = ["replace", "delete", "create", "update", "same"];

export interface ResourceChange {
  urn: string;
  type: string;
  name: string;
  op: ChangeOp;
  /** Changed input paths (update and replace). */
  changedInputs: string[];
  /**
   * The replace-forcing properties among them (replace only). A dependent replacement (see `dependentOf`)
   * names its input and why: `availabilityZone (dependent replacement: references x, replaced delete-before-replace)`.
   */
  replaceReasons: string[];
  /**
   * Set when Pulumi's delete-before-replace cascade replaces this resource: the URNs (of the deployed
   * state) its replace-forcing inputs reference that are deleted before it. It is deleted before them and
   * created again after them, whether or not its own inputs change.
   */
  dependentOf?: string[];
}

export interface StepRun {
  step: string;
  /** The command resource. */
  resource: string;
  op: ChangeOp;
  /**
   * What runs on the host: `create` (the step's script, first run or again) or `update` (the command's own
   * `update`, e.g. a no-op for a new connection: pulumi-command runs `update` if set, else `create`).
   */
  runs: "create" | "update";
  /** Why it runs: "new host", "instance replaced", or the changed inputs of the command. */
  why: string;
}

export interface HostRuns {
  host: string;
  /** What happens to the host's instance. */
  instance: ChangeOp;
  steps: StepRun[];
}

export interface ChangeSet {
  changes: ResourceChange[];
  changeSummary: Record<ChangeOp, number>;
  /** Steps that run (create), re-run (update: `create` runs again) or are replaced, per host. */
  stepRuns: HostRuns[];
  /** Replaced instances in the order Pulumi can replace them: each wave waits for the previous one. */
  replacementWaves: string[][];
  /** What the operator must know: protected resources, VolumeInUse risks, stop/start, unevaluated rules. */
  notes: string[];
  /** Stack outputs whose value changes (leaf paths, `database.endpoint`); a secret's value shows as `[secret]`. */
  outputChanges: OutputChange[];
}

export interface OutputChange {
  name: string;
  before: unknown;
  after: unknown;
}

export interface PlanLike {
  region: string;
  resources: (StateResource & { parent: string | null; options: StateResource["options"] & { dependsOn: string[]; protect: boolean; deleteBeforeReplace: boolean; retainOnDelete?: boolean } })[];
  hosts: Pick<HostManifest, "host" | "steps">[];
  /** The stack's outputs (plans carry them; absent: none compared). */
  outputs?: unknown;
}

type Res = PlanLike["resources"][number];

export function diffPlans(before: PlanLike, after: PlanLike): ChangeSet {
  const old = new Map(before.resources.map((r) => [r.urn, r]));
  const matched = new Set<string>();
  const changes: ResourceChange[] = [];
  const notes: string[] = [];
  const regionChanged = before.region !== after.region;
  const priorOf = new Map<string, Res>();

  for (const r of after.resources) {
    const p = old.get(r.urn) ?? (r.options.aliases ?? []).map((a) => old.get(a)).find((x) => x !== undefined);
    const base = { urn: r.urn, type: r.type, name: r.name };
    if (!p || matched.has(p.urn)) {
      changes.push({ ...base, op: "create", changedInputs: [], replaceReasons: [] });
      continue;
    }
    matched.add(p.urn);
    priorOf.set(r.urn, p);
    const d = diffResource(r.type, p.inputs, r.inputs, { ignoreChanges: r.options.ignoreChanges, replaceOnChanges: r.options.replaceOnChanges }, regionChanged);
    // protect / retainOnDelete live in Pulumi's state: changing one is an update of the resource (its options).
    const optionChanges = OPTION_FLAGS.filter((k) => Boolean(p.options[k]) !== Boolean(r.options[k])).map((k) => `options.${k}`);
    const op: ChangeOp = d.replaceReasons.length ? "replace" : d.changedInputs.length || optionChanges.length ? "update" : "same";
    changes.push({ ...base, op, changedInputs: op === "same" ? [] : [...d.changedInputs, ...optionChanges], replaceReasons: d.replaceReasons });
    if (p.options.protect && !r.options.protect) notes.push(`protect lifted: ${r.name} (${r.type}) is no longer protected; a later change can delete or replace it`);
    for (const n of d.notes) notes.push(`${r.name}: ${n}`);
    if (op === "replace") notes.push(...ignoredOnReplace(r, p));
    if (op === "replace" && p.options.protect) notes.push(`BLOCKED: ${r.name} (${r.type}) is protected and would be replaced: pulumi up fails until protect is lifted`);
  }
  for (const p of before.resources) {
    if (matched.has(p.urn)) continue;
    changes.push({ urn: p.urn, type: p.type, name: p.name, op: "delete", changedInputs: [], replaceReasons: [] });
    if (p.options.protect) notes.push(`BLOCKED: ${p.name} (${p.type}) is protected and would be deleted: pulumi up fails until protect is lifted`);
  }

  notes.push(...dependentReplacements(before, after, changes, priorOf));
  const byUrn = new Map(changes.map((c) => [c.urn, c]));
  notes.push(...volumeInUse(after, byUrn, priorOf), ...vpcMoves(before, after, byUrn, priorOf));
  notes.push(...dataLoss(before, changes));
  const changeSummary = Object.fromEntries(OPS.map((op) => [op, changes.filter((c) => c.op === op).length])) as Record<ChangeOp, number>;
  const runs = stepRuns(before, after, changes);
  const waves = replacementWaves(after, byUrn);
  notes.push(...bastionWithOthers(before, after, byUrn, runs), ...clusterWideReruns(after, runs));
  return { changes, changeSummary, stepRuns: runs, replacementWaves: waves, notes, outputChanges: outputChanges(before.outputs, after.outputs) };
}

const SECRET_MARK = "\u0000secret:";

/** Secrets replaced by a digest of their value: a rotation still shows as a change, never the value. */
function masked(v: unknown): unknown {
  if (isObject(v) && "$secret" in v && Object.keys(v).length === 1) return SECRET_MARK + createHash("sha256").update(JSON.stringify(v.$secret)).digest("hex");
  if (Array.isArray(v)) return v.map(masked);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, masked(x)]));
  return v;
}

function outputChanges(before: unknown, after: unknown): OutputChange[] {
  if (before === undefined || after === undefined) return [];
  const show = (v: unknown) => (typeof v === "string" && v.startsWith(SECRET_MARK) ? "[secret]" : v === undefined ? null : v);
  return changedLeaves(masked(before), masked(after)).map((c) => ({ name: c.path, before: show(c.before), after: show(c.after) }));
}

const OPTION_FLAGS = ["protect", "retainOnDelete"] as const;

/**
 * A replacement is created with the deployed values of its ignoreChanges inputs, not the program's
 * (pulumi/pulumi#2657): say so where they differ; an AMI of the old architecture on a new instance type of
 * another architecture is refused by AWS after the old instance (delete-before-replace) is gone.
 */
function ignoredOnReplace(r: Res, p: Res): string[] {
  const out: string[] = [];
  for (const path of r.options.ignoreChanges) {
    const had = changedLeaves(p.inputs, r.inputs).filter((c) => c.path === path || c.path.startsWith(`${path}.`) || c.path.startsWith(`${path}[`));
    if (!had.length) continue;
    const [a, b] = [unwrap(p.inputs.instanceType), unwrap(r.inputs.instanceType)];
    const archMoves = r.type === "aws:ec2/instance:Instance" && path === "ami" && typeof a === "string" && typeof b === "string" && architectureOf(a) !== architectureOf(b);
    const fix = "drop ami from ignoreChanges for this up, or pin `opsfleet:amiIds` and roll the host with `pulumi up --replace <instance urn>` (README, Hosts)";
    out.push(archMoves
      ? `${REFUSED} ${r.name}: replaced with its deployed ami ${JSON.stringify(unwrap(p.inputs.ami))} (ignoreChanges keeps it on a replacement, pulumi/pulumi#2657), a ${architectureOf(a)} image, but ${b} is ${architectureOf(b)}: AWS refuses the launch after the old instance is gone. ${fix}`
      : `${r.name}: replaced with the deployed value of ignored ${path} (ignoreChanges keeps it on a replacement, pulumi/pulumi#2657), not the program's ${JSON.stringify(unwrap(had[0].after))}`);
  }
  return out;
}

/** Every data volume replaced or deleted, protected or not: a replacement is a new, empty volume. */
function dataLoss(before: PlanLike, changes: ResourceChange[]): string[] {
  const prior = new Map(before.resources.map((r) => [r.urn, r]));
  return changes
    .filter((c) => c.type === "aws:ebs/volume:Volume" && (c.op === "replace" || c.op === "delete"))
    .map((c) => {
      const p = prior.get(c.urn);
      const kept = c.op === "delete" && p?.options.retainOnDelete ? " (retainOnDelete: the volume stays in AWS, outside the stack)" : "";
      return `DATA LOSS: data volume ${c.name} ${c.op === "replace" ? `is replaced by a new, empty volume (${c.replaceReasons.join(", ")})` : "is deleted"}${kept}${p?.options.protect ? "; it is protected, so pulumi up fails until protect is lifted" : ""}`;
    });
}

/**
 * The instances other hosts' steps connect through (`connection.proxy.host`): the proxy's address is its
 * own, or an Elastic IP's whose `instance` it is. Keyed on what the steps use, not on names or types, so a
 * renamed bastion is still one.
 */
function proxyInstances(plans: PlanLike[]): Set<string> {
  const hosts = new Set<string>();
  for (const p of plans) for (const r of p.resources) {
    const proxy = (unwrapObj(r.inputs.connection) ?? {}).proxy;
    const h = unwrapObj(proxy)?.host;
    if (r.type === "command:remote:Command" && typeof h === "string") hosts.add(h);
  }
  const out = new Set<string>();
  for (const p of plans) {
    // the Elastic IP sits on the instance itself or on the network interface it boots with
    const eips = p.resources.filter((r) => r.type === "aws:ec2/eip:Eip" && hosts.has(String(r.outputs?.publicIp)));
    const eipInstances = new Set(eips.map((r) => String(unwrap(r.inputs.instance))));
    const eipInterfaces = new Set(eips.map((r) => String(unwrap(r.inputs.networkInterface))).filter((x) => x !== "undefined"));
    for (const r of p.resources) {
      if (r.type !== "aws:ec2/instance:Instance") continue;
      const eni = String(unwrap(unwrapObj(r.inputs.primaryNetworkInterface)?.networkInterfaceId));
      if ((r.id && eipInstances.has(r.id)) || eipInterfaces.has(eni) || hosts.has(String(r.outputs?.publicIp)) || hosts.has(String(r.outputs?.privateIp))) out.add(r.urn);
    }
  }
  return out;
}

function unwrapObj(v: unknown): Record<string, unknown> | undefined {
  const u = unwrap(v);
  return isObject(u) ? u : undefined;
}

/**
 * The bastion replaced in the same `up` as steps on other hosts: those steps connect through it, and the
 * README says to roll the bastion on its own (`pulumi up --target` its URN first).
 */
function bastionWithOthers(before: PlanLike, after: PlanLike, byUrn: Map<string, ResourceChange>, runs: HostRuns[]): string[] {
  const proxies = proxyInstances([before, after]);
  const bastions = after.resources.filter((r) => proxies.has(r.urn) && byUrn.get(r.urn)?.op === "replace");
  if (!bastions.length) return [];
  const parentName = new Map(after.resources.map((r) => [r.urn, r.name]));
  const names = new Set(bastions.map((b) => (b.parent && parentName.get(b.parent)) || b.name));
  const others = runs.filter((h) => !names.has(h.host)).map((h) => h.host);
  if (!others.length) return [];
  return bastions.map((b) => `bastion ${b.name} is replaced in the same up as steps on ${others.length} other host(s) (${others.slice(0, 5).join(", ")}${others.length > 5 ? ", ..." : ""}) that connect through it: roll the bastion on its own first (pulumi up --target ${b.urn}), then the rest`);
}

/**
 * A step re-run (its script again) on several kept hosts of one cluster with no dependsOn between them:
 * Pulumi runs them at once, so a restart in that step restarts those nodes together (no rolling gate).
 */
function clusterWideReruns(after: PlanLike, runs: HostRuns[]): string[] {
  const res = new Map(after.resources.map((r) => [r.urn, r]));
  const byName = new Map(after.resources.map((r) => [r.name, r]));
  // stepRuns names a host by its instance's parent (the Host component)
  const hostUrn = new Map(after.resources.filter((r) => r.type === "aws:ec2/instance:Instance" && r.parent && res.has(r.parent)).map((r) => [res.get(r.parent!)!.name, r.parent!]));
  const children = new Map<string, string[]>();
  for (const r of after.resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
  const subtree = (urn: string): string[] => [urn, ...(children.get(urn) ?? []).flatMap(subtree)];
  const reach = (urn: string): Set<string> => {
    const acc = new Set<string>();
    const stack = [urn];
    // dependsOn and data dependencies (an input, e.g. a trigger, that carries another host's instance id)
    const deps = (u: string) => { const r = res.get(u); return [...(r?.options.dependsOn ?? []), ...Object.values(r?.propertyDependencies ?? {}).flat()]; };
    while (stack.length) for (const d of deps(stack.pop()!).flatMap(subtree)) if (!acc.has(d)) {
      acc.add(d);
      stack.push(d);
    }
    return acc;
  };
  const groups = new Map<string, { cluster: string; step: string; cmds: string[]; hosts: string[] }>();
  for (const h of runs) {
    if (h.instance === "create" || h.instance === "replace") continue;
    const host = hostUrn.get(h.host);
    const cluster = host ? res.get(host)?.parent : undefined;
    if (!cluster) continue;
    for (const st of h.steps) {
      if (st.runs !== "create" || st.op === "create") continue;
      const cmd = byName.get(st.resource);
      if (!cmd) continue;
      const k = `${cluster}\u0000${st.step}`;
      const g = groups.get(k) ?? { cluster, step: st.step, cmds: [], hosts: [] };
      g.cmds.push(cmd.urn);
      g.hosts.push(h.host);
      groups.set(k, g);
    }
  }
  const out: string[] = [];
  for (const g of groups.values()) {
    if (g.cmds.length < 2) continue;
    const reaches = new Map(g.cmds.map((c) => [c, reach(c)]));
    const together = g.cmds.filter((c) => !g.cmds.some((o) => o !== c && reaches.get(c)!.has(o)));
    if (together.length < 2) continue;
    const clusterName = res.get(g.cluster)?.name ?? g.cluster;
    out.push(`${g.step} re-runs on ${together.length} hosts of ${clusterName} at once (${g.hosts.join(", ")}): no dependsOn or data dependency orders them (no rolling gate), so a restart in it restarts them together`);
  }
  return out;
}

/**
 * Pulumi's delete-before-replace cascade (rules.ts `dependentReplaceKeys`), over the deployed state's
 * property dependencies: every resource replaced with deleteBeforeReplace starts a replace set; its
 * dependents whose replace-forcing inputs reference the set join it (transitively) and are replaced too.
 * Marks them in `changes` (in place) and returns the notes (protected ones block the `up`).
 */
function dependentReplacements(before: PlanLike, after: PlanLike, changes: ResourceChange[], priorOf: Map<string, Res>): string[] {
  const afterOf = new Map<string, Res>();
  for (const r of after.resources) {
    const p = priorOf.get(r.urn);
    if (p) afterOf.set(p.urn, r);
  }
  const change = new Map(changes.map((c) => [c.urn, c]));
  const nameOf = new Map(before.resources.map((r) => [r.urn, r.name]));
  // Roots: deployed resources the change replaces with deleteBeforeReplace (the new goal's option decides).
  const replaceSet = new Set<string>();
  for (const [urn, r] of afterOf) if (r.options.deleteBeforeReplace && change.get(r.urn)?.op === "replace") replaceSet.add(urn);
  if (!replaceSet.size) return [];
  const dependents = new Map<string, { keys: string[]; via: string[] }>();
  // The engine walks the dependents in dependency order; a fixpoint gives the same set in any order.
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of before.resources) {
      if (!p.custom || replaceSet.has(p.urn)) continue;
      const keys = dependentReplaceKeys(p.type, p.inputs, p.propertyDependencies, (u) => replaceSet.has(u));
      if (!keys.length) continue;
      const via = [...new Set(keys.flatMap((k) => (p.propertyDependencies?.[k] ?? []).filter((u) => replaceSet.has(u))))].sort();
      dependents.set(p.urn, { keys, via });
      replaceSet.add(p.urn);
      grew = true;
    }
  }
  const notes: string[] = [];
  for (const p of before.resources) {
    const d = dependents.get(p.urn);
    if (!d) continue;
    const r = afterOf.get(p.urn);
    const c = r ? change.get(r.urn) : change.get(p.urn);
    if (!c || c.op === "delete") continue; // gone from the program: deleted anyway
    const names = d.via.map((u) => nameOf.get(u) ?? u).join(", ");
    const already = c.op === "replace";
    c.op = "replace";
    c.dependentOf = d.via;
    c.replaceReasons = [...new Set([...c.replaceReasons, ...d.keys.map((k) => `${k} (dependent replacement: references ${names}, replaced delete-before-replace)`)])];
    if (p.options.protect && !already) notes.push(`BLOCKED: ${p.name} (${p.type}) is protected and would be replaced (it references ${names}, replaced delete-before-replace): pulumi up fails until protect is lifted`);
  }
  return notes;
}

/**
 * A replaced attachment of a kept volume, created before the old one is deleted, fails with VolumeInUse
 * (pulumi/pulumi-aws#2769): the old instance still holds the volume.
 */
function volumeInUse(after: PlanLike, byUrn: Map<string, ResourceChange>, priorOf: Map<string, Res>): string[] {
  const out: string[] = [];
  for (const r of after.resources) {
    if (r.type !== "aws:ec2/volumeAttachment:VolumeAttachment" || byUrn.get(r.urn)?.op !== "replace") continue;
    const p = priorOf.get(r.urn);
    if (p && p.inputs.volumeId === r.inputs.volumeId && !r.options.deleteBeforeReplace) {
      out.push(`VolumeInUse: ${r.name} moves volume ${String(r.inputs.volumeId)} to a new instance create-before-delete; the attach fails while the old instance holds it (needs deleteBeforeReplace)`);
    }
  }
  return out;
}

/**
 * Updates AWS refuses or must stage: a load balancer's subnets in another VPC (its VPC is fixed at
 * creation), an internet gateway moved to another VPC (detached first; DependencyViolation while the old
 * VPC still has public addresses).
 */
function vpcMoves(before: PlanLike, after: PlanLike, byUrn: Map<string, ResourceChange>, priorOf: Map<string, Res>): string[] {
  const vpcOfSubnet = (plan: PlanLike) => new Map(plan.resources.filter((r) => r.type === "aws:ec2/subnet:Subnet" && r.id).map((r) => [r.id!, unwrap(r.inputs.vpcId)]));
  const [vb, va] = [vpcOfSubnet(before), vpcOfSubnet(after)];
  const vpcs = (ids: unknown, m: Map<string, unknown>) => new Set((Array.isArray(ids) ? ids : []).map((i) => m.get(String(unwrap(i)))).filter((v) => v !== undefined));
  const out: string[] = [];
  for (const r of after.resources) {
    const p = priorOf.get(r.urn);
    if (!p || byUrn.get(r.urn)?.op !== "update") continue;
    if (r.type === "aws:lb/loadBalancer:LoadBalancer") {
      const [a, b] = [vpcs(p.inputs.subnets, vb), vpcs(r.inputs.subnets, va)];
      if (a.size && b.size && ![...b].every((v) => a.has(v))) out.push(`${REFUSED} ${r.name}: AWS refuses: a load balancer's subnets must stay in its VPC (${[...a].join(", ")} -> ${[...b].join(", ")}); it needs a new load balancer`);
    }
    if (r.type === "aws:ec2/internetGateway:InternetGateway" && !deepEqualish(p.inputs.vpcId, r.inputs.vpcId)) {
      out.push(`${r.name}: the internet gateway is detached from ${String(unwrap(p.inputs.vpcId))} before it attaches to ${String(unwrap(r.inputs.vpcId))}; the detach fails (DependencyViolation) while that VPC still has public addresses mapped`);
    }
  }
  return out;
}

const deepEqualish = (a: unknown, b: unknown) => JSON.stringify(unwrap(a)) === JSON.stringify(unwrap(b));

function stepRuns(before: PlanLike, after: PlanLike, changes: ResourceChange[]): HostRuns[] {
  const hostOfStep = new Map<string, { host: string; step: string }>();
  for (const plan of [before, after]) for (const h of plan.hosts) for (const s of h.steps) hostOfStep.set(s.resource, { host: h.host, step: s.name });
  const instanceOp = new Map<string, ChangeOp>();
  const all = [...after.resources, ...before.resources];
  const nameOf = new Map(all.map((r) => [r.urn, r.name]));
  for (const c of changes) {
    if (c.type !== "aws:ec2/instance:Instance") continue;
    const r = all.find((x) => x.urn === c.urn);
    const host = r?.parent ? nameOf.get(r.parent) ?? r.name : c.name;
    if (!instanceOp.has(host)) instanceOp.set(host, c.op);
  }
  const out = new Map<string, HostRuns>();
  for (const c of changes) {
    if (c.type !== "command:remote:Command" || c.op === "same" || c.op === "delete") continue;
    const at = hostOfStep.get(c.name) ?? { host: "(no host)", step: c.name };
    const inst = instanceOp.get(at.host) ?? "same";
    const why = inst === "create" ? "new host" : inst === "replace" ? "instance replaced" : c.op === "create" ? "new step" : c.op === "replace" ? `replace: ${c.replaceReasons.join(", ")}` : `update: ${summarizePaths(c.changedInputs)}`;
    const inputs = after.resources.find((r) => r.urn === c.urn)?.inputs ?? {};
    const ownUpdate = inputs.update !== undefined && inputs.update !== null && JSON.stringify(inputs.update) !== JSON.stringify(inputs.create);
    const runs = c.op === "update" && ownUpdate ? "update" : "create";
    const h = out.get(at.host) ?? { host: at.host, instance: inst, steps: [] };
    h.steps.push({ step: at.step, resource: c.name, op: c.op, runs, why });
    out.set(at.host, h);
  }
  return [...out.values()].sort((a, b) => a.host.localeCompare(b.host));
}

/** `connection.host, stdin` from many leaf paths (top-level keys, secrets' inner paths kept short). */
export function summarizePaths(paths: string[]): string {
  const tops = [...new Set(paths.map((p) => p.replace(/\[\d+\]/g, "").split(".").slice(0, 2).join(".")))];
  return tops.length > 6 ? `${tops.slice(0, 6).join(", ")}, +${tops.length - 6} more` : tops.join(", ");
}

/**
 * Replaced instances grouped in waves: an instance whose resources depend (options.dependsOn, through
 * components to their children) on another replaced host's resources comes after it.
 */
function replacementWaves(after: PlanLike, byUrn: Map<string, ResourceChange>): string[][] {
  const res = new Map(after.resources.map((r) => [r.urn, r]));
  const children = new Map<string, string[]>();
  for (const r of after.resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
  const subtree = (urn: string): string[] => [urn, ...(children.get(urn) ?? []).flatMap(subtree)];
  const deps = (urn: string): string[] => (res.get(urn)?.options.dependsOn ?? []).flatMap(subtree);
  const replaced = after.resources.filter((r) => r.type === "aws:ec2/instance:Instance" && byUrn.get(r.urn)?.op === "replace");
  // A host is the instance's parent component (its steps, attachments): what "waiting for a host" means.
  const hostOf = new Map(replaced.map((r) => [r.urn, r.parent ?? r.urn]));
  const hostMembers = new Map(replaced.map((r) => [r.urn, new Set(subtree(hostOf.get(r.urn)!))]));
  const closure = new Map<string, Set<string>>();
  const reach = (urn: string): Set<string> => {
    const seen = closure.get(urn);
    if (seen) return seen;
    const acc = new Set<string>();
    closure.set(urn, acc);
    const stack = [urn];
    while (stack.length) {
      for (const d of deps(stack.pop()!)) if (!acc.has(d)) {
        acc.add(d);
        stack.push(d);
      }
    }
    return acc;
  };
  const level = new Map<string, number>();
  const levelOf = (r: Res, visiting = new Set<string>()): number => {
    if (level.has(r.urn)) return level.get(r.urn)!;
    visiting.add(r.urn);
    const mine = reach(r.urn);
    let l = 0;
    for (const o of replaced) {
      if (o.urn === r.urn || visiting.has(o.urn)) continue;
      if ([...hostMembers.get(o.urn)!].some((m) => mine.has(m))) l = Math.max(l, levelOf(o, visiting) + 1);
    }
    level.set(r.urn, l);
    return l;
  };
  const waves: string[][] = [];
  for (const r of replaced) (waves[levelOf(r)] ??= []).push(r.name);
  return waves.filter(Boolean).map((w) => w.sort());
}
