/**
 * The real checker script, run by bash on this machine with the real Debian AWS CLI, against a
 * local Elasticsearch stand-in (green, yellow, red) and the CloudWatch stand-in. (Redis and the
 * database are checked on test hosts: provision/monitoring/redis.hosts.test.ts, provision/monitoring/database.hosts.test.ts.)
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startCloudWatchStandIn, type CloudWatchStandIn } from "../../test/hosts/cloudwatch-standin";
import { HEALTH_CHECKER_SCRIPT } from "./checker-script";
import { HOST_METRICS, type HostMetricName } from "./metrics";
import { renderHealthConf, type HealthCheckParams } from "./steps";
import { hostMetricsNamespace } from "./namespace";

const AWS_ENV = {
  PATH: "/usr/sbin:/usr/bin:/sbin:/bin", AWS_ACCESS_KEY_ID: "AKIDSTANDIN", AWS_SECRET_ACCESS_KEY: "standin",
  AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null", AWS_EC2_METADATA_DISABLED: "true",
};

function runChecker(conf: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", [path.join(dir, "check"), conf], { env: { ...AWS_ENV, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }));
  });
}

let dir: string;
let cw: CloudWatchStandIn;
let es: http.Server;
let esState = { status: "green", unassigned_shards: 0 };
let esMode: "ok" | "nomaster" | "unauthorized" = "ok";
const esAuth: string[] = [];

beforeAll(async () => {
  if (!existsSync("/usr/bin/aws")) throw new Error("the checker publishes with Debian's awscli: apt-get install awscli (CI installs it in .ci/run)");
  dir = mkdtempSync(path.join(tmpdir(), "opsfleet-health-"));
  writeFileSync(path.join(dir, "check"), HEALTH_CHECKER_SCRIPT, { mode: 0o700 });
  cw = await startCloudWatchStandIn();
  es = http.createServer((req, res) => {
    esAuth.push(String(req.headers.authorization ?? ""));
    res.setHeader("Content-Type", "application/json");
    // Elasticsearch 8's answers: credentials rejected (every API), no elected master (cluster APIs only)
    if (esMode === "unauthorized") {
      res.setHeader("WWW-Authenticate", 'Basic realm="security" charset="UTF-8"');
      const reason = `unable to authenticate user [elastic] for REST request [${req.url}]`;
      res.writeHead(401).end(JSON.stringify({ error: { root_cause: [{ type: "security_exception", reason }], type: "security_exception", reason }, status: 401 }));
    } else if (esMode === "nomaster" && req.url?.startsWith("/_cluster/")) {
      res.writeHead(503).end(JSON.stringify({ error: { root_cause: [{ type: "master_not_discovered_exception", reason: null }], type: "master_not_discovered_exception", reason: null }, status: 503 }));
    } else if (req.url?.startsWith("/_cluster/health")) res.end(JSON.stringify({ cluster_name: "dev-logs", ...esState, number_of_nodes: 3 }));
    else if (req.url?.startsWith("/_nodes/_local/stats/jvm,fs")) {
      res.end(JSON.stringify({ nodes: { abc: { jvm: { mem: { heap_used_percent: 42 } }, fs: { total: { total_in_bytes: 1000, free_in_bytes: 300, available_in_bytes: 250 } } } } }));
    } else res.writeHead(404).end("{}");
  });
  await new Promise<void>((r) => es.listen(0, "127.0.0.1", () => r()));
  writeFileSync(path.join(dir, "elastic.curlrc"), 'user = "elastic:s3cret pa\\"ss"\n', { mode: 0o600 });
}, 30_000);

afterAll(async () => {
  await cw?.close();
  await new Promise((r) => es?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const params = (over: Partial<HealthCheckParams> = {}): HealthCheckParams => ({
  group: "elasticsearch", stack: "dev", host: "dev-es-data-1", region: "eu-west-1", endpointUrl: cw.url, diskMounts: ["/", "/dev/shm"],
  elasticsearch: { cluster: "dev-es", url: `http://127.0.0.1:${(es.address() as AddressInfo).port}`, curlrc: path.join(dir, "elastic.curlrc") },
  ...over,
});

async function check(p: HealthCheckParams) {
  const conf = path.join(dir, "health.conf");
  writeFileSync(conf, renderHealthConf(p), { mode: 0o600 });
  const since = Date.now();
  const r = await runChecker(conf);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const latest = (name: HostMetricName, dims: Record<string, string> = {}) => cw.find(name, dims, since).map((d) => d.value);
  return { r, latest };
}

test("Elasticsearch green, yellow, red: status as 0/1/2, unassigned shards, heap and disk use, published through the AWS CLI", async () => {
  const cluster = { Stack: "dev", Cluster: "dev-es" };
  esState = { status: "green", unassigned_shards: 0 };
  const green = await check(params());
  expect(green.latest("EsNodeUp", { Stack: "dev", Host: "dev-es-data-1" })).toEqual([1]);
  expect(green.latest("EsClusterStatus", cluster)).toEqual([0]);
  expect(green.latest("EsUnassignedShards", cluster)).toEqual([0]);
  expect(green.latest("EsHeapUsedPercent", { Host: "dev-es-data-1" })).toEqual([42]);
  expect(green.latest("EsDiskUsedPercent", { Host: "dev-es-data-1" })).toEqual([75]);

  esState = { status: "yellow", unassigned_shards: 5 };
  const yellow = await check(params());
  expect(yellow.latest("EsClusterStatus", cluster)).toEqual([1]);
  expect(yellow.latest("EsUnassignedShards", cluster)).toEqual([5]);

  esState = { status: "red", unassigned_shards: 12 };
  const red = await check(params());
  expect(red.latest("EsClusterStatus", cluster)).toEqual([2]);
  expect(red.latest("EsUnassignedShards", cluster)).toEqual([12]);

  // credentials came from the curl config file (basic auth), never from the command line
  expect(new Set(esAuth)).toEqual(new Set([`Basic ${Buffer.from('elastic:s3cret pa"ss').toString("base64")}`]));
  expect(cw.rejected).toEqual([]);
  // every datum is in our namespace, with the unit and dimensions of the metric table
  for (const d of cw.data) {
    const m = HOST_METRICS[d.name as HostMetricName];
    expect(m).toBeDefined();
    expect(d.namespace).toBe(hostMetricsNamespace("dev"));
    expect(d.unit).toBe(m.unit);
    expect(Object.keys(d.dimensions)).toEqual([...m.dimensions]);
  }
}, 120_000);

test("an unreachable node: EsNodeUp 0 and no cluster view from this host (the others report it)", async () => {
  const { latest } = await check(params({ elasticsearch: { cluster: "dev-es", url: "http://127.0.0.1:9", curlrc: path.join(dir, "elastic.curlrc") } }));
  expect(latest("EsNodeUp")).toEqual([0]);
  expect(latest("EsClusterStatus")).toEqual([]);
}, 60_000);

test("no elected master (503 master_not_discovered_exception): the node is up with heap and disk, and the cluster counts as red", async () => {
  esMode = "nomaster";
  try {
    const { latest } = await check(params());
    expect(latest("EsNodeUp")).toEqual([1]);
    expect(latest("EsCheckRejected")).toEqual([0]);
    expect(latest("EsHeapUsedPercent")).toEqual([42]);
    expect(latest("EsDiskUsedPercent")).toEqual([75]);
    expect(latest("EsClusterStatus", { Cluster: "dev-es" })).toEqual([2]);
    expect(latest("EsUnassignedShards")).toEqual([]);
  } finally { esMode = "ok"; }
}, 60_000);

test("credentials rejected (401): the node is up, the check says it is refused, nothing about the cluster is made up", async () => {
  esMode = "unauthorized";
  try {
    const conf = path.join(dir, "health.conf");
    writeFileSync(conf, renderHealthConf(params()), { mode: 0o600 });
    const since = Date.now();
    const r = await runChecker(conf);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("refused the checker's credentials (HTTP 401)");
    const latest = (name: HostMetricName) => cw.find(name, {}, since).map((d) => d.value);
    expect(latest("EsNodeUp")).toEqual([1]);
    expect(latest("EsCheckRejected")).toEqual([1]);
    expect(latest("EsClusterStatus")).toEqual([]);
    expect(latest("EsHeapUsedPercent")).toEqual([]);
  } finally { esMode = "ok"; }
}, 60_000);

test("disk use of every configured mount, as df reports it", async () => {
  const { latest, r } = await check(params());
  const df = Number(/(\d+)%/.exec(await new Promise<string>((res) => execFile("df", ["-P", "/dev/shm"], (_e, out) => res(out.split("\n")[1])))!)![1]);
  expect(latest("DiskUsedPercent", { MountPoint: "/dev/shm" })).toEqual([df]);
  expect(latest("DiskUsedPercent", { MountPoint: "/" })).toHaveLength(1);
  expect(r.stdout).toContain(`DiskUsedPercent ${df} MountPoint=/dev/shm`);
  // the heartbeat the "checker silent" alarm watches
  expect(latest("HostCheckerUp")).toEqual([1]);
}, 60_000);

test("a slow system cannot make the run outlive its unit: the budget cuts the query, the rest is published, the cut query is not", async () => {
  // an Elasticsearch that accepts the connection and never answers
  const slow = http.createServer(() => undefined);
  await new Promise<void>((r) => slow.listen(0, "127.0.0.1", () => r()));
  try {
    const conf = path.join(dir, "slow.conf");
    const p = params({ elasticsearch: { cluster: "dev-es", url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`, curlrc: path.join(dir, "elastic.curlrc") } });
    writeFileSync(conf, `${renderHealthConf(p)}\nCHECK_BUDGET_SECONDS=2\n`, { mode: 0o600 });
    const since = Date.now();
    const r = await runChecker(conf);
    expect(r.code).toBe(0);
    expect(Date.now() - since).toBeLessThan(15_000);
    const latest = (name: HostMetricName) => cw.find(name, {}, since).map((d) => d.value);
    expect(latest("HostCheckerUp")).toEqual([1]);
    expect(latest("DiskUsedPercent").length).toBeGreaterThan(0);
    // the query did not fail, it ran out of time: no EsNodeUp 0 for a node that may be fine
    expect(latest("EsNodeUp")).toEqual([]);
    expect(r.stderr).toContain("EsNodeUp: skipped (out of time)");
  } finally {
    slow.closeAllConnections();
    await new Promise((r) => slow.close(r));
  }
}, 60_000);

// ---- failed (not timed-out) queries publish nothing made up ---------------------------------------

/**
 * A redis-cli stand-in on PATH: `<dir>/<port>/<COMMAND_WORDS>` is the reply (exit 0, like the real
 * client on an error reply); a missing file is a failed call (exit 1, no output).
 */
