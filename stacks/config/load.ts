/**
 * Reads and validates the whole stack configuration BEFORE any resource is registered.
 * One message per problem, naming the key, the value given and what is allowed.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { configSchema, OpsfleetConfig, PASSWORD, PASSWORD_RULE, SECRET_KEYS, SecretKey } from "./schema";
import { certificateRegionProblem, regionProblem } from "./aws-limits";

export const NAMESPACE = "opsfleet";

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

/** The raw view of the config store: key (without namespace) -> string, and which keys are secret. */
export interface RawConfig {
  values: Record<string, string>;
  secretKeys: Set<string>;
  /** Provider/other namespaces, e.g. "aws:region". */
  others: Record<string, string>;
}

export interface LoadedConfig {
  config: OpsfleetConfig;
  secrets: Partial<Record<SecretKey, pulumi.Output<string>>>;
  region: string;
}

const REQUIRED_SECRETS: Record<SecretKey, (c: OpsfleetConfig) => string | undefined> = {
  sshPrivateKey: (c) => (["redis", "elk", "database"] as const).filter((f) => c.features[f]).join(", ") || undefined,
  redisPassword: (c) => (c.features.redis ? "redis" : undefined),
  elasticPassword: (c) => (c.features.elk ? "elk" : undefined),
  dbRootPassword: (c) => (c.features.database ? "database" : undefined),
  dbAppPassword: (c) => (c.features.database ? "database" : undefined),
};

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

/** Values in the stack file arrive as strings; objects, numbers and booleans are JSON. */
function decode(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The secrets a valid config needs (by the systems it enables). */
export function neededSecrets(c: OpsfleetConfig): SecretKey[] {
  return (Object.keys(REQUIRED_SECRETS) as SecretKey[]).filter((k) => REQUIRED_SECRETS[k](c) !== undefined);
}

/** Pure validation of a raw config; returns the typed config or the list of problems. */
export function validateConfig(raw: RawConfig): { ok: true; config: OpsfleetConfig } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const secretNames = Object.keys(SECRET_KEYS);
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw.values)) {
    if (secretNames.includes(key)) continue;
    input[key] = decode(value);
    if (raw.secretKeys.has(key)) {
      problems.push(`${NAMESPACE}:${key}: is stored as a secret but is not a secret setting; set it with \`pulumi config set ${NAMESPACE}:${key} <value>\``);
    }
  }
  const region = raw.others["aws:region"];
  if (!region) problems.push("aws:region: not set; allowed: an AWS region such as eu-west-1 (`pulumi config set aws:region eu-west-1`)");
  else if (regionProblem(region)) problems.push(`aws:region: ${regionProblem(region)}`);

  const parsed = configSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...formatIssue(issue, input));
  }
  // needs the region, which is not part of the opsfleet namespace
  const cert = parsed.success && parsed.data.features.spotWeb ? parsed.data.spot.certificateArn : undefined;
  const certProblem = cert && region && !regionProblem(region) ? certificateRegionProblem(cert, region) : undefined;
  if (certProblem) problems.push(`${NAMESPACE}:spot.certificateArn: ${certProblem} (got ${JSON.stringify(cert)})`);

  for (const key of secretNames as SecretKey[]) {
    const value = raw.values[key];
    const neededBy = parsed.success ? REQUIRED_SECRETS[key](parsed.data) : undefined;
    if (value === undefined) {
      if (neededBy) problems.push(`${NAMESPACE}:${key}: missing secret (needed by ${neededBy}); set it with \`pulumi config set --secret ${NAMESPACE}:${key} <value>\``);
      continue;
    }
    if (!raw.secretKeys.has(key)) {
      problems.push(`${NAMESPACE}:${key}: is stored in plain text; it must be set with \`pulumi config set --secret ${NAMESPACE}:${key} <value>\``);
      continue;
    }
    if (key === "sshPrivateKey") {
      if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) problems.push(`${NAMESPACE}:${key}: (secret) is not a private key; allowed: an OpenSSH or PEM private key (-----BEGIN ... PRIVATE KEY-----)`);
    } else if (!PASSWORD.test(value)) {
      problems.push(`${NAMESPACE}:${key}: (secret, ${value.length} characters) is not an acceptable password; allowed: ${PASSWORD_RULE}`);
    }
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, config: parsed.data };
}

/**
 * zod issues of one config section (e.g. `elk`, validated on its own by a CLI) as the loader words them:
 * one line per problem, naming the key, the value given and what is allowed.
 */
export function describeSectionIssues(section: string, issues: z.core.$ZodIssue[], value: unknown): string[] {
  return issues.flatMap((i) => formatIssue({ ...i, path: [section, ...i.path] } as z.core.$ZodIssue, { [section]: value }));
}

