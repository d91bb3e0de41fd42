/**
 * What the (mock) provider keeps across a change, like Pulumi state: a plan run with the before plan as
 * its prior state gives a kept resource its old id and computed outputs (addresses, names), gives a
 * replaced resource a new id and fresh outputs (so every input that refers to it changes: the cascade),
 * and gives a launch template whose inputs changed the next `latestVersion`. Pure: the mock callbacks in
 * tools/plan-core.ts feed it.
 */
import { createHash } from "node:crypto";
import { pulumiUrn } from "../../test/harness/mock-data";
import { dependentReplaceKeys, diffResource, replaceForcingValues } from "./rules";

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
}

export function priorStateOf(plan: { region: string; resources: StateResource[] }): PriorState {
  return { region: plan.region, byUrn: new Map(plan.resources.map((r) => [r.urn, r])), replaceSet: new Set() };
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

/** Outputs a replacement gets from AWS that differ from the old resource's even when inputs look alike. */
function replacementOutputs(r: Registration, fresh: Record<string, unknown>, old: Record<string, unknown>): Record<string, unknown> {
  const out = { ...fresh };
  const h = hash([r.urn, r.inputs]);
  if (r.type === "aws:ec2/instance:Instance") {
    // A new instance gets a new private address (unless pinned) and a new public one.
    if (r.inputs.privateIp === undefined && out.privateIp === old.privateIp && typeof out.privateIp === "string") {
      const parts = out.privateIp.split(".");
      parts[3] = String(((Number(parts[3]) + 100 + (parseInt(h.slice(0, 2), 16) % 50)) % 250) + 2);
      out.privateIp = parts.join(".");
    }
    if (out.publicIp && out.publicIp === old.publicIp) out.publicIp = `203.0.113.${(parseInt(h.slice(2, 4), 16) % 250) + 2}`;
  }
  // A key pair without an explicit name gets a generated one: the replacement has a new name.
  if (r.type === "aws:ec2/keyPair:KeyPair" && r.inputs.keyName === undefined) out.keyName = `${r.name}-${h.slice(0, 8)}`;
  return out;
}

/**
 * The provider's answer for one registration, given the prior state: kept resources keep id and outputs,
 * replaced ones get new ones, a changed launch template gets its next version.
 */
export function answer(r: Registration, fresh: ProviderAnswer, prior: PriorState | undefined, region: string): ProviderAnswer {
  const old = prior && priorFor(prior, r.urn, r.aliases);
  if (!old) return fresh;
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
