/**
 * The offline plan engine: stack file → mock runtime → resources, options, hosts. Shared by
 * `npm run plan` and the tests that hold the plan's JSON contract.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { computedOutputs, mockId, mockInvoke, pulumiUrn, recordAnswer, resetMockData, usePulumiUrns } from "../test/harness/mock-data";
import { ConfigError, loadConfig, NAMESPACE, neededSecrets, readRawConfig } from "../stacks/config/load";
import { SECRET_KEYS, type OpsfleetConfig } from "../stacks/config/schema";
import { buildOpsfleet } from "../stacks/opsfleet";
import { Host, type HostManifest } from "../components/host";
import { renderValue } from "./plan-render";
import { planViolations } from "./plan-policies";
import { answer, priorFor, priorStateOf, withIgnoredFromPrior, type PriorState } from "./change/state";
import { readYamlFile, StackFileError } from "./stack-file";

export class PlanError extends Error {
  constructor(public readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

export interface PlanResource {
  /** Pulumi type token, e.g. aws:ec2/instance:Instance. */
  type: string;
  name: string;
  urn: string;
  /** URN of the parent; null for top-level resources. */
  parent: string | null;
  /** true for provider resources, false for components. */
  custom: boolean;
  /** Inputs as passed to the resource; secret values as { "$secret": placeholder }. */
  inputs: Record<string, unknown>;
  /** The (mock) provider's id; null for components (always set by buildPlan; optional for hand-built test plans). Kept across a change unless the resource is replaced. */
  id?: string | null;
  /** Provider-computed outputs (ids, addresses, ARNs, `latestVersion`), not the echoed inputs. */
  outputs?: Record<string, unknown>;
  /**
   * Per top-level input, the URNs of the resources whose outputs flow into it (Pulumi's
   * `propertyDependencies`): a delete-before-replace resource first replaces the dependents whose
   * input so named forces replacement. Always set by buildPlan; optional for hand-built test plans.
   */
  propertyDependencies?: Record<string, string[]>;
  options: {
    dependsOn: string[];
    ignoreChanges: string[];
    deletedWith: string | null;
    protect: boolean;
    additionalSecretOutputs: string[];
    replaceOnChanges: string[];
    deleteBeforeReplace: boolean;
    retainOnDelete: boolean;
    /** URNs this resource was known by before (Pulumi `aliases`): a change preview matches them. */
    aliases?: string[];
  };
}

export interface Plan {
  version: 1;
  project: string;
  stack: string;
  region: string;
  /** Validated config with defaults applied (secrets are not part of it). */
  config: OpsfleetConfig;
  /** Secret keys the stack file does not hold; the plan used `<secret:key>` placeholders for them. */
  placeholderSecrets: string[];
  resources: PlanResource[];
  counts: Record<string, number>;
  hosts: HostManifest[];
  outputs: unknown;
  /** Security-check findings (tools/plan-policies.ts); an empty list is required to pass CI. */
  violations: string[];
}

interface StackFiles {
  project: string;
  config: Record<string, string>;
  secretKeys: string[];
  placeholderSecrets: string[];
}

/**
 * `ciphertext`: the stack file's `secure:` value; its fingerprint makes a rotated secret visible to a change
 * preview (`<secret:redisPassword@1a2b3c4d>`, still an acceptable password) without revealing anything.
 */
export function secretPlaceholder(key: string, ciphertext?: string): string {
  const id = ciphertext ? `${key}@${createHash("sha256").update(ciphertext).digest("hex").slice(0, 8)}` : key;
  // The SSH key placeholder keeps the PEM frame so the same validation as `pulumi up` applies.
  return key === "sshPrivateKey"
    ? `-----BEGIN OPENSSH PRIVATE KEY-----\n<secret:${id}>\n-----END OPENSSH PRIVATE KEY-----\n`
    : `<secret:${id}>`;
}

/** Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the CLI would hand them to the program. */
export function readStackFiles(root: string, stack: string, strictSecrets: boolean, stackFileText?: string): StackFiles {
  const projectFile = path.join(root, "Pulumi.yaml");
  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  if (stackFileText === undefined && !fs.existsSync(stackFile)) {
    const known = fs.readdirSync(root).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5)).sort();
    throw new PlanError([`no stack file Pulumi.${stack}.yaml; stacks here: ${known.join(", ") || "none"}`]);
  }
  let project: { name: string };
  let doc: { config?: Record<string, unknown> };
  try {
    project = readYamlFile(projectFile) as { name: string };
    doc = (readYamlFile(stackFile, stackFileText) ?? {}) as { config?: Record<string, unknown> };
  } catch (e) {
    throw e instanceof StackFileError ? new PlanError([e.message]) : e;
  }
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(doc.config ?? {})) {
    const key = k.includes(":") ? k : `${project.name}:${k}`;
    if (v && typeof v === "object" && "secure" in (v as object)) {
      config[key] = secretPlaceholder(key.split(":").slice(1).join(":"), String((v as { secure: unknown }).secure));
      secretKeys.push(key);
    } else {
      config[key] = typeof v === "string" ? v : JSON.stringify(v);
    }
  }
  const placeholderSecrets: string[] = [];
  if (!strictSecrets) {
    for (const key of Object.keys(SECRET_KEYS)) {
      const full = `${NAMESPACE}:${key}`;
      if (!(full in config)) {
        config[full] = secretPlaceholder(key);
        secretKeys.push(full);
        placeholderSecrets.push(key);
      }
    }
  }
  return { project: project.name, config, secretKeys, placeholderSecrets };
}

