/**
 * What the (mock) provider keeps across a change, like Pulumi state: a plan run with the before plan as
 * its prior state gives a kept resource its old id and computed outputs (addresses, names), gives a
 * replaced resource a new id and fresh outputs (so every input that refers to it changes: the cascade),
 * and gives a launch template whose inputs changed the next `latestVersion`. Pure: the mock callbacks in
 * tools/plan-core.ts feed it.
 */
import { createHash } from "node:crypto";
import { pulumiUrn } from "../../test/harness/mock-data";
import { deepEqual, dependentReplaceKeys, diffResource, isObject, replaceForcingValues, unwrap } from "./rules";

export interface StateResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  /** Provider id (null for components and plans saved before ids were recorded). */
  id?: string | null;
  inputs: Record<string, unknown>;
  /** Provider-computed outputs (not the echoed inputs). */
  outputs?: Record<string, unknown>;
  /** Per top-level input, the URNs whose outputs flow into it (absent in plans saved before it was recorded). */
  propertyDependencies?: Record<string, string[]>;
  options: { ignoreChanges: string[]; replaceOnChanges: string[]; aliases?: string[] };
}

export interface PriorState {
  region: string;
  byUrn: Map<string, StateResource>;
  /**
   * Prior URNs replaced delete-before-replace so far in this run, and their dependent replacements
   * (rules.ts `dependentReplaceKeys`): registrations come in dependency order, so this grows as the engine's does.
   */
  replaceSet: Set<string>;
  /** Every id and computed string output of the deployed state: a created resource's identity differs from all. */
  values: Set<string>;
}

export function priorStateOf(plan: { region: string; resources: StateResource[] }): PriorState {
  const values = new Set<string>();
  for (const r of plan.resources) {
    if (r.id) values.add(r.id);
    for (const v of Object.values(r.outputs ?? {})) if (typeof v === "string" && v !== "") values.add(v);
  }
  return { region: plan.region, byUrn: new Map(plan.resources.map((r) => [r.urn, r])), replaceSet: new Set(), values };
}

/** Outputs that are not identity: the same for every resource of a kind (an ALB's hosted zone in a region). */
const SHARED_OUTPUTS = new Set(["zoneId"]);

/** `v` changed until it is none of `taken`: an address keeps its shape, a name-bearing value gets a tagged name. */
function distinct(v: string, name: string, tag: string, taken: Set<string>): string {
  for (let i = 0; ; i++) {
    const t = i ? `${tag}${i}` : tag;
    const ip = /^(\d+\.\d+\.\d+\.)(\d+)$/.exec(v);
    const next = ip
      ? `${ip[1]}${((Number(ip[2]) + 100 + parseInt(createHash("sha256").update(t).digest("hex").slice(0, 2), 16)) % 250) + 2}`
      : name.length >= 3 && v.includes(name) ? v.split(name).join(`${name}-${t}`) : v.replace(/(\S)(\s*)$/, `$1${t}$2`);
    if (!taken.has(next)) return next;
  }
}

/**
 * A resource the deployed state does not have (a create, or a rename without an alias: delete + create)
 * is a new physical resource: its id and identity outputs (ARNs, addresses, host keys) differ from every
 * deployed value, even where the mock would derive the same ones from the same name.
 */
function createdIdentity(r: Registration, fresh: ProviderAnswer, prior: PriorState): ProviderAnswer {
  const tag = hash([r.urn, r.inputs]).slice(0, 6);
  const id = prior.values.has(fresh.id) ? distinct(replacementId(fresh.id, r), r.name, tag, prior.values) : fresh.id;
  const onOwnInterface = r.type === "aws:ec2/instance:Instance" && isObject(r.inputs.primaryNetworkInterface) && r.inputs.primaryNetworkInterface.networkInterfaceId !== undefined;
  const outputs = { ...fresh.outputs };
  for (const [k, v] of Object.entries(fresh.outputs)) {
    if (typeof v !== "string" || !prior.values.has(v) || SHARED_OUTPUTS.has(k) || deepEqual(r.inputs[k], v)) continue;
    if (k === "privateIp" && onOwnInterface) continue; // the kept interface's address
    outputs[k] = distinct(v, r.name, tag, prior.values);
  }
  return { id, outputs };
}

/** The prior resource this registration continues: same URN, or one of its aliases (as Pulumi matches). */
export function priorFor(prior: PriorState, urn: string, aliases: string[]): StateResource | undefined {
  return prior.byUrn.get(urn) ?? aliases.map((a) => prior.byUrn.get(a)).find((r) => r !== undefined);
}

export interface Registration {
  urn: string;
  type: string;
  name: string;
  /** Rendered inputs (the plan's JSON form). */
  inputs: Record<string, unknown>;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  aliases: string[];
  deleteBeforeReplace?: boolean;
}

export interface ProviderAnswer {
  id: string;
  outputs: Record<string, unknown>;
}

function hash(v: unknown): string {
  return createHash("sha256").update(JSON.stringify(v)).digest("hex");
}

