import type { Client } from "@elastic/elasticsearch";
import { requestUrlPath, type EsRequest } from "./es-requests";

/**
 * Sends requests in order through the official client (its transport: same product check, auth,
 * TLS and error handling as the typed APIs), stopping at the first failure.
 */
export async function applyRequests(client: Client, requests: EsRequest[], log: (line: string) => void = () => {}): Promise<void> {
  for (const r of requests) {
    log(`${r.method} ${requestUrlPath(r)}  (${r.summary})`);
    const res = await client.transport.request<Record<string, unknown>>(
      { method: r.method, path: r.path, querystring: r.querystring, body: r.body as Record<string, unknown> | undefined },
      { requestTimeout: (r.timeoutSeconds ?? 60) * 1000, maxRetries: 0 },
    );
    if (r.expectGreen && (res?.status !== "green" || res?.timed_out !== false)) {
      throw new Error(`${r.method} ${requestUrlPath(r)}: cluster not green (status ${String(res?.status)}, timed_out ${String(res?.timed_out)})`);
    }
  }
}