const FAKE_REDIS_CLI = `#!/bin/bash
while [ "$1" = -h ] || [ "$1" = -p ] || [ "$1" = --no-auth-warning ]; do
  case "$1" in -p) port=$2; shift 2;; -h) shift 2;; *) shift;; esac
done
f="$FAKE_REDIS/$port/$(IFS=_; echo "$*")"
[ -f "$f" ] || exit 1
cat "$f"
`;
const HEALTHY: Record<string, string> = {
  PING: "PONG\n",
  INFO_memory: "# Memory\r\nused_memory:50\r\nmaxmemory:200\r\n",
  INFO_replication: "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=10.0.0.2,port=7001,state=online,offset=1,lag=0\r\n",
  CLUSTER_NODES: "a1 10.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\nb2 10.0.0.2:7001@17001 slave a1 0 1 1 connected\n",
  CLUSTER_INFO: "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\ncluster_known_nodes:6\r\n",
};

async function redisCheck(replies: Record<string, string | undefined>, mounts: string[] = ["/"]) {
  const fake = mkdtempSync(path.join(dir, "redis-"));
  writeFileSync(path.join(fake, "redis-cli"), FAKE_REDIS_CLI, { mode: 0o755 });
  mkdirSync(path.join(fake, "7000"));
  for (const [cmd, reply] of Object.entries({ ...HEALTHY, ...replies })) if (reply !== undefined) writeFileSync(path.join(fake, "7000", cmd), reply);
  const conf = path.join(fake, "health.conf");
  writeFileSync(conf, renderHealthConf({
    group: "redis", stack: "dev", host: "dev-redis-0", region: "eu-west-1", endpointUrl: cw.url, diskMounts: mounts,
    redis: { cluster: "dev-redis", ports: [7000], authFile: path.join(fake, "no-auth") },
  }), { mode: 0o600 });
  const since = Date.now();
  const r = await runChecker(conf, { PATH: `${fake}:${AWS_ENV.PATH}`, FAKE_REDIS: fake });
  expect(r.code).toBe(0);
  const published = new Map<string, number[]>();
  for (const d of cw.data.filter((x) => x.at >= since && (x.dimensions.Host === "dev-redis-0" || x.dimensions.Cluster === "dev-redis"))) published.set(d.name, [...(published.get(d.name) ?? []), d.value]);
  return { r, published: Object.fromEntries(published) };
}