/** Resolves an Input without leaking unknowns (the mocks run with preview=false, so everything resolves). */
function resolve<T>(v: pulumi.Input<T>): Promise<T> {
  // The apply returns nothing: returning the value would make the SDK walk it for unknowns, and a
  // resource (dependsOn, parent) leads through the whole resource graph.
  return new Promise((res) => pulumi.output(v).apply((x) => { res(x as T); return undefined; }));
}

async function propertyDependenciesOf(props: Record<string, unknown>, urnOf: Map<pulumi.Resource, string>): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(props ?? {})) {
    const rs = new Set<pulumi.Resource>();
    await propertyResources(v, rs);
    const urns = [...rs].map((r) => urnOf.get(r) ?? "<unrecorded>").sort();
    if (urns.length) out[k] = urns;
  }
  return out;
}

/** The resources whose outputs an input value carries (deep: objects, arrays, promises, Outputs). */
async function propertyResources(v: unknown, into: Set<pulumi.Resource>): Promise<void> {
  if (v === null || v === undefined || typeof v !== "object" || pulumi.Resource.isInstance(v)) return;
  if (pulumi.Output.isInstance(v)) {
    const all = (v as unknown as { allResources?: () => Promise<Set<pulumi.Resource>> }).allResources;
    for (const r of all ? await all.call(v) : []) into.add(r);
    return;
  }
  if (v instanceof Promise) return propertyResources(await v, into);
  for (const x of Array.isArray(v) ? v : Object.values(v)) await propertyResources(x, into);
}

async function resourcesOf(x: unknown): Promise<pulumi.Resource[]> {
  if (x === undefined || x === null) return [];
  const v = await resolve(x as pulumi.Input<unknown>);
  return (Array.isArray(v) ? v : [v]).filter((r): r is pulumi.Resource => pulumi.Resource.isInstance(r));
}

export interface BuildPlanOptions {
  stack: string;
  root: string;
  strictSecrets?: boolean;
  /** Stack file content to use instead of `Pulumi.<stack>.yaml` (config variations in tests). */
  stackFileText?: string;
  /**
   * The plan of the deployed state (a change preview's "before"): kept resources keep their ids and
   * addresses, replaced ones get new ids, changed launch templates their next version (tools/change/state.ts).
   */
  prior?: Plan;
  /** Answers data sources before the canned mocks do (e.g. Debian publishing a new image); undefined falls through. */
  invoke?: (token: string, inputs: Record<string, any>) => Record<string, unknown> | undefined;
}

export async function buildPlan(o: BuildPlanOptions): Promise<Plan> {
  // The SDK captures a stack trace for every promise and resource; with source maps that is most of a
  // plan's CPU time (a change preview runs two plans, the change-safety tests dozens). Off while planning;
  // OPSFLEET_PLAN_STACKS=1 keeps them for debugging the program.
  if (process.env.OPSFLEET_PLAN_STACKS === "1") return buildPlanNow(o);
  const limit = Error.stackTraceLimit;
  const sourceMaps = process.sourceMapsEnabled;
  const prepare = Error.prepareStackTrace; // jest installs a source-mapping one
  Error.stackTraceLimit = 1;
  process.setSourceMapsEnabled(false);
  Error.prepareStackTrace = (e: Error) => `${e.name}: ${e.message}`;
  try {
    return await buildPlanNow(o);
  } finally {
    Error.stackTraceLimit = limit;
    process.setSourceMapsEnabled(sourceMaps);
    Error.prepareStackTrace = prepare;
  }
}

