import type { RenderedFile } from "../common/types";

/**
 * One Elasticsearch REST call, as plain data. The same list drives the CLI (sent through the
 * official client's transport) and the host steps (rendered to curl), so the two cannot drift.
 */
export interface EsRequest {
  method: "GET" | "PUT" | "POST" | "DELETE";
  /** Path without host, e.g. `/logstash-*\/_settings`. */
  path: string;
  querystring?: Record<string, string>;
  body?: unknown;
  /** Why: printed before the call. */
  summary: string;
  /** Seconds the call may take (wait_for_status calls block server-side). @default 60 */
  timeoutSeconds?: number;
  /** Response must report `status: green` and not `timed_out` (cluster health). */
  expectGreen?: boolean;
}

export function requestUrlPath(r: EsRequest): string {
  const qs = r.querystring ? new URLSearchParams(r.querystring).toString() : "";
  return qs ? `${r.path}?${qs}` : r.path;
}

export interface CurlScript {
  /** Request bodies as root-only files (they may carry passwords): never argv, never command text. */
  files: RenderedFile[];
  script: string;
}

const SAFE_PATH = /^\/[A-Za-z0-9_\-*.,/]*$/;

/**
 * Renders requests as a bash fragment that calls `es_call` once per request, against `$ES_URL`
 * with credentials from the curl config `$ES_CURLRC` (defaults given by the caller). A failed call
 * (HTTP >= 300, or not green when green is expected) stops the script with the response.
 */
export function renderCurlScript(requests: EsRequest[], o: { bodyDir: string; esUrl: string; curlrc: string }): CurlScript {
  const files: RenderedFile[] = [];
  const calls = requests.map((r, i) => {
    if (!SAFE_PATH.test(r.path)) throw new Error(`unsafe request path ${JSON.stringify(r.path)}`);
    let bodyFile = "";
    if (r.body !== undefined) {
      bodyFile = `${o.bodyDir}/${String(i + 1).padStart(2, "0")}.json`;
      files.push({ path: bodyFile, content: JSON.stringify(r.body), mode: "0600", owner: "root", group: "root" });
    }
    const summary = r.summary.replace(/[^A-Za-z0-9 ,.:()=_*/%-]/g, "");
    return `es_call ${r.method} '${requestUrlPath(r)}' '${bodyFile}' ${r.timeoutSeconds ?? 60} ${r.expectGreen ? "green" : "-"} '${summary}'`;
  });
  const script = `
ES_URL="\${ES_URL:-${o.esUrl}}"; ES_CURLRC="\${ES_CURLRC:-${o.curlrc}}"
es_call() { # method path bodyfile max-seconds green|- summary
  local out code
  out=$(mktemp)
  echo "$1 $2  ($6)"
  if ! code=$(curl -sS -g -K "$ES_CURLRC" -X "$1" --max-time "$4" -H 'Content-Type: application/json' \\
      \${3:+--data-binary "@$3"} -o "$out" -w '%{http_code}' "$ES_URL$2"); then
    echo "  request failed: $1 $2" >&2; rm -f "$out"; return 1
  fi
  if [ "$code" -ge 300 ]; then echo "  HTTP $code: $(head -c 2000 "$out")" >&2; rm -f "$out"; return 1; fi
  if [ "$5" = green ] && ! { grep -q '"status":"green"' "$out" && grep -q '"timed_out":false' "$out"; }; then
    echo "  not green: $(head -c 2000 "$out")" >&2; rm -f "$out"; return 1
  fi
  echo "  HTTP $code"; rm -f "$out"
}
${calls.join("\n")}`.trimStart();
  return { files, script };
}