/** A new physical id in the shape of the fresh one (`vol-0…` keeps its hex form). */
function replacementId(freshId: string, r: Registration): string {
  const h = hash([r.urn, replaceForcingValues(r.type, r.inputs, r.replaceOnChanges)]);
  const m = /^([a-z]+-0?)([0-9a-f]{8,})$/.exec(freshId);
  if (m) return m[1] + h.slice(0, m[2].length);
  return `${freshId}-${h.slice(0, 8)}`;
}

/**
 * Outputs a replacement gets that differ from the old resource's even when its inputs look alike. Every
 * computed output that names the resource (ARNs, ARN suffixes, generated names, DNS names, key ids) belongs to
 * the new physical resource, so it changes: `pulumi preview` shows all of them unknown, and whatever reads
 * them by ARN must see the change (a replaced target group moves the fleet, listener, ASGs and alarms).
 * An output that only echoes an explicit input (a given `name`) stays.
 */
function replacementOutputs(r: Registration, fresh: Record<string, unknown>, old: Record<string, unknown>): Record<string, unknown> {
  const out = { ...fresh };
  const h = hash([r.urn, r.inputs]);
  const tag = h.slice(0, 6);
  for (const [k, v] of Object.entries(fresh)) {
    if (typeof v !== "string" || v === "" || v !== old[k]) continue;
    if (deepEqual(r.inputs[k], v)) continue; // an explicit input echoed back: the replacement has it too
    if (r.name.length >= 3 && v.includes(r.name)) out[k] = v.split(r.name).join(`${r.name}-${tag}`);
    else if (IDENTITY_WITHOUT_NAME.has(`${r.type}.${k}`)) out[k] = v.replace(/(\S)(\s*)$/, `$1${tag}$2`);
  }
  const onOwnInterface = r.type === "aws:ec2/instance:Instance" && isObject(r.inputs.primaryNetworkInterface) && r.inputs.primaryNetworkInterface.networkInterfaceId !== undefined;
  // A new instance gets a new private address unless it runs on a kept network interface (that keeps
  // its address) or pins one; so does a new interface.
  const ownsAddress = (r.type === "aws:ec2/instance:Instance" && !onOwnInterface) || r.type === "aws:ec2/networkInterface:NetworkInterface";
  if (ownsAddress && r.inputs.privateIp === undefined && r.inputs.privateIps === undefined && out.privateIp === old.privateIp && typeof out.privateIp === "string") {
    const parts = out.privateIp.split(".");
    parts[3] = String(((Number(parts[3]) + 100 + (parseInt(h.slice(0, 2), 16) % 50)) % 250) + 2);
    out.privateIp = parts.join(".");
  }
  if (r.type === "aws:ec2/instance:Instance" && out.publicIp && out.publicIp === old.publicIp) out.publicIp = `203.0.113.${(parseInt(h.slice(2, 4), 16) % 250) + 2}`;
  return out;
}

/** Identity outputs that do not carry the resource's name in the mock (a new key's public half). */
const IDENTITY_WITHOUT_NAME = new Set(["tls:index/privateKey:PrivateKey.publicKeyOpenssh"]);

/**
 * The provider's answer for one registration, given the prior state: kept resources keep id and outputs,
 * replaced ones get new ones, a changed launch template gets its next version.
 */
export function answer(r: Registration, fresh: ProviderAnswer, prior: PriorState | undefined, region: string): ProviderAnswer {
  const old = prior && priorFor(prior, r.urn, r.aliases);
  if (!prior) return fresh;
  if (!old) return createdIdentity(r, fresh, prior);
  const d = diffResource(r.type, old.inputs, r.inputs, { ignoreChanges: r.ignoreChanges, replaceOnChanges: r.replaceOnChanges }, prior.region !== region);
  const oldOutputs = old.outputs ?? {};
  // A dependent of a delete-before-replace is recreated too (a new id for its own dependents), even unchanged.
  const dependent = dependentReplaceKeys(old.type, old.inputs, old.propertyDependencies, (u) => prior.replaceSet.has(u)).length > 0;
  if (dependent || (d.replaceReasons.length && r.deleteBeforeReplace)) prior.replaceSet.add(old.urn);
  if (d.replaceReasons.length || dependent) {
    return { id: replacementId(fresh.id, r), outputs: replacementOutputs(r, fresh.outputs, oldOutputs) };
  }
  const outputs = { ...fresh.outputs, ...oldOutputs };
  if (r.type === "aws:ec2/launchTemplate:LaunchTemplate" && d.changedInputs.some((p) => !LT_NOT_VERSIONED.test(p))) {
    // A change of the template's data creates a new version (terraform-provider-aws launch_template.go:
    // everything except default_version, update_default_version, description and tags).
    outputs.latestVersion = Number(oldOutputs.latestVersion ?? fresh.outputs.latestVersion ?? 1) + 1;
  }
  if (r.type === "aws:ec2/instance:Instance" && d.changedInputs.some((p) => STOP_START.test(p)) && outputs.publicIp) {
    // Stop/start in place: the private address stays, an auto-assigned public address does not (an EIP would).
    outputs.publicIp = `203.0.113.${(parseInt(hash([r.urn, r.inputs]).slice(0, 2), 16) % 250) + 2}`;
    if (outputs.publicIp === oldOutputs.publicIp) outputs.publicIp = `203.0.113.${((parseInt(String(outputs.publicIp).split(".")[3]) + 1) % 250) + 2}`;
  }
  return { id: old.id ?? fresh.id, outputs };
}

