/**
 * Redis backup and restore for real, as docs/redis.md tells it: a 3-host cluster with 10,000 keys
 * is snapshotted to the bucket stand-in (s3rver on the lab bridge), every host is wiped, a cluster
 * of ANOTHER host count (4) is built by the normal provisioning steps, and the restore script puts
 * every key back in the master that owns its slot. Each host uploads under its own prefix
 * (`<cluster prefix>/<host>/<set>/`); the restore on one host gathers the set from all of them.
 */
import { Cluster } from "ioredis";
import { describeOnHosts } from "../../test/hosts/guard";
import { startLab, type Lab } from "../../test/hosts/lab";
import { awsCliFiles, startKeyStoreStandIn, startS3StandIn, type KeyStoreStandIn, type S3StandIn } from "../../test/hosts/aws-stand-ins";
import { allNodeAddrs, clusterNodes, clusterProblem, provisionRedisHosts, redisCmd, runClusterStep } from "../../test/hosts/redis-lab";
import { readdirSync, renameSync } from "node:fs";
import * as path from "node:path";
import { REDIS_BACKUP_PATHS, redisHostBackupPrefix, renderRedisBackupStep } from "./redis";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const keySlot = require("cluster-key-slot") as (key: string) => number;

const PASSWORD = "Bk-redis!pw_0123:{x}=y@z"; // the characters opsfleet:redisPassword allows, except %
const BUCKET = "opsfleet-test-backups";
const KEYS = 10_000;
const HOSTS = [1, 2, 3, 4].map((i) => ({ name: `r${i}`, ip: `10.78.10.1${i}` }));
const OLD = HOSTS.slice(0, 3);
const CLUSTER_PREFIX = "redis/test-redis";
const hostName = (h: (typeof HOSTS)[number]) => `test-redis-${h.name}`;

/** Keys s3rver holds in `bucket` (its filesystem store: <dir>/<bucket>/<key>._S3rver_object). */
function storedKeys(dir: string, bucket: string): string[] {
  const root = path.join(dir, bucket);
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.endsWith("._S3rver_object")).map((f) => f.slice(0, -"._S3rver_object".length).split(path.sep).join("/")).sort();
}

