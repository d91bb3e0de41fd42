/**
 * Local stand-ins for the AWS services the backup scripts call, listening on the lab bridge so the
 * test hosts reach them like they reach AWS from EC2 (the AWS CLI with --endpoint-url):
 *   - S3: the npm package s3rver (real S3 REST + SigV4, multipart uploads, files on disk);
 *   - SSM Parameter Store (JSON protocol, X-Amz-Target AmazonSSM.*) and CloudWatch
 *     PutMetricData (query protocol): a small HTTP server below, recording what it was sent.
 * Test hosts get the credentials below in their private /root/.aws.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
// s3rver ships no type declarations
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require("s3rver") as new (o: Record<string, unknown>) => { run(): Promise<AddressInfo>; close(): Promise<void> };

/** s3rver's default credentials (it verifies SigV4 signatures with them). */
export const STAND_IN_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** `/root/.aws/credentials` + config for a test host. */
export function awsCliFiles(region: string): { credentials: string; config: string } {
  return {
    credentials: `[default]\naws_access_key_id = ${STAND_IN_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${STAND_IN_CREDENTIALS.secretAccessKey}\n`,
    config: `[default]\nregion = ${region}\n`,
  };
}

export interface S3StandIn {
  endpoint: string;
  /** Directory holding the objects (s3rver's filesystem store). */
  dir: string;
  close(): Promise<void>;
}

export async function startS3StandIn(address: string, buckets: string[]): Promise<S3StandIn> {
  const dir = mkdtempSync(path.join(tmpdir(), "opsfleet-s3-"));
  const server = new S3rver({ address, port: 0, silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const { port } = await server.run();
  return {
    endpoint: `http://${address}:${port}`,
    dir,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Parameter {
  name: string;
  type: string;
  value: string;
  keyId?: string;
  version: number;
}

export interface PutMetric {
  namespace: string;
  name: string;
  value: number;
  unit?: string;
  dimensions: Record<string, string>;
}

export interface KeyStoreStandIn {
  endpoint: string;
  parameters: Map<string, Parameter>;
  metrics: PutMetric[];
  /** Every SSM action received, in order (e.g. "PutParameter"). */
  calls: string[];
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** CloudWatch's query protocol: MetricData.member.N.{MetricName,Value,Unit,Dimensions.member.M.{Name,Value}}. */
function parsePutMetricData(form: URLSearchParams): PutMetric[] {
  const out = new Map<string, PutMetric>();
  for (const [k, v] of form) {
    const m = /^MetricData\.member\.(\d+)\.(.+)$/.exec(k);
    if (!m) continue;
    const metric = out.get(m[1]) ?? { namespace: form.get("Namespace") ?? "", name: "", value: NaN, dimensions: {} };
    out.set(m[1], metric);
    const d = /^Dimensions\.member\.(\d+)\.Name$/.exec(m[2]);
    if (m[2] === "MetricName") metric.name = v;
    else if (m[2] === "Value") metric.value = Number(v);
    else if (m[2] === "Unit") metric.unit = v;
    else if (d) metric.dimensions[v] = form.get(`MetricData.member.${m[1]}.Dimensions.member.${d[1]}.Value`) ?? "";
  }
  return [...out.values()];
}

/** SSM Parameter Store (Put/Get/DeleteParameter) and CloudWatch PutMetricData on one port. */
export async function startKeyStoreStandIn(address: string): Promise<KeyStoreStandIn> {
  const parameters = new Map<string, Parameter>();
  const metrics: PutMetric[] = [];
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    void body(req).then((text) => {
      const target = String(req.headers["x-amz-target"] ?? "");
      const json = (status: number, o: unknown) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(o));
      };
      if (target.startsWith("AmazonSSM.")) {
        const action = target.slice("AmazonSSM.".length);
        calls.push(action);
        const input = JSON.parse(text || "{}") as Record<string, unknown>;
        const name = String(input.Name ?? "");
        const existing = parameters.get(name);
        if (action === "PutParameter") {
          if (existing && input.Overwrite !== true) return json(400, { __type: "ParameterAlreadyExists", message: `The parameter ${name} already exists.` });
          // SSM's limits: Standard 4 KB, Advanced 8 KB; Intelligent-Tiering picks Advanced above 4 KB
          const size = Buffer.byteLength(String(input.Value ?? ""), "utf8");
          const tier = String(input.Tier ?? "Standard");
          const max = tier === "Standard" ? 4096 : 8192;
          if (size > max) {
            return json(400, { __type: "ValidationException", message: `1 validation error detected: Value '***' at 'value' failed to satisfy constraint: Member must have length less than or equal to ${max}` });
          }
          const p: Parameter = { name, type: String(input.Type ?? existing?.type ?? "String"), value: String(input.Value), keyId: input.KeyId as string | undefined, version: (existing?.version ?? 0) + 1 };
          parameters.set(name, p);
          return json(200, { Version: p.version, Tier: "Standard" });
        }
        if (action === "GetParameter") {
          if (!existing) return json(400, { __type: "ParameterNotFound", message: `Parameter ${name} not found.` });
          const hidden = existing.type === "SecureString" && input.WithDecryption !== true;
          return json(200, { Parameter: { Name: name, Type: existing.type, Value: hidden ? "AQICAH-ciphertext" : existing.value, Version: existing.version, DataType: "text" } });
        }
        if (action === "DeleteParameter") {
          if (!existing) return json(400, { __type: "ParameterNotFound", message: `Parameter ${name} not found.` });
          parameters.delete(name);
          return json(200, {});
        }
        return json(400, { __type: "InvalidAction", message: `stand-in does not implement ${action}` });
      }
      const form = new URLSearchParams(text);
      if (form.get("Action") === "PutMetricData") {
        metrics.push(...parsePutMetricData(form));
        res.writeHead(200, { "content-type": "text/xml" });
        res.end('<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ResponseMetadata><RequestId>stand-in</RequestId></ResponseMetadata></PutMetricDataResponse>');
        return;
      }
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(`stand-in: unknown request ${req.method} ${req.url} ${target}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${address}:${port}`,
    parameters,
    metrics,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
