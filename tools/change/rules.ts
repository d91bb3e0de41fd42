/**
 * Pure: one resource's old and new inputs -> which input paths changed and which of them force a
 * replacement, from the provider data in replace-forcing.json (see tools/change/README.md for its
 * source and provider versions). No resource type is special-cased here beyond what the data says.
 */
import { architectureOf } from "../../components/ami";
import data from "./replace-forcing.json";

interface Conditional {
  prop: string;
  when: string;
}
export interface ReplaceRule {
  replaceOn: string[];
  optionalComputed: string[];
  conditional?: Conditional[] | null;
  topLevelReplaceKeys?: string[];
}

const RULES = data as unknown as Record<string, ReplaceRule>;

/** Marks a note about a changed resource whose type has no replace data (render shows a count up front). */
export const UNKNOWN_TYPE = "UNKNOWN:";

/** Marks a change AWS will refuse: `pulumi up` fails at that resource (render shows a count up front). */
export const REFUSED = "REFUSED:";

/** Rules for a type token; undefined when the data does not know the type (see `unknownTypes`). */
export function ruleFor(type: string): ReplaceRule | undefined {
  return RULES[type];
}

/**
 * Nested blocks that are Terraform *sets* of objects: an edited element is a removed one plus an added
 * one, so any edit inside replaces (replace-forcing README, "Format"; Group.initialLifecycleHooks notes).
 */
const SET_BLOCKS = new Set(["ebsBlockDevices", "launchTemplateConfigs", "launchSpecifications", "initialLifecycleHooks"]);

export interface Change {
  /** Path as Pulumi shows it: `connection.host`, `tags["opsfleet:stack"]`, `triggers[0]`. */
  path: string;
  before: unknown;
  after: unknown;
}

export interface ResourceDiff {
  changedInputs: string[];
  replaceReasons: string[];
  /** Facts the operator should know that are not a replace (stop/start, unevaluated provider rules). */
  notes: string[];
}

export interface DiffOptions {
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

export function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** `{ $secret: x }` is how the plan marks secrets; the diff looks through it (Pulumi shows the same path). */
export function unwrap(v: unknown): unknown {
  return isObject(v) && "$secret" in v && Object.keys(v).length === 1 ? unwrap(v.$secret) : v;
}

/** Values the plan renders as opaque leaves (assets, archives, resource references). */
function isLeafObject(v: Record<string, unknown>): boolean {
  return "$asset" in v || "$archive" in v || "$resource" in v;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  a = unwrap(a);
  b = unwrap(b);
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  // Pulumi compares property values; a number and its string form are the same input to the provider.
  if ((typeof a === "number" && typeof b === "string") || (typeof a === "string" && typeof b === "number")) return String(a) === String(b);
  return false;
}

function childPath(base: string, key: string): string {
  if (IDENT.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

/** Every leaf that differs between two input trees. */
export function changedLeaves(before: unknown, after: unknown, base = ""): Change[] {
  const a = unwrap(before);
  const b = unwrap(after);
  if (deepEqual(a, b)) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: Change[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...changedLeaves(a[i], b[i], `${base}[${i}]`));
    return out;
  }
  if (isObject(a) && isObject(b) && !isLeafObject(a) && !isLeafObject(b)) {
    const out: Change[] = [];
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) out.push(...changedLeaves(a[k], b[k], childPath(base, k)));
    return out;
  }
  return [{ path: base, before: a, after: b }];
}

/** `a[0].b["c:d"]` -> `a.b.c:d`: the form the provider data uses (array positions do not matter). */
export function normalizePath(p: string): string {
  return p
    .replace(/\[\*\]|\[\d+\]/g, "")
    .replace(/\["((?:[^"\\]|\\.)*)"\]/g, (_m, k: string) => `.${JSON.parse(`"${k}"`)}`)
    .replace(/\*$/, "")
    .replace(/^\./, "")
    .replace(/\.$/, "");
}

/** Whether `path` is `prefix` or lies under it. */
function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix + ".");
}

/** Every value at a normalized path, through arrays. */
function valuesAt(v: unknown, path: string): unknown[] {
  let cur: unknown[] = [unwrap(v)];
  for (const seg of path ? path.split(".") : []) {
    const next: unknown[] = [];
    for (const c of cur) {
      const items = Array.isArray(c) ? c : [c];
      for (const it of items) next.push(isObject(it) ? unwrap(it[seg]) : undefined);
    }
    cur = next;
  }
  return cur;
}