/** One line per problem: the key, the value given and what is allowed. */
function formatIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>): string[] {
  const path = issue.path.map(String);
  const key = keyName(path);
  if (issue.code === "unrecognized_keys") {
    const allowed = Object.keys(schemaAt(path)?.properties ?? {});
    return issue.keys.map((k) => {
      const full = path.length ? `${key}.${k}` : `${NAMESPACE}:${k}`;
      // `pulumi config set opsfleet:redis.hostCount 6` (no --path) stores a top-level key with a dot in it.
      const [head, ...rest] = k.split(".");
      if (!path.length && rest.length && allowed.includes(head)) {
        return `${full}: unknown key (got ${show(input[k])}); a dotted key is what \`pulumi config set\` writes without --path: remove it (\`pulumi config rm '${full}'\`) and run \`pulumi config set --path '${full}' ${shellWord(input[k])}\``;
      }
      return `${full}: unknown key (got ${show(lookup(input, [...issue.path, k]))}); allowed keys here: ${allowed.join(", ")} (see the config reference in README.md)`;
    });
  }
  const given = "input" in issue ? issue.input : lookup(input, issue.path);
  const message = issueMessage(issue, path, given);
  // Custom messages may already show the value.
  return [message.includes("(got ") ? `${key}: ${message}` : `${key}: ${message} (got ${show(given)})`];
}

function keyName(path: string[]): string {
  return `${NAMESPACE}:${path[0] ?? ""}` + path.slice(1).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join("");
}

const TYPE_WORDS: Record<string, string> = {
  boolean: "true or false", string: "a string", number: "a number", int: "a whole number", array: "a list (YAML [a, b] or one \"- item\" per line)",
  object: "a map of settings (YAML key: value)", record: "a map (YAML key: value)",
};

/** zod's generic texts ("Invalid input: expected boolean, received string") rewritten as what is allowed. */
function issueMessage(issue: z.core.$ZodIssue, path: string[], given: unknown): string {
  const described = () => {
    const d = schemaAt(path)?.description;
    return d ? ` (${d.replace(/\.$/, "")})` : "";
  };
  switch (issue.code) {
    case "invalid_type": {
      if (!issue.message.startsWith("Invalid input")) return issue.message; // the schema's own words
      const what = TYPE_WORDS[issue.expected] ?? `a ${issue.expected}`;
      if (given === undefined) {
        const parent = path.length > 1 ? ` when ${keyName(path.slice(0, -1))} is set` : "";
        return `is required${parent}; allowed: ${what}${described()}`;
      }
      return `must be ${what}`;
    }
    case "invalid_key":
      return issue.issues[0] ? `invalid key: ${issue.issues[0].message}` : issue.message;
    case "too_big":
    case "too_small": {
      if (!/^Too (big|small):/.test(issue.message)) return issue.message;
      const bound = issue.code === "too_big" ? `at most ${issue.maximum}` : `at least ${issue.minimum}`;
      const unit = issue.origin === "string" ? " characters" : issue.origin === "array" ? " items" : "";
      return `must ${unit ? "have" : "be"} ${bound}${unit}`;
    }
    default:
      return issue.message.replace(/^Invalid option: expected/, "must be");
  }
}

/** A value as `pulumi config set` takes it on a command line. */
function shellWord(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return /^[\w.,:/@+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

interface JsonNode {
  description?: string;
  properties?: Record<string, JsonNode>;
  items?: JsonNode;
  additionalProperties?: JsonNode | boolean;
}
let jsonSchema: JsonNode | undefined;

/** The (input) JSON schema of the config at a key path: descriptions and allowed keys for messages. */
function schemaAt(path: string[]): JsonNode | undefined {
  jsonSchema ??= z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as JsonNode;
  let cur: JsonNode | undefined = jsonSchema;
  for (const p of path) {
    if (!cur) return undefined;
    const extra: JsonNode | undefined = typeof cur.additionalProperties === "object" ? cur.additionalProperties : undefined;
    cur = /^\d+$/.test(p) && cur.items ? cur.items : cur.properties?.[p] ?? extra;
  }
  return cur;
}

function lookup(obj: unknown, path: PropertyKey[]): unknown {
  let cur: any = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = cur[p as any];
  }
  return cur;
}

/** `isConfigSecret` is exported by the runtime but missing from its typings. */
function isConfigSecret(fullKey: string): boolean {
  const rt = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
  if (typeof rt.isConfigSecret !== "function") throw new Error("this @pulumi/pulumi version has no runtime.isConfigSecret; update stacks/config/load.ts");
  return rt.isConfigSecret(fullKey);
}

/** Reads the raw config of the running program (real engine or mocks). */
export function readRawConfig(): RawConfig {
  const all = pulumi.runtime.allConfig();
  const values: Record<string, string> = {};
  const others: Record<string, string> = {};
  const secretKeys = new Set<string>();
  for (const [fullKey, value] of Object.entries(all)) {
    if (fullKey === "PULUMI_CONFIG_SECRET_KEYS") continue;
    const [ns, ...rest] = fullKey.split(":");
    const key = rest.join(":");
    if (ns === NAMESPACE) {
      values[key] = value;
      if (isConfigSecret(fullKey)) secretKeys.add(key);
    } else {
      others[fullKey] = value;
    }
  }
  return { values, secretKeys, others };
}

/** Validates the stack config; throws ConfigError (one line per problem) before anything is created. */
export function loadConfig(raw: RawConfig = readRawConfig()): LoadedConfig {
  const result = validateConfig(raw);
  if (!result.ok) throw new ConfigError(result.problems);
  const secrets: Partial<Record<SecretKey, pulumi.Output<string>>> = {};
  for (const key of Object.keys(SECRET_KEYS) as SecretKey[]) {
    if (raw.values[key] !== undefined) secrets[key] = pulumi.secret(raw.values[key]);
  }
  return { config: result.config, secrets, region: raw.others["aws:region"] };
}
