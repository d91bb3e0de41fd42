/**
 * A local stand-in for the CloudWatch API that records PutMetricData calls: what the host checkers'
 * `aws cloudwatch put-metric-data` sends. Debian 12's awscli (2.9) speaks the query protocol
 * (form-encoded `Action=PutMetricData&MetricData.member.N...`, XML reply); newer CLIs speak JSON
 * (`X-Amz-Target: GraniteServiceVersion20100801.PutMetricData`) or gzip the body: all are accepted.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

export interface RecordedDatum {
  namespace: string;
  name: string;
  value: number;
  unit?: string;
  dimensions: Record<string, string>;
  /** When the stand-in received it (ms since epoch). */
  at: number;
}

export interface CloudWatchStandIn {
  url: string;
  data: RecordedDatum[];
  /** Requests that were not a well-formed PutMetricData (kept for assertions). */
  rejected: string[];
  /** Data received since `since` (ms) whose name and dimensions match. */
  find(name: string, dims?: Record<string, string>, since?: number): RecordedDatum[];
  close(): Promise<void>;
}

/** Query-protocol form -> datums. */
export function parseQueryPutMetricData(body: string, at: number): { action: string; data: RecordedDatum[] } {
  const form = new URLSearchParams(body);
  const action = form.get("Action") ?? "";
  const namespace = form.get("Namespace") ?? "";
  const data: RecordedDatum[] = [];
  for (let i = 1; form.has(`MetricData.member.${i}.MetricName`); i++) {
    const p = `MetricData.member.${i}`;
    const dimensions: Record<string, string> = {};
    for (let j = 1; form.has(`${p}.Dimensions.member.${j}.Name`); j++) {
      dimensions[form.get(`${p}.Dimensions.member.${j}.Name`)!] = form.get(`${p}.Dimensions.member.${j}.Value`) ?? "";
    }
    data.push({ namespace, name: form.get(`${p}.MetricName`)!, value: Number(form.get(`${p}.Value`)), unit: form.get(`${p}.Unit`) ?? undefined, dimensions, at });
  }
  return { action, data };
}

function parseJsonPutMetricData(body: string, at: number): RecordedDatum[] {
  const j = JSON.parse(body) as { Namespace: string; MetricData: { MetricName: string; Value: number; Unit?: string; Dimensions?: { Name: string; Value: string }[] }[] };
  return j.MetricData.map((m) => ({
    namespace: j.Namespace, name: m.MetricName, value: m.Value, unit: m.Unit,
    dimensions: Object.fromEntries((m.Dimensions ?? []).map((d) => [d.Name, d.Value])), at,
  }));
}

export async function startCloudWatchStandIn(host = "127.0.0.1", port = 0): Promise<CloudWatchStandIn> {
  const data: RecordedDatum[] = [];
  const rejected: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = Date.now();
      let raw = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
      const body = raw.toString("utf8");
      const target = String(req.headers["x-amz-target"] ?? "");
      try {
        if (target.endsWith(".PutMetricData")) {
          data.push(...parseJsonPutMetricData(body, at));
          res.writeHead(200, { "Content-Type": "application/x-amz-json-1.0" }).end("{}");
          return;
        }
        const parsed = parseQueryPutMetricData(body, at);
        if (parsed.action !== "PutMetricData" || parsed.data.length === 0) throw new Error(`not a PutMetricData: ${body.slice(0, 200)}`);
        data.push(...parsed.data);
        res.writeHead(200, { "Content-Type": "text/xml" }).end(
          '<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></PutMetricDataResponse>');
      } catch (e) {
        rejected.push(String((e as Error).message));
        res.writeHead(400, { "Content-Type": "text/xml" }).end(
          "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>stand-in: bad request</Message></Error></ErrorResponse>");
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host}:${addr.port}`,
    data,
    rejected,
    find(name, dims = {}, since = 0) {
      return data.filter((d) => d.name === name && d.at >= since && Object.entries(dims).every(([k, v]) => d.dimensions[k] === v));
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** `/root/.aws/credentials` for a test host (the stand-in does not check signatures). */
export const STAND_IN_AWS_CREDENTIALS = "[default]\naws_access_key_id = AKIDSTANDIN\naws_secret_access_key = standin\n";
