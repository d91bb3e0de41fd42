import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseCli, run, stackProfileOptions, UsageError } from "./es-profile";

const ROOT = path.resolve(__dirname, "..");

describe("argument parsing", () => {
  const env = { ES_PASSWORD: "pw-from-env", ES_ENDPOINT: undefined };
  test("profile, stack, endpoint and CA from flags; password only from the environment", () => {
    expect(parseCli(["bulk-ingest", "--stack", "dev", "--endpoint", "https://localhost:9200", "--ca", "ca.pem"], env)).toEqual({
      profile: "bulk-ingest", stack: "dev", endpoint: "https://localhost:9200", caFile: "ca.pem", user: "elastic", password: "pw-from-env", dryRun: false,
    });
    expect(parseCli(["normal", "--stack=prod", "--dry-run"], {})).toMatchObject({ profile: "normal", stack: "prod", dryRun: true, password: undefined });
    expect(parseCli(["normal", "--stack", "dev"], { ES_PASSWORD: "p", ES_ENDPOINT: "https://h:9200", ES_CA_FILE: "c", ES_USER: "ops" }))
      .toMatchObject({ endpoint: "https://h:9200", caFile: "c", user: "ops" });
  });
  const withPw = { ES_PASSWORD: "p" };
  test.each([
    [["fast", "--stack", "dev"], withPw, /profile must be one of bulk-ingest, normal \(got fast\)/],
    [["normal"], withPw, /--stack is required/],
    [["normal", "--stack", "dev", "--password", "x"], withPw, /unknown option --password/],
    [["normal", "--stack", "dev"], withPw, /no endpoint/],
    [["normal", "--stack", "dev", "--endpoint", "https://h:9200"], {}, /ES_PASSWORD is not set/],
    [["normal", "--stack", "dev", "--endpoint", "ftp://h"], withPw, /expected https:\/\/host:port/],
  ] as [string[], Record<string, string>, RegExp][])("%j is a usage error", (argv, env, msg) => {
    const e = (() => { try { parseCli(argv, env); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toMatch(msg);
  });
  test("https without a CA is refused", () => {
    expect(() => parseCli(["normal", "--stack", "dev", "--endpoint", "https://h:9200"], { ES_PASSWORD: "p" })).toThrow(/no CA/);
  });
});

describe("stack settings", () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-cli-")); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("index settings come from opsfleet:elk of the stack file, validated like pulumi up", () => {
    fs.writeFileSync(path.join(dir, "Pulumi.t.yaml"), "config:\n  opsfleet:elk:\n    data: { count: 3 }\n    index: { prefix: app, shards: 6, replicas: 2, profile: bulk-ingest }\n");
    expect(stackProfileOptions(dir, "t")).toEqual({
      options: { indexPattern: "app-*", templateName: "opsfleet-app", shards: 6, replicas: 2, greenTimeoutMinutes: 30 },
      configuredProfile: "bulk-ingest",
    });
    fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), "config:\n  opsfleet:elk:\n    index: { replicas: 5 }\n");
    expect(() => stackProfileOptions(dir, "bad")).toThrow(/opsfleet:elk.index.replicas: needs 6 data nodes/);
    fs.writeFileSync(path.join(dir, "Pulumi.types.yaml"), "config:\n  opsfleet:elk:\n    index: { shards: two }\n    kibana: { enabled: maybe }\n");
    expect(() => stackProfileOptions(dir, "types")).toThrow(/^opsfleet:elk.index.shards: .*\(got "two"\)\nopsfleet:elk.kibana.enabled: must be true or false \(got "maybe"\)$/);
    expect(() => stackProfileOptions(dir, "nope")).toThrow(/no stack file/);
  });

  test("a duplicated key in the stack file is one clear line naming the file, line and key", () => {
    fs.writeFileSync(path.join(dir, "Pulumi.dup.yaml"), "config:\n  opsfleet:elk: {}\n  opsfleet:elk: { index: { shards: 2 } }\n");
    const e = (() => { try { stackProfileOptions(dir, "dup"); } catch (x) { return x as Error; } })();
    expect(e).toBeInstanceOf(UsageError);
    expect(e!.message).toBe('Pulumi.dup.yaml:3:3: Map keys must be unique ("opsfleet:elk" is set twice; keep one)');
  });

  test("end to end with the real client against a local server: calls, warnings, summary", async () => {
    fs.writeFileSync(path.join(dir, "Pulumi.t.yaml"), "config:\n  opsfleet:elk:\n    index: { shards: 4 }\n");
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        seen.push(`${req.method} ${decodeURIComponent(req.url!)}`);
        res.writeHead(200, { "content-type": "application/json", "x-elastic-product": "Elasticsearch" });
        res.end(JSON.stringify(req.url!.startsWith("/_cluster/health") ? { status: "green", timed_out: false } : { acknowledged: true }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const log: string[] = [];
      await run(parseCli(["bulk-ingest", "--stack", "t", "--endpoint", endpoint], { ES_PASSWORD: "pw" }), dir, (l) => log.push(l));
      expect(seen).toEqual(["PUT /_index_template/opsfleet-logstash", "PUT /logstash-*/_settings?allow_no_indices=true"]);
      expect(log[0]).toMatch(/^note: stack t configures profile "normal"/);
      expect(log[1]).toMatch(/^warning: bulk-ingest can lose acknowledged writes/);
      expect(log.at(-1)).toBe("profile bulk-ingest applied to logstash-*");
      seen.length = 0;
      await run(parseCli(["normal", "--stack", "t", "--endpoint", endpoint], { ES_PASSWORD: "pw" }), dir, () => {});
      expect(seen).toEqual(["PUT /_index_template/opsfleet-logstash", "PUT /logstash-*/_settings?allow_no_indices=true", "POST /logstash-*/_refresh",
        "GET /_cluster/health/logstash-*?wait_for_status=green&timeout=30m"]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe("npm run es:profile (the script as a process)", () => {
  const cli = (args: string[], env: Record<string, string> = {}) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const p = spawn(process.execPath, [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), path.join(ROOT, "tools", "es-profile.ts"), ...args], {
      cwd: ROOT, env: { ...process.env, ES_PASSWORD: "", ES_ENDPOINT: "", ...env },
    });
    let out = "", err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => resolve({ code, out, err }));
  });

  test("dry run prints every call with its body; a usage error exits 2", async () => {
    const dry = await cli(["bulk-ingest", "--stack", "dev", "--dry-run"]);
    expect(dry.err).toBe("");
    expect(dry.code).toBe(0);
    expect(dry.out).toContain("dry run: 2 calls for profile bulk-ingest on logstash-*");
    expect(dry.out).toContain('PUT /logstash-*/_settings?allow_no_indices=true  (existing logstash-*: translog async, 0 replicas, refresh 300s)\n  {"index":{"number_of_replicas":0,"refresh_interval":"300s","translog":{"durability":"async"}}}');
    const bad = await cli(["normal", "--stack", "dev"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("no endpoint");
  }, 60_000);

  test("--help prints the usage on stdout and exits 0", async () => {
    const help = await cli(["--help"]);
    expect(help).toMatchObject({ code: 0, err: "" });
    expect(help.out).toMatch(/^usage: npm run es:profile -- <bulk-ingest\|normal> --stack <name>/);
  }, 60_000);
});