/** Presence and element counts of a nested block: adding or removing elements replaces a ForceNew block. */
function blockShape(v: unknown, path: string): string {
  return JSON.stringify(valuesAt(v, path).map((x) => (x === undefined || x === null ? "-" : Array.isArray(x) ? x.length : "+")));
}

function isBlockValue(v: unknown): boolean {
  return isObject(v) || (Array.isArray(v) && v.some((x) => isObject(unwrap(x))));
}

/** What tls provider states before v4 stored instead of a PEM: its SHA-1 hex digest. */
const LEGACY_PEM_HASH = /^[0-9a-f]{40}$/;

const SOURCE_TYPE_KEYS = ["cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"];

/** Provider CustomizeDiff rules the data lists as `conditional`, evaluated where the plan has what they need. */
function conditionalReplace(cond: Conditional, before: Record<string, unknown>, after: Record<string, unknown>, changed: Set<string>): boolean | undefined {
  const changedAt = (p: string) => [...changed].some((c) => under(c, p));
  switch (cond.prop) {
    case "userData":
    case "userDataBase64":
      if (!changedAt(cond.prop)) return false;
      return after.userDataReplaceOnChange === true;
    case "instanceType": {
      if (!changedAt("instanceType")) return false;
      const [a, b] = [before.instanceType, after.instanceType];
      return typeof a === "string" && typeof b === "string" && architectureOf(a) !== architectureOf(b);
    }
    case "launchTemplate.version":
      return changedAt("launchTemplate.version");
    case "cidrIpv4|cidrIpv6|prefixListId|referencedSecurityGroupId": {
      const kind = (x: Record<string, unknown>) => SOURCE_TYPE_KEYS.filter((k) => x[k] !== undefined && x[k] !== null).join(",");
      return kind(before) !== kind(after);
    }
    case "caCertPem":
    case "caPrivateKeyPem":
    case "certRequestPem":
    case "privateKeyPem":
      // requireReplaceIfStateContainsPEMString: the state holds the PEM itself (only legacy states held a hash)
      if (!changedAt(cond.prop)) return false;
      return typeof unwrap(before[cond.prop]) === "string" && !LEGACY_PEM_HASH.test(String(unwrap(before[cond.prop])));
    case "region":
      return false; // a plan-wide fact: see `regionChanged`
    default:
      return changedAt(cond.prop) ? undefined : false;
  }
}

/**
 * The diff Pulumi would show for one resource. `regionChanged`: the stack's region moved (replaces every
 * regional resource, the data's `region` conditional).
 */
export function diffResource(type: string, before: Record<string, unknown>, after: Record<string, unknown>, opts: DiffOptions = {}, regionChanged = false): ResourceDiff {
  const rule = ruleFor(type);
  const ignored = (opts.ignoreChanges ?? []).map(normalizePath);
  const optionalComputed = new Set(rule?.optionalComputed ?? []);
  const notes: string[] = [];
  const leaves = changedLeaves(before, after).filter((c) => {
    const n = normalizePath(c.path);
    if (ignored.some((i) => under(n, i))) return false;
    // Optional+Computed left unset: the provider keeps what AWS chose, no diff.
    if (c.after === undefined && optionalComputed.has(n)) return false;
    return true;
  });
  const changedInputs = leaves.map((c) => c.path);
  const norm = new Set(leaves.map((c) => normalizePath(c.path)));
  const reasons = new Set<string>();

  for (const r of rule?.replaceOn ?? []) {
    const hit = [...norm].filter((n) => under(n, r));
    if (!hit.length) continue;
    if (hit.includes(r)) {
      reasons.add(r);
      continue;
    }
    const topSet = r.split(".")[0];
    const blockHere = valuesAt(before, r).concat(valuesAt(after, r)).some(isBlockValue);
    if (!blockHere) reasons.add(r); // a ForceNew map or list of scalars: any change inside replaces
    else if (SET_BLOCKS.has(topSet) && r === topSet) for (const n of hit) reasons.add(deepestRule(rule!, n) ?? r);
    else if (blockShape(before, r) !== blockShape(after, r)) reasons.add(r);
  }
  for (const pat of (opts.replaceOnChanges ?? []).map(normalizePath)) if ([...norm].some((n) => under(n, pat))) reasons.add(pat);
  for (const cond of rule?.conditional ?? []) {
    const r = conditionalReplace(cond, before, after, norm);
    if (r === true) reasons.add(cond.prop);
    else if (r === undefined) notes.push(`${cond.prop} changed: the provider replaces when ${cond.when}`);
  }
  if (regionChanged && (rule?.conditional ?? []).some((c) => c.prop === "region")) reasons.add("region");
  // Unknown is not "update": without the provider's data any change may replace. Loud, never silent.
  if (!rule && changedInputs.length && !type.startsWith("opsfleet:")) notes.push(`${UNKNOWN_TYPE} no replace data for ${type}: shown as an update, but it may be a replacement (check with \`pulumi preview\`; add the type to tools/change/replace-forcing.json)`);
  // replace-forcing.json notes for aws_ebs_volume: size is an in-place ModifyVolume that only grows.
  if (type === "aws:ebs/volume:Volume" && norm.has("size") && Number(unwrap(after.size)) < Number(unwrap(before.size))) {
    notes.push(`${REFUSED} AWS refuses: volumes only grow (size ${String(unwrap(before.size))} -> ${String(unwrap(after.size))} GiB fails in ModifyVolume; shrinking needs a new volume and a data copy)`);
  }
  if (type === "aws:ec2/instance:Instance" && !reasons.size && [...norm].some((n) => n === "userData" || n === "userDataBase64" || n === "instanceType")) {
    notes.push("stop/start: a userData or instanceType change stops and starts the instance in place");
  }
  return { changedInputs, replaceReasons: [...reasons].sort(), notes };
}