const STOP_START = /^(instanceType|userData|userDataBase64)$/;

const LT_NOT_VERSIONED = /^(tags|tagsAll|defaultVersion|updateDefaultVersion|description)(\.|\[|$)/;

/**
 * What Pulumi hands the provider (and so the program, as the resource's state) for a resource with a
 * deployed state: the new inputs, except that every `ignoreChanges` path keeps the deployed value (absent
 * there: absent). Ignored values flow on to dependents as they are deployed, not as the program says.
 */
export function withIgnoredFromPrior(inputs: Record<string, unknown>, priorInputs: Record<string, unknown>, ignoreChanges: string[]): Record<string, unknown> {
  let out = inputs;
  for (const p of ignoreChanges) out = setAt(out, pathSegments(p), (old) => old, priorInputs) as Record<string, unknown>;
  return out;
}

/** `a.b[0]["c:d"][*]` -> ["a", "b", 0, "c:d", "*"]. */
function pathSegments(p: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of p.matchAll(/\[(\d+|\*|"(?:[^"\\]|\\.)*")\]|([^.[\]]+)/g)) {
    if (m[2] !== undefined) out.push(m[2]);
    else if (m[1] === "*") out.push("*");
    else if (m[1].startsWith('"')) out.push(JSON.parse(m[1]) as string);
    else out.push(Number(m[1]));
  }
  return out;
}

/** Copy-on-write: `target` with the value at `segs` taken from `source` at the same place. */
function setAt(target: unknown, segs: (string | number)[], pick: (old: unknown) => unknown, source: unknown): unknown {
  const src = unwrap(source);
  if (!segs.length) return pick(src);
  const [head, ...rest] = segs;
  if (head === "*") {
    if (!Array.isArray(target)) return target;
    return target.map((t, i) => setAt(t, rest, pick, Array.isArray(src) ? src[i] : undefined));
  }
  const container = (target ?? (typeof head === "number" ? [] : {})) as Record<string | number, unknown>;
  if (typeof container !== "object") return target;
  const next = setAt(container[head], rest, pick, (src as Record<string | number, unknown> | undefined)?.[head]);
  const copy = (Array.isArray(container) ? [...container] : { ...container }) as Record<string | number, unknown>;
  if (next === undefined) delete copy[head];
  else copy[head] = next;
  return copy;
}

interface UrnPlan {
  stack: string;
  project: string;
  resources: { urn: string; type: string; name: string; parent: string | null; propertyDependencies?: Record<string, string[]>; options: { dependsOn: string[]; deletedWith?: string | null; aliases?: string[] } }[];
}

/**
 * A plan with every URN in the engine's form (`pulumiUrn`), recomputed from the parent links: plans saved
 * (or planned at a git revision) before opsfleet formed URNs that way carry only the parent's own type.
 * References (parent, dependsOn, deletedWith, propertyDependencies, aliases) follow. Idempotent.
 */
export function withPulumiUrns<P extends UrnPlan>(plan: P): P {
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  const fixed = new Map<string, string>();
  const urnOf = (r: UrnPlan["resources"][number], seen = new Set<string>()): string => {
    const known = fixed.get(r.urn);
    if (known) return known;
    const parent = r.parent ? byUrn.get(r.parent) : undefined;
    if (seen.has(r.urn)) throw new Error(`withPulumiUrns: parent cycle at ${r.urn}`);
    seen.add(r.urn);
    const parentUrn = parent ? urnOf(parent, seen) : r.parent ?? undefined;
    const urn = pulumiUrn(plan.stack, plan.project, parentUrn, r.type, r.name);
    fixed.set(r.urn, urn);
    return urn;
  };
  for (const r of plan.resources) urnOf(r);
  if ([...fixed].every(([a, b]) => a === b)) return plan;
  const to = (u: string) => fixed.get(u) ?? u;
  return {
    ...plan,
    resources: plan.resources.map((r) => ({
      ...r,
      urn: to(r.urn),
      parent: r.parent === null ? null : to(r.parent),
      ...(r.propertyDependencies ? { propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, us]) => [k, us.map(to)])) } : {}),
      options: {
        ...r.options,
        dependsOn: r.options.dependsOn.map(to),
        ...(r.options.deletedWith ? { deletedWith: to(r.options.deletedWith) } : {}),
        ...(r.options.aliases ? { aliases: r.options.aliases.map(to) } : {}),
      },
    })),
  };
}
