import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { RESET_GUARD } from "./cluster-script";
import { HELPERS } from "./scripts";

// A stub redis-cli: replies come from files <dir>/<host>_<port>/<command words>; a missing file is an
// error reply (what maxclients, BUSY or LOADING look like through cli_at: an empty string). Every call is logged.
const STUB = `#!/bin/bash
h=""; p=""; args=()
while [ $# -gt 0 ]; do case "$1" in --no-auth-warning) shift ;; -h) h=$2; shift 2 ;; -p) p=$2; shift 2 ;; *) args+=("$1"); shift ;; esac; done
echo "$h:$p \${args[*]}" >> "$STUB_DIR/calls.log"
f="$STUB_DIR/\${h}_$p/\${args[*]}"
[ -f "$f" ] && { cat "$f"; exit 0; }
echo "ERR max number of clients reached" >&2; exit 1
`;

const id = (c: string) => c.repeat(40);
const line = (nid: string, addr: string, flags: string, master = "-", slots = "") =>
  `${nid} ${addr}@1${addr.split(":")[1]} ${flags} ${master} 0 0 1 connected ${slots}`.trim();
const SEED = "10.0.0.1:7000", PEER = "10.0.0.2:7000", CAND = "10.0.0.3:7000";
// the cluster as the seed and the peer see it: two masters serve every slot; the candidate is unknown
const cluster = (self: string) => [
  line(id("a"), SEED, `${self === SEED ? "myself," : ""}master`, "-", "0-8191"),
  line(id("b"), PEER, `${self === PEER ? "myself," : ""}master`, "-", "8192-16383"),
].join("\n");

type Replies = Record<string, Record<string, string | undefined>>;
const healthy = (): Replies => ({
  [SEED]: { "cluster nodes": cluster(SEED) },
  [PEER]: { "cluster nodes": cluster(PEER) },
  [CAND]: { "cluster myid": id("c"), dbsize: "42", role: "master\n0", flushall: "OK", "cluster reset hard": "OK" },
});

function run(replies: Replies) {
  const dir = mkdtempSync(path.join(tmpdir(), "reset-guard-"));
  try {
    mkdirSync(path.join(dir, "bin"));
    writeFileSync(path.join(dir, "bin", "redis-cli"), STUB);
    chmodSync(path.join(dir, "bin", "redis-cli"), 0o755);
    for (const [addr, r] of Object.entries(replies)) {
      const d = path.join(dir, addr.replace(":", "_"));
      mkdirSync(d);
      for (const [cmd, out] of Object.entries(r)) if (out !== undefined) writeFileSync(path.join(d, cmd), out + "\n");
    }
    writeFileSync(path.join(dir, "calls.log"), "");
    const script = `${HELPERS}\n${RESET_GUARD}\nseed=${SEED}; why=""
if not_member ${CAND}; then reset_node ${CAND} "stale" && echo RESET || echo "DECLINED: $why"; else echo "KEPT: $why"; fi\n`;
    const r = spawnSync("bash", ["-c", script], {
      encoding: "utf8", env: { PATH: `${dir}/bin:/usr/bin:/bin`, STUB_DIR: dir },
    });
    const calls = readFileSync(path.join(dir, "calls.log"), "utf8");
    return { out: r.stdout + r.stderr, destructive: /flushall|cluster reset/i.test(calls) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("redis cluster step: a node is flushed and reset only on positive evidence", () => {
  test("a node no member knows, with every slot served by others, is flushed and reset", () => {
    const r = run(healthy());
    expect(r.out).toContain("discarding its 42 keys");
    expect(r.out).toContain("RESET");
    expect(r.destructive).toBe(true);
  });

  const cases: [string, (r: Replies) => void, RegExp][] = [
    ["its CLUSTER MYID fails (maxclients/BUSY/LOADING)", (r) => { r[CAND]["cluster myid"] = undefined; }, /not a node id/],
    ["its CLUSTER MYID is not a 40-hex id", (r) => { r[CAND]["cluster myid"] = "LOADING Redis is loading"; }, /not a node id/],
    ["the seed's CLUSTER NODES fails", (r) => { r[SEED]["cluster nodes"] = undefined; }, /seed .* no usable CLUSTER NODES/],
    ["the seed's CLUSTER NODES lacks its own myself line", (r) => { r[SEED]["cluster nodes"] = cluster(PEER); }, /seed .* no usable/],
    ["another member's CLUSTER NODES fails", (r) => { r[PEER]["cluster nodes"] = undefined; }, /member 10\.0\.0\.2:7000 gave no usable/],
    ["another member still knows the node's id", (r) => {
      r[PEER]["cluster nodes"] = cluster(PEER) + "\n" + line(id("c"), CAND, "master", "-", "");
    }, /still knows its id/],
    ["the other masters do not serve every slot (the candidate's slots counted by the seed)", (r) => {
      r[SEED]["cluster nodes"] = [line(id("a"), SEED, "myself,master", "-", "0-8191"), line(id("d"), CAND, "master", "-", "8192-16383")].join("\n");
      r[PEER]["cluster nodes"] = undefined;
    }, /16384 slots/],
    ["a master serving slots is flagged fail", (r) => {
      r[SEED]["cluster nodes"] = cluster(SEED).replace(/ master - (0 0 1 connected 8192)/, " master,fail - $1");
    }, /16384 slots/],
    ["its DBSIZE fails", (r) => { r[CAND].dbsize = undefined; }, /DBSIZE/],
  ];
  test.each(cases)("no FLUSHALL and no reset when %s", (_name, mutate, reason) => {
    const replies = healthy();
    mutate(replies);
    const r = run(replies);
    expect(r.destructive).toBe(false);
    expect(r.out).toMatch(reason);
  });

  test("a node the seed knows is kept without any destructive command", () => {
    const replies = healthy();
    replies[CAND]["cluster myid"] = id("b");
    const r = run(replies);
    expect(r.out).toContain("KEPT: \n");
    expect(r.destructive).toBe(false);
  });
});
