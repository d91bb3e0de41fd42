/**
 * Switches the index tuning profile of a stack's Elasticsearch cluster, with the official client.
 *
 *   npm run es:profile -- bulk-ingest --stack dev --endpoint https://localhost:9200 --ca ca.pem
 *   npm run es:profile -- normal --stack dev --dry-run
 *
 * Index settings (prefix, shards, replicas, green timeout) come from `opsfleet:elk` in
 * Pulumi.<stack>.yaml, so the CLI sends exactly what `pulumi up` would (same `profileRequests`).
 * The endpoint and CA are stack outputs, which need the Pulumi CLI to read; pass them:
 *   --endpoint URL   or ES_ENDPOINT   (a data node via an SSH tunnel: ssh -L 9200:<data ip>:9200 <bastion>)
 *   --ca FILE        or ES_CA_FILE    (pulumi stack output elk --json | jq -r .caCertPem > ca.pem)
 *   --user NAME      or ES_USER       (default elastic)
 *   password only from the environment: ES_PASSWORD (never a flag: flags end up in shell history and ps)
 * --dry-run prints the calls and sends nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "@elastic/elasticsearch";
import { readYamlFile, StackFileError } from "./stack-file";
import { elkConfigSchema } from "../stacks/config/elk";
import { describeSectionIssues } from "../stacks/config/load";
import { isIndexProfile, PROFILES, profileRequests, type IndexProfile, type ProfileOptions } from "../provision/elasticsearch/profiles";
import { requestUrlPath } from "../provision/elasticsearch/es-requests";
import { applyRequests } from "../provision/elasticsearch/apply-requests";

export interface CliOptions {
  profile: IndexProfile;
  stack: string;
  endpoint?: string;
  caFile?: string;
  user: string;
  password?: string;
  dryRun: boolean;
}

export class UsageError extends Error {}
/** `--help`: the usage text, on stdout, exit 0. */
export class HelpRequested extends UsageError {}

const USAGE = `usage: npm run es:profile -- <${PROFILES.join("|")}> --stack <name> [--endpoint URL] [--ca FILE] [--user NAME] [--dry-run]
  password: environment variable ES_PASSWORD; endpoint/CA/user also from ES_ENDPOINT / ES_CA_FILE / ES_USER`;

export function parseCli(argv: string[], env: Record<string, string | undefined>): CliOptions {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  if (argv.includes("--help") || argv.includes("-h")) throw new HelpRequested(USAGE);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--dry-run") flags["dry-run"] = true;
    else if (a.startsWith("--")) {
      const [k, inline] = a.slice(2).split("=", 2);
      if (!["stack", "endpoint", "ca", "user"].includes(k)) throw new UsageError(`unknown option --${k}\n${USAGE}`);
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`--${k} needs a value\n${USAGE}`);
      flags[k] = v;
    } else positional.push(a);
  }
  if (positional.length !== 1 || !isIndexProfile(positional[0])) {
    throw new UsageError(`profile must be one of ${PROFILES.join(", ")} (got ${positional.length ? positional.join(" ") : "nothing"})\n${USAGE}`);
  }
  if (typeof flags.stack !== "string") throw new UsageError(`--stack is required\n${USAGE}`);
  const str = (k: string) => (typeof flags[k] === "string" ? (flags[k] as string) : undefined);
  const o: CliOptions = {
    profile: positional[0],
    stack: flags.stack,
    endpoint: str("endpoint") ?? env.ES_ENDPOINT,
    caFile: str("ca") ?? env.ES_CA_FILE,
    user: str("user") ?? env.ES_USER ?? "elastic",
    password: env.ES_PASSWORD,
    dryRun: flags["dry-run"] === true,
  };
  if (!o.dryRun) {
    if (!o.endpoint) throw new UsageError("no endpoint: pass --endpoint https://<data node or tunnel>:9200 or set ES_ENDPOINT");
    if (!/^https?:\/\/[^\s/]+(:\d+)?\/?$/.test(o.endpoint)) throw new UsageError(`--endpoint ${JSON.stringify(o.endpoint)}: expected https://host:port`);
    if (!o.password) throw new UsageError("ES_PASSWORD is not set (the elastic password; set it in the environment, never as a flag)");
    if (o.endpoint.startsWith("https:") && !o.caFile) throw new UsageError("no CA: pass --ca <file with the cluster CA PEM> or set ES_CA_FILE");
  }
  return o;
}

/** Profile options for a stack, from its stack file, validated by the same schema as `pulumi up`. */
export function stackProfileOptions(root: string, stack: string): { options: ProfileOptions; configuredProfile: IndexProfile } {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new UsageError(`no stack file ${file}`);
  let doc: { config?: Record<string, unknown> };
  try {
    doc = (readYamlFile(file) ?? {}) as { config?: Record<string, unknown> };
  } catch (e) {
    throw e instanceof StackFileError ? new UsageError(e.message) : e;
  }
  const elk = doc.config?.["opsfleet:elk"] ?? {};
  const parsed = elkConfigSchema.safeParse(elk, { reportInput: true });
  if (!parsed.success) throw new UsageError(describeSectionIssues("elk", parsed.error.issues, elk).join("\n"));
  const idx = parsed.data.index;
  return {
    options: { indexPattern: `${idx.prefix}-*`, templateName: `opsfleet-${idx.prefix}`, shards: idx.shards, replicas: idx.replicas, greenTimeoutMinutes: idx.greenTimeoutMinutes },
    configuredProfile: idx.profile,
  };
}

export async function run(o: CliOptions, root: string, log: (s: string) => void, makeClient = (opts: ConstructorParameters<typeof Client>[0]) => new Client(opts)): Promise<void> {
  const { options, configuredProfile } = stackProfileOptions(root, o.stack);
  const requests = profileRequests(o.profile, options);
  if (o.profile !== configuredProfile) {
    log(`note: stack ${o.stack} configures profile "${configuredProfile}"; the next \`pulumi up\` does not revert this by itself — set opsfleet:elk.index.profile to "${o.profile}" to keep it, or switch back with this command`);
  }
  if (o.profile === "bulk-ingest") log("warning: bulk-ingest can lose acknowledged writes on a node crash (async translog, 0 replicas); switch back to normal when the load is done");
  if (o.dryRun) {
    log(`dry run: ${requests.length} calls for profile ${o.profile} on ${options.indexPattern}`);
    for (const r of requests) log(`${r.method} ${requestUrlPath(r)}  (${r.summary})${r.body === undefined ? "" : `\n  ${JSON.stringify(r.body)}`}`);
    return;
  }
  const client = makeClient({
    node: o.endpoint!,
    auth: { username: o.user, password: o.password! },
    tls: o.caFile ? { ca: fs.readFileSync(o.caFile, "utf8") } : undefined,
  });
  try {
    await applyRequests(client, requests, log);
    log(`profile ${o.profile} applied to ${options.indexPattern}`);
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  (async () => {
    try {
      const o = parseCli(process.argv.slice(2), process.env);
      await run(o, path.resolve(__dirname, ".."), (s) => console.log(s));
    } catch (e) {
      if (e instanceof HelpRequested) {
        console.log(e.message);
        return;
      }
      console.error(e instanceof UsageError ? e.message : `es:profile failed: ${(e as Error).message}`);
      process.exit(e instanceof UsageError ? 2 : 1);
    }
  })();
}