async function buildPlanNow(o: BuildPlanOptions): Promise<Plan> {
  const files = readStackFiles(o.root, o.stack, o.strictSecrets ?? false, o.stackFileText);
  const registrations: pulumi.runtime.MockResourceArgs[] = [];
  const prior: PriorState | undefined = o.prior ? priorStateOf(o.prior) : undefined;
  // What the transformation saw of each resource (parent, options), for the mock provider's answer.
  const pending = new Map<string, pulumi.ResourceTransformationArgs>();
  const answers = new Map<string, { id: string | null; outputs: Record<string, unknown> }>();
  let region = "";
  resetMockData();
  await pulumi.runtime.setMocks(
    {
      async newResource(a) {
        registrations.push(a);
        const key = `${a.type}::${a.name}`;
        const fresh = { id: mockId(a), outputs: computedOutputs(a) };
        if (!prior || !a.custom) {
          answers.set(key, { id: a.custom ? fresh.id : null, outputs: a.custom ? fresh.outputs : {} });
          return { id: fresh.id, state: { ...a.inputs, ...fresh.outputs } };
        }
        const t = pending.get(key);
        const opts = (t?.opts ?? {}) as pulumi.CustomResourceOptions;
        const parentUrn = opts.parent ? await resolve(opts.parent.urn) : undefined;
        const urn = pulumiUrn(o.stack, files.project, parentUrn, a.type, a.name);
        const aliasList = await aliasUrns(opts, a.type, a.name, o.stack, files.project, parentUrn);
        const got = answer(
          {
            urn, type: a.type, name: a.name,
            inputs: (await renderValue(a.inputs)) as Record<string, unknown>,
            ignoreChanges: opts.ignoreChanges ?? [],
            replaceOnChanges: opts.replaceOnChanges ?? [],
            deleteBeforeReplace: opts.deleteBeforeReplace ?? false,
            aliases: aliasList,
          },
          fresh,
          prior,
          region,
        );
        answers.set(key, got);
        // Ignored paths keep the deployed value in the state the program (and its dependents) see.
        const deployed = priorFor(prior, urn, aliasList);
        const inputs = deployed && opts.ignoreChanges?.length ? withIgnoredFromPrior(a.inputs, deployed.inputs, opts.ignoreChanges) : a.inputs;
        recordAnswer(a, got.id, got.outputs, inputs);
        return { id: got.id, state: { ...inputs, ...got.outputs } };
      },
      call(a) {
        return o.invoke?.(a.token, a.inputs) ?? mockInvoke(a.token, a.inputs);
      },
    },
    files.project,
    o.stack,
    false,
  );
  usePulumiUrns();
  pulumi.runtime.setAllConfig(files.config, files.secretKeys);

  let loaded;
  try {
    loaded = loadConfig(readRawConfig());
    region = loaded.region;
  } catch (e) {
    if (e instanceof ConfigError) throw new PlanError(e.problems);
    throw e;
  }

  const seen: pulumi.ResourceTransformationArgs[] = [];
  const failures: string[] = [];
  const onRejection = (e: unknown) => failures.push(e instanceof Error ? e.message : String(e));
  process.on("unhandledRejection", onRejection);
  const outputs = buildOpsfleet(loaded, o.stack, { transformations: [(a) => { seen.push(a); pending.set(`${a.type}::${a.name}`, a); return undefined; }] });

  // Children may be created inside applies: wait until no new resource appears.
  let settled = -1;
  while (settled !== seen.length) {
    settled = seen.length;
    await resolve(pulumi.all(seen.map((s) => s.resource.urn)));
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  }
  const hosts = await Promise.all(seen.filter((s) => s.resource instanceof Host).map((s) => resolve((s.resource as Host).manifest())));
  const resolvedOutputs = await renderValue(await resolve(pulumi.output(outputs as unknown as Record<string, unknown>)));
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  process.off("unhandledRejection", onRejection);
  if (failures.length) throw new PlanError(failures);

  const urnOf = new Map<pulumi.Resource, string>();
  for (const s of seen) urnOf.set(s.resource, await resolve(s.resource.urn));
  const regByKey = new Map(registrations.map((r) => [`${r.type}::${r.name}`, r]));

  const resources: PlanResource[] = [];
  for (const s of seen) {
    const reg = regByKey.get(`${s.type}::${s.name}`);
    const opts = s.opts as pulumi.CustomResourceOptions;
    const parent = opts.parent ? urnOf.get(opts.parent) ?? null : null;
    const got = answers.get(`${s.type}::${s.name}`);
    resources.push({
      type: s.type,
      name: s.name,
      urn: urnOf.get(s.resource)!,
      parent,
      custom: reg?.custom ?? pulumi.CustomResource.isInstance(s.resource),
      inputs: (await renderValue(reg?.inputs ?? {})) as Record<string, unknown>,
      id: got?.id ?? null,
      outputs: (await renderValue(got?.outputs ?? {})) as Record<string, unknown>,
      propertyDependencies: await propertyDependenciesOf(s.props, urnOf),
      options: {
        dependsOn: (await resourcesOf(opts.dependsOn)).map((r) => urnOf.get(r) ?? "<unrecorded>"),
        ignoreChanges: opts.ignoreChanges ?? [],
        deletedWith: opts.deletedWith ? urnOf.get(opts.deletedWith) ?? "<unrecorded>" : null,
        protect: opts.protect ?? false,
        additionalSecretOutputs: opts.additionalSecretOutputs ?? [],
        replaceOnChanges: opts.replaceOnChanges ?? [],
        deleteBeforeReplace: opts.deleteBeforeReplace ?? false,
        retainOnDelete: opts.retainOnDelete ?? false,
        aliases: await aliasUrns(opts, s.type, s.name, o.stack, files.project, parent ?? undefined),
      },
    });
  }
  // Every registration must be visible in the plan: a resource created without the stack's options
  // (no parent, no opts) would be missing from the tree and unreviewed.
  const recorded = new Set(seen.map((s) => `${s.type}::${s.name}`));
  const unrecorded = registrations.filter((r) => !recorded.has(`${r.type}::${r.name}`));
  if (unrecorded.length) throw new PlanError(unrecorded.map((r) => `resource ${r.type} ${r.name} was created without the stack's options (no parent): pass ctx.opts or { parent }`));

  const violations = planViolations({ resources, stack: o.stack });
  const counts: Record<string, number> = {};
  for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return {
    version: 1,
    project: files.project,
    stack: o.stack,
    region: loaded.region,
    config: loaded.config,
    // only the secrets this stack's systems need (an ELK-less stack needs no elasticPassword)
    placeholderSecrets: files.placeholderSecrets.filter((k) => neededSecrets(loaded.config).includes(k as keyof typeof SECRET_KEYS)),
    resources,
    counts: Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))),
    hosts: hosts.sort((a, b) => a.host.localeCompare(b.host)),
    outputs: resolvedOutputs,
    violations,
  };
}