test("Redis stand-in, all queries answered: every Redis value (the stand-in is faithful enough for the failure cases below)", async () => {
  const { r, published } = await redisCheck({});
  expect(r.stderr).toBe("");
  expect(published).toMatchObject({
    RedisNodeUp: [1], RedisMemoryUsedPercent: [25], RedisReplicasInSync: [0], RedisUnreplicatedMasters: [0], RedisMastersOnHost: [1],
    RedisClusterStateOk: [1], RedisSlotsAssigned: [16384], RedisSlotsOk: [16384], RedisKnownNodes: [6], HostCheckerUp: [1],
  });
}, 60_000);

test.each([
  ["an empty CLUSTER INFO reply", { CLUSTER_INFO: "" }],
  ["CLUSTER INFO failing (redis-cli error)", { CLUSTER_INFO: undefined }],
  ["CLUSTER INFO answering an error", { CLUSTER_INFO: "ERR unknown subcommand 'INFO'\n" }],
])("%s: the node is up, the cluster's values are unknown and not published (no RedisClusterStateOk 0)", async (_what, replies) => {
  const { r, published } = await redisCheck(replies);
  expect(published.RedisNodeUp).toEqual([1]);
  for (const m of ["RedisClusterStateOk", "RedisSlotsAssigned", "RedisSlotsOk", "RedisKnownNodes"]) expect([m, published[m]]).toEqual([m, undefined]);
  expect(r.stderr).toContain("CLUSTER INFO on :7000 failed");
  expect(published.RedisMastersOnHost).toEqual([1]);
  expect(published.HostCheckerUp).toEqual([1]);
}, 60_000);

