/**
 * Test support: runs a node script for real (bash, same `set -euo pipefail` as on the host) in a
 * scratch directory, with stub binaries for what Elasticsearch's package would provide
 * (elasticsearch-keystore, the service users) and for privileged calls (chown, runuser). Every stub
 * call is logged, so tests assert what the script did. Only used by tests.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface Sandbox {
  root: string;
  conf: string;
  home: string;
  write(rel: string, content: string): void;
  read(rel: string): string;
  exists(rel: string): boolean;
  calls(): string[];
  run(script: string, env?: Record<string, string>): { status: number | null; stdout: string; stderr: string };
  cleanup(): void;
}

const STUBS: Record<string, string> = {
  chown: 'echo "chown $*" >> "$SANDBOX/calls.log"',
  runuser: 'echo "runuser $*" >> "$SANDBOX/calls.log"',
  curl: 'echo "curl $*" >> "$SANDBOX/calls.log"; exit "${STUB_CURL_EXIT:-7}"',
  install: `echo "install $*" >> "$SANDBOX/calls.log"
args=(); dir=no
while [ $# -gt 0 ]; do case "$1" in -d) dir=yes; shift;; -m|-o|-g) shift 2;; *) args+=("$1"); shift;; esac; done
if [ $dir = yes ]; then for d in "\${args[@]}"; do case "$d" in "$SANDBOX"/*) mkdir -p "$d";; esac; done; else cp "\${args[0]}" "\${args[1]}"; fi`,
};

const KEYSTORE = `#!/usr/bin/env bash
echo "elasticsearch-keystore $*" >> "$SANDBOX/calls.log"
ks="$OPSFLEET_ES_CONF/elasticsearch.keystore"
case "$1" in
  create) : > "$ks" ;;
  list) [ -f "$ks" ] || { echo "ERROR: keystore not found" >&2; exit 78; }; cut -d= -f1 "$ks" ;;
  remove) grep -v "^$2=" "$ks" > "$ks.new" || true; mv "$ks.new" "$ks" ;;
  add) name="\${@: -1}"; value=$(cat); grep -v "^$name=" "$ks" > "$ks.new" || true; echo "$name=$value" >> "$ks.new"; mv "$ks.new" "$ks" ;;
esac`;

export function sandbox(): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-es-"));
  const bin = path.join(root, "bin");
  const conf = path.join(root, "etc-elasticsearch");
  const home = path.join(root, "usr-share-elasticsearch");
  const data = path.join(root, "var-lib-elasticsearch");
  for (const d of [bin, conf, data, path.join(conf, "opsfleet"), path.join(conf, "certs"), path.join(home, "bin")]) fs.mkdirSync(d, { recursive: true });
  for (const [name, body] of Object.entries(STUBS)) fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(home, "bin", "elasticsearch-keystore"), KEYSTORE, { mode: 0o755 });
  fs.writeFileSync(path.join(root, "calls.log"), "");
  const abs = (rel: string) => path.join(root, rel);
  return {
    root, conf, home,
    write: (rel, content) => { fs.mkdirSync(path.dirname(abs(rel)), { recursive: true }); fs.writeFileSync(abs(rel), content); },
    read: (rel) => fs.readFileSync(abs(rel), "utf8"),
    exists: (rel) => fs.existsSync(abs(rel)),
    calls: () => fs.readFileSync(abs("calls.log"), "utf8").split("\n").filter(Boolean).map((l) => l.split(root).join("<sandbox>")),
    run(script, env = {}) {
      const r = spawnSync("bash", ["-c", `set -euo pipefail\n${script}`], {
        encoding: "utf8",
        timeout: 30_000,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, SANDBOX: root, OPSFLEET_ES_CONF: conf, OPSFLEET_ES_HOME: home, OPSFLEET_ES_DATA: data, OPSFLEET_CHANGED: "", ...env },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}