/** Alias URNs of a resource (string aliases as given; `{ name, type, parent, ... }` completed like the SDK). */
async function aliasUrns(opts: pulumi.ResourceOptions, type: string, name: string, stack: string, project: string, parentUrn: string | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const al of opts.aliases ?? []) {
    const a = await resolve(al as pulumi.Input<string | pulumi.Alias>);
    if (typeof a === "string") {
      out.push(a);
      continue;
    }
    let p: string | undefined = parentUrn;
    if (a.parent) p = pulumi.Resource.isInstance(a.parent) ? await resolve(a.parent.urn) : await resolve(a.parent as pulumi.Input<string>);
    const q = pulumiUrn((await resolve(a.stack ?? stack)) as string, (await resolve(a.project ?? project)) as string, p, (await resolve(a.type ?? type)) as string, (await resolve(a.name ?? name)) as string);
    out.push(q);
  }
  return out;
}

/** Preview-like text: the resource tree, counts per type, and what lands on each host. */
export function renderText(plan: Plan): string {
  const lines: string[] = [];
  lines.push(`opsfleet offline plan: stack ${plan.stack} (${plan.region}), ${plan.resources.length} resources to create`);
  if (plan.placeholderSecrets.length) {
    lines.push(`note: secrets not in Pulumi.${plan.stack}.yaml, shown as placeholders: ${plan.placeholderSecrets.join(", ")}`);
    lines.push(`      set them with \`pulumi config set --secret opsfleet:<key> ...\` before \`pulumi up\``);
  }
  lines.push("", "Resources:");
  const children = new Map<string | null, PlanResource[]>();
  for (const r of plan.resources) {
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const walk = (parent: string | null, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      const flags = [r.options.protect ? "protected" : "", r.options.ignoreChanges.length ? `ignoreChanges=${r.options.ignoreChanges.join(",")}` : ""].filter(Boolean);
      lines.push(`  ${"   ".repeat(depth)}+ ${r.type.padEnd(Math.max(1, 48 - depth * 3))} ${r.name}${flags.length ? `  [${flags.join("; ")}]` : ""}`);
      walk(r.urn, depth + 1);
    }
  };
  walk(null, 0);
  lines.push("", "Counts by type:");
  for (const [t, n] of Object.entries(plan.counts)) lines.push(`  ${String(n).padStart(4)}  ${t}`);
  lines.push("", "Hosts:");
  for (const h of plan.hosts) {
    lines.push(`  ${h.host} (${h.instanceType}, ${h.privateIp})`);
    lines.push(`    steps: ${h.steps.map((s) => s.name).join(" -> ")}`);
    for (const f of h.files) lines.push(`    ${f.mode} ${`${f.owner}:${f.group}`.padEnd(28)} ${String(Buffer.byteLength(f.content)).padStart(6)} B  ${f.path}`);
  }
  lines.push("", plan.violations.length ? `Security check: ${plan.violations.length} violation(s):` : "Security check: no violations");
  for (const v of plan.violations) lines.push(`  ! ${v}`);
  lines.push("", `(offline: nothing was created; \`npm run -s plan -- --stack ${plan.stack} --json\` for the full plan with inputs and file contents)`);
  return lines.join("\n") + "\n";
}