test("a node in no cluster (a new host not added yet, or a leaving host's node reset by a scale-in): up, but no cluster values", async () => {
  const { published } = await redisCheck({
    CLUSTER_INFO: "cluster_state:fail\r\ncluster_slots_assigned:0\r\ncluster_slots_ok:0\r\ncluster_known_nodes:1\r\n",
    CLUSTER_NODES: "a1 10.0.0.1:7000@17000 myself,master - 0 0 0 connected\n",
    INFO_replication: "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n",
  });
  expect(published.RedisNodeUp).toEqual([1]);
  for (const m of ["RedisClusterStateOk", "RedisSlotsAssigned", "RedisSlotsOk", "RedisKnownNodes", "RedisUnreplicatedMasters", "RedisMastersOnHost", "RedisReplicasInSync"]) {
    expect([m, published[m]]).toEqual([m, undefined]);
  }
  expect(published.HostCheckerUp).toEqual([1]);
}, 60_000);

test("INFO replication refused (NOAUTH): no replica counts made up (no RedisUnreplicatedMasters 1, no RedisReplicasInSync 0)", async () => {
  const { r, published } = await redisCheck({ INFO_replication: "NOAUTH Authentication required.\n" });
  expect(published.RedisNodeUp).toEqual([1]);
  expect(published.RedisUnreplicatedMasters).toBeUndefined();
  expect(published.RedisReplicasInSync).toBeUndefined();
  expect(r.stderr).toContain("INFO replication on :7000 failed");
  expect(published.RedisClusterStateOk).toEqual([1]);
}, 60_000);

test("CLUSTER NODES failing: no RedisMastersOnHost 0 (and no replica counts); INFO memory failing: no memory use 0", async () => {
  const nodes = await redisCheck({ CLUSTER_NODES: undefined });
  expect(nodes.published.RedisMastersOnHost).toBeUndefined();
  expect(nodes.published.RedisUnreplicatedMasters).toBeUndefined();
  expect(nodes.r.stderr).toContain("CLUSTER NODES on :7000 failed");
  const memory = await redisCheck({ INFO_memory: "LOADING Redis is loading the dataset in memory\n" });
  expect(memory.published.RedisMemoryUsedPercent).toBeUndefined();
  expect(memory.r.stderr).toContain("INFO memory on :7000 failed");
}, 60_000);

test("a node that does not answer PING: RedisNodeUp 0 and nothing else about it", async () => {
  const { published } = await redisCheck({ PING: undefined });
  expect(published.RedisNodeUp).toEqual([0]);
  for (const m of ["RedisMemoryUsedPercent", "RedisReplicasInSync", "RedisUnreplicatedMasters", "RedisMastersOnHost", "RedisClusterStateOk"]) expect([m, published[m]]).toEqual([m, undefined]);
}, 60_000);

test("a data volume that is not mounted: no DiskUsedPercent for it (df would report the root volume beneath)", async () => {
  const notMounted = mkdtempSync(path.join(dir, "vol-"));
  const { r, published } = await redisCheck({}, ["/", notMounted]);
  expect(published.DiskUsedPercent).toHaveLength(1);
  expect(cw.data.filter((d) => d.dimensions.MountPoint === notMounted)).toEqual([]);
  expect(r.stderr).toContain(`df ${notMounted} (not a mounted file system) failed`);
}, 60_000);