describeOnHosts(
  "Redis RDB backup + restore into a cluster of another host count (bucket stand-in)",
  () => {
    let lab: Lab;
    let s3: S3StandIn;
    let cw: KeyStoreStandIn;
    // each host writes under its own prefix (what its role allows); the restore reads the cluster's
    const step = (h: (typeof HOSTS)[number]) => renderRedisBackupStep({
      target: { bucket: BUCKET, prefix: redisHostBackupPrefix(CLUSTER_PREFIX, hostName(h)), region: "eu-west-1", hostLabel: hostName(h), metricNamespace: "Opsfleet/Hosts/test", endpoints: { s3: s3.endpoint, cloudwatch: cw.endpoint } },
      clusterPrefix: CLUSTER_PREFIX,
      privateIp: h.ip,
      schedule: { intervalHours: 6, startTime: "00:45" },
    });
    const client = (hosts: typeof HOSTS) => {
      const c = new Cluster(hosts.map((h) => ({ host: h.ip, port: 7000 })), { redisOptions: { password: PASSWORD, connectTimeout: 2000 }, slotsRefreshTimeout: 2000, enableAutoPipelining: true });
      c.on("error", () => undefined);
      return c;
    };

    beforeAll(async () => {
      lab = await startLab({ name: "bkredis", hosts: HOSTS });
      [s3, cw] = await Promise.all([startS3StandIn(lab.gatewayIp, [BUCKET]), startKeyStoreStandIn(lab.gatewayIp)]);
      const aws = awsCliFiles("eu-west-1");
      await Promise.all(HOSTS.map((h) => lab.ssh(h.name, "install -d -m 0700 /root/.aws && cat > /root/.aws/credentials", aws.credentials)));
      await provisionRedisHosts(lab, { password: PASSWORD, maxmemoryMb: 64 }, OLD);
      expect((await runClusterStep(lab, 60_000, OLD)).action).toBe("created");
      await Promise.all(OLD.map((h) => lab.runStep(h.name, step(h))));
    }, 90_000);
    afterAll(async () => {
      await Promise.all([s3?.close(), cw?.close()]);
      await lab?.stop();
    }, 60_000);

    test("10,000 keys snapshotted on every host (one master each) into one set, each host under its own prefix", async () => {
      const c = client(OLD);
      await Promise.all(Array.from({ length: KEYS }, (_, i) => (i % 10 === 0 ? c.set(`k:${i}`, `v${i}`, "EX", 3600) : c.set(`k:${i}`, `v${i}`))));
      c.disconnect();

      const runs = await Promise.all(OLD.map((h) => lab.ssh(h.name, `${REDIS_BACKUP_PATHS.backup} --set drill`, undefined, { timeoutMs: 60_000 })));
      for (const [i, r] of runs.entries()) {
        expect({ host: OLD[i].name, code: r.code, err: r.stderr }).toEqual({ host: OLD[i].name, code: 0, err: "" });
        expect(r.stdout).toContain(`set drill: 1 master snapshot(s) of ${OLD[i].ip} uploaded`);
      }
      expect(cw.metrics.filter((m) => m.name === "BackupSuccess" && m.dimensions.System === "redis" && m.value === 1)).toHaveLength(3);
      // the set's name is the same on every host; each host's files are under its own prefix only
      expect(storedKeys(s3.dir, BUCKET)).toEqual(OLD.flatMap((h) => ["meta", "rdb.zst"].map((ext) => `${CLUSTER_PREFIX}/${hostName(h)}/drill/${h.ip}-7000.${ext}`)).sort());
    }, 90_000);

    test("every host wiped; provisioning builds a new empty cluster of 4 hosts", async () => {

      // every host wiped: processes gone, data directories empty
      await Promise.all(OLD.map((h) => lab.ssh(h.name, "for p in 7000 7001; do kill $(cat /run/redis-$p/redis-server.pid) 2>/dev/null || true; done; sleep 0.5; rm -rf /var/lib/redis/7000 /var/lib/redis/7001")));
      // the normal provisioning builds a new, empty cluster, now of 4 hosts
      await provisionRedisHosts(lab, { password: PASSWORD, maxmemoryMb: 64 }, HOSTS);
      expect((await runClusterStep(lab, 60_000, HOSTS)).action).toBe("created");
      await lab.runStep("r1", step(HOSTS[0]));
    }, 90_000);

    test("restore: every key back in the master that owns its slot, TTLs kept, cluster healthy, placement rules hold", async () => {

      // r3's part of the set moved to where backups made before per-host prefixes put it
      // (<cluster prefix>/<set>/): the restore gathers one set from both layouts
      renameSync(path.join(s3.dir, BUCKET, CLUSTER_PREFIX, hostName(OLD[2]), "drill"), path.join(s3.dir, BUCKET, CLUSTER_PREFIX, "drill"));
      expect(storedKeys(s3.dir, BUCKET).filter((k) => k.startsWith(`${CLUSTER_PREFIX}/drill/`))).toHaveLength(2);
      const r = await lab.ssh("r1", `${REDIS_BACKUP_PATHS.restore} --set drill --yes`, undefined, { timeoutMs: 90_000 });
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(new RegExp(`restore done: set drill, ${KEYS} keys, every key in the master that owns its slot`));

      const addrs = allNodeAddrs(lab, HOSTS);
      expect(await clusterProblem(addrs, PASSWORD)).toBeNull(); // healthy, replicas synced, placement rules hold
      const nodes = await clusterNodes(addrs[0], PASSWORD);
      const masters = nodes.filter((n) => n.flags.includes("master"));
      expect(masters).toHaveLength(4);
      let found = 0;
      for (const m of masters) {
        const ranges = m.slots.map((s) => s.split("-").map(Number));
        let cursor = "0";
        do {
          const [next, keys] = (await redisCmd(m.addr, PASSWORD, "SCAN", cursor, "COUNT", 1000)) as [string, string[]];
          cursor = next;
          for (const k of keys) {
            const slot = keySlot(k);
            expect({ k, owned: ranges.some(([a, b = a]) => slot >= a && slot <= b) }).toEqual({ k, owned: true });
          }
          found += keys.length;
        } while (cursor !== "0");
      }
      expect(found).toBe(KEYS);
      const c2 = client(HOSTS);
      const values = await Promise.all(Array.from({ length: KEYS }, (_, i) => c2.get(`k:${i}`)));
      expect(values.filter((v, i) => v === `v${i}`)).toHaveLength(KEYS);
      const ttls = await Promise.all(Array.from({ length: 100 }, (_, j) => c2.ttl(`k:${j * 10}`)));
      expect(ttls.every((t) => t > 3000)).toBe(true);
      c2.disconnect();

      // a second restore into the now-populated cluster is refused: never mixed into live keys
      const again = await lab.ssh("r1", `${REDIS_BACKUP_PATHS.restore} --set drill --yes`);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain(`the cluster holds ${KEYS} keys: a restore goes into an empty cluster only`);
    }, 90_000);
  },
  { requires: ["redis-server", "redis-cli", "aws", "zstd"] },
);