/** The most specific replace-forcing path that covers `n` (for a set block edited inside). */
function deepestRule(rule: ReplaceRule, n: string): string | undefined {
  return rule.replaceOn.filter((r) => under(n, r)).sort((a, b) => b.length - a.length)[0];
}

/** The replace-forcing input values of a resource: what its identity on the cloud depends on. */
export function replaceForcingValues(type: string, inputs: Record<string, unknown>, replaceOnChanges: string[] = []): unknown {
  const rule = ruleFor(type);
  const paths = [...(rule?.replaceOn ?? []), ...replaceOnChanges.map(normalizePath)];
  return Object.fromEntries(paths.map((p) => [p, valuesAt(inputs, p)]));
}

/**
 * Pulumi's delete-before-replace cascade (engine pkg/resource/deploy/step_generator.go,
 * calculateDependentReplacements): before a resource is deleted for a delete-before-replace, the engine
 * walks the resources that depend on it in the OLD state and, for each custom resource with a top-level
 * input whose `propertyDependencies` name a resource already in the replace set, asks the provider's Diff
 * with that input made unknown (old inputs otherwise; no ignoreChanges, no replaceOnChanges: those are the
 * engine's, not the provider's). Those that would be replaced are deleted first and created again after,
 * even when the value they will get turns out to be the same (a fixed name, the same availability zone).
 * Returns the inputs of one resource that force that: empty when it is not a dependent replacement.
 */
export function dependentReplaceKeys(type: string, inputs: Record<string, unknown>, propertyDependencies: Record<string, string[]> | undefined, inReplaceSet: (urn: string) => boolean): string[] {
  const rule = ruleFor(type);
  const keys: string[] = [];
  for (const [key, urns] of Object.entries(propertyDependencies ?? {})) {
    if (!urns.some(inReplaceSet) || !unknownForcesReplace(rule, key, inputs)) continue;
    keys.push(key);
  }
  return keys.sort();
}

/**
 * Whether the provider replaces when the whole top-level input `key` is unknown: a replace-forcing `key`
 * itself, or one inside it unless `key` holds a nested block (an unknown block is diffed as a whole:
 * only the block's own ForceNew counts), or a conditional rule on `key` that holds for unknown values.
 */
function unknownForcesReplace(rule: ReplaceRule | undefined, key: string, inputs: Record<string, unknown>): boolean {
  if (!rule) return false;
  if (rule.replaceOn.includes(key)) return true;
  if (rule.replaceOn.some((r) => r.startsWith(`${key}.`)) && !valuesAt(inputs, key).some(isBlockValue)) return true;
  return (rule.conditional ?? []).some((c) => c.prop === key && conditionalReplace(c, inputs, inputs, new Set([key])) === true);
}
