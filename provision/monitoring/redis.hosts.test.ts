/**
 * The health checker on a real Redis Cluster: three test hosts provisioned with the same rendered
 * Redis steps as EC2, the rendered health-check step on each, and the Debian AWS CLI publishing to
 * a CloudWatch stand-in on the lab bridge. Healthy values first; then a master is killed (degraded
 * until failover, a master without replica after) and a replica is stopped, and the values cross
 * the thresholds of the very alarm definitions the stacks deploy.
 */
import { describeOnHosts } from "../../test/hosts/guard";
import { startLab, type Lab } from "../../test/hosts/lab";
import { startCloudWatchStandIn, STAND_IN_AWS_CREDENTIALS, type CloudWatchStandIn } from "../../test/hosts/cloudwatch-standin";
import { allNodeAddrs, clusterInfo, clusterNodes, info, provisionRedisHosts, redisCmd, redisPid, runClusterStep, waitFor } from "../../test/hosts/redis-lab";
import { REDIS_PORTS } from "../redis/conf";
import { healthCommand, renderHealthStep } from "./steps";
import { KEY_MAX_AGE_DAYS, planAlarms, type AlarmSpec } from "../../components/monitoring/alarms";
import { alertsConfigSchema } from "../../stacks/config/alerts";
import type { HostMetricName } from "./metrics";

const PASSWORD = `m0n "it$or" \\ 'pw' ${Date.now()}`;
const HOSTS = [1, 2, 3].map((i) => ({ name: `monr${i}`, ip: `10.78.6.1${i}` }));
const STACK = "lab";
const CLUSTER = "lab-redis";
const thresholds = { ...alertsConfigSchema.parse({}).thresholds, dbKeyMaxAgeDays: KEY_MAX_AGE_DAYS.monthly };
const alarms = planAlarms({ stack: STACK, redis: { cluster: CLUSTER, hosts: HOSTS.map((h) => h.name), ports: REDIS_PORTS }, hosts: [] }, thresholds);

/** The alarm watching this metric with exactly these dimensions. */
function alarmFor(metric: HostMetricName, dims: Record<string, string>): AlarmSpec {
  const a = alarms.find((x) => x.metric?.metricName === metric && JSON.stringify(x.metric.dimensions) === JSON.stringify({ Stack: STACK, ...dims }));
  if (!a) throw new Error(`no alarm on ${metric} ${JSON.stringify(dims)}`);
  return a;
}
/** Whether a datapoint of this value is on the alarm's side of its threshold. */
function breaches(a: AlarmSpec, v: number): boolean {
  switch (a.comparison) {
    case "GreaterThanThreshold": return v > a.threshold;
    case "GreaterThanOrEqualToThreshold": return v >= a.threshold;
    case "LessThanThreshold": return v < a.threshold;
    case "LessThanOrEqualToThreshold": return v <= a.threshold;
  }
}

describeOnHosts("health checker on a real Redis Cluster (lab monr)", () => {
  let lab: Lab;
  let cw: CloudWatchStandIn;

  /** Runs the installed checker on a host; returns the values it published, by metric (+ Port). */
  const check = async (host: string) => {
    const since = Date.now();
    const r = await lab.ssh(host, `PATH=/tmp/wrap:$PATH ${healthCommand("redis")}`, undefined, { timeoutMs: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const got = (metric: HostMetricName, dims: Record<string, string> = {}) => {
      const d = cw.find(metric, { Stack: STACK, ...dims }, since);
      expect(d).toHaveLength(1);
      return d[0].value;
    };
    return got;
  };
  const node = (h: string, port: number) => ({ Host: h, Port: String(port) });
  const cluster = { Cluster: CLUSTER };

  beforeAll(async () => {
    lab = await startLab({ name: "monr", hosts: HOSTS });
    cw = await startCloudWatchStandIn(lab.gatewayIp);
    await provisionRedisHosts(lab, { password: PASSWORD, maxmemoryMb: 64 });
    await runClusterStep(lab);
    await Promise.all(lab.hosts.map(async (h) => {
      await lab.ssh(h, "install -d -m 0700 /root/.aws && cat > /root/.aws/credentials", STAND_IN_AWS_CREDENTIALS);
      // a redis-cli that logs its arguments: the password must never be one of them
      await lab.ssh(h, "install -d /tmp/wrap && cat > /tmp/wrap/redis-cli && chmod 0755 /tmp/wrap/redis-cli",
        '#!/bin/bash\nprintf "%s\\n" "$*" >> /tmp/redis-cli.argv\nexec /usr/bin/redis-cli "$@"\n');
      const step = await lab.runStep(h, renderHealthStep({
        group: "redis", stack: STACK, host: h.name, region: "eu-west-1", endpointUrl: cw.url, diskMounts: ["/", "/var/lib/redis"],
        redis: { cluster: CLUSTER, ports: REDIS_PORTS },
      }));
      expect(step.stdout).toContain("opsfleet-health: test host");
    }));
  }, 90_000);

  afterAll(async () => {
    await cw?.close();
    await lab?.stop();
  }, 60_000);

  test("healthy cluster: every node up, state ok, all slots, 6 nodes, one master and one synced replica per host — no alarm on its threshold", async () => {
    for (const h of HOSTS) {
      const got = await check(h.name);
      for (const p of REDIS_PORTS) {
        expect(got("RedisNodeUp", node(h.name, p))).toBe(1);
        const mem = got("RedisMemoryUsedPercent", node(h.name, p));
        expect(mem).toBeGreaterThan(0);
        expect(breaches(alarmFor("RedisMemoryUsedPercent", node(h.name, p)), mem)).toBe(false);
        expect(breaches(alarmFor("RedisNodeUp", node(h.name, p)), 1)).toBe(false);
      }
      expect(got("RedisMastersOnHost", { Host: h.name })).toBe(1);
      expect(got("RedisReplicasInSync", { Host: h.name })).toBe(1);
      expect(got("RedisClusterStateOk", cluster)).toBe(1);
      expect(got("RedisSlotsAssigned", cluster)).toBe(16384);
      expect(got("RedisSlotsOk", cluster)).toBe(16384);
      expect(got("RedisKnownNodes", cluster)).toBe(6);
      expect(got("RedisUnreplicatedMasters", cluster)).toBe(0);
      expect(got("DiskUsedPercent", { Host: h.name, MountPoint: "/var/lib/redis" })).toBeGreaterThan(0);
      for (const [m, v] of [["RedisClusterStateOk", 1], ["RedisSlotsOk", 16384], ["RedisKnownNodes", 6], ["RedisUnreplicatedMasters", 0]] as const) {
        expect(breaches(alarmFor(m, cluster), v)).toBe(false);
      }
    }
    // the password reached redis-cli only through the environment
    const argv = await lab.ssh(HOSTS[0].name, "cat /tmp/redis-cli.argv");
    expect(argv.stdout).toContain("CLUSTER NODES");
    expect(argv.stdout).not.toContain(PASSWORD);
    expect(cw.rejected).toEqual([]);
  }, 90_000);

  test("kill -9 of a master: degraded (state fail, slots not ok) until failover; after it, a master without replica and two masters on one host", async () => {
    const addrs = allNodeAddrs(lab);
    const victim = `${HOSTS[1].ip}:7000`;
    const nodes = await clusterNodes(addrs[0], PASSWORD);
    const victimId = nodes.find((n) => n.addr === victim)!.id;
    const replica = nodes.find((n) => n.masterId === victimId)!;
    const replicaHost = HOSTS.find((h) => h.ip === replica.ip)!.name;
    // hold the failover back so the degraded window is observable, then let it happen
    await redisCmd(replica.addr, PASSWORD, "CONFIG", "SET", "cluster-replica-no-failover", "yes");
    expect((await lab.exec(HOSTS[1].name, ["kill", "-9", String(await redisPid(lab, HOSTS[1].name, 7000))])).code).toBe(0);
    await waitFor("cluster_state fail", 30_000, async () => (await clusterInfo(addrs[0], PASSWORD)).cluster_state === "fail");

    const down = await check(HOSTS[1].name);
    expect(down("RedisNodeUp", node(HOSTS[1].name, 7000))).toBe(0);
    expect(breaches(alarmFor("RedisNodeUp", node(HOSTS[1].name, 7000)), 0)).toBe(true);
    const degraded = await check(HOSTS[0].name);
    expect(degraded("RedisClusterStateOk", cluster)).toBe(0);
    expect(breaches(alarmFor("RedisClusterStateOk", cluster), 0)).toBe(true);
    const slotsOk = degraded("RedisSlotsOk", cluster);
    expect(slotsOk).toBeLessThan(16384);
    expect(breaches(alarmFor("RedisSlotsOk", cluster), slotsOk)).toBe(true);

    await redisCmd(replica.addr, PASSWORD, "CONFIG", "SET", "cluster-replica-no-failover", "no");
    await waitFor("failover", 30_000, async () => (await info(replica.addr, PASSWORD, "replication")).role === "master");
    await waitFor("cluster_state ok", 30_000, async () => (await clusterInfo(addrs[0], PASSWORD)).cluster_state === "ok");

    const after = await check(replicaHost);
    expect(after("RedisClusterStateOk", cluster)).toBe(1);
    expect(after("RedisSlotsOk", cluster)).toBe(16384);
    expect(after("RedisUnreplicatedMasters", cluster)).toBe(1);
    expect(breaches(alarmFor("RedisUnreplicatedMasters", cluster), 1)).toBe(true);
    expect(after("RedisMastersOnHost", { Host: replicaHost })).toBe(2);
    expect(breaches(alarmFor("RedisMastersOnHost", { Host: replicaHost }), 2)).toBe(true);
    expect(after("RedisReplicasInSync", { Host: replicaHost })).toBe(0);
  }, 90_000);

  test("a stopped replica: its node is down and its master has no replica in sync", async () => {
    const addrs = allNodeAddrs(lab);
    const nodes = await clusterNodes(addrs[0], PASSWORD);
    // a replica whose master is still alive and is not the promoted one
    const replica = nodes.find((n) => n.flags.includes("slave") && !n.flags.some((f) => f.startsWith("fail")) && n.port === 7001
      && nodes.find((m) => m.id === n.masterId && m.port === 7000 && !m.flags.some((f) => f.startsWith("fail"))))!;
    const master = nodes.find((m) => m.id === replica.masterId)!;
    const replicaHost = HOSTS.find((h) => h.ip === replica.ip)!.name;
    const masterHost = HOSTS.find((h) => h.ip === master.ip)!.name;
    expect((await lab.exec(replicaHost, ["kill", "-TERM", String(await redisPid(lab, replicaHost, 7001))])).code).toBe(0);
    await waitFor("the master to lose its replica", 20_000, async () => (await info(master.addr, PASSWORD, "replication")).connected_slaves === "0");

    const onReplicaHost = await check(replicaHost);
    expect(onReplicaHost("RedisNodeUp", node(replicaHost, 7001))).toBe(0);
    expect(breaches(alarmFor("RedisNodeUp", node(replicaHost, 7001)), 0)).toBe(true);
    const onMasterHost = await check(masterHost);
    const unreplicated = onMasterHost("RedisUnreplicatedMasters", cluster);
    expect(unreplicated).toBeGreaterThanOrEqual(1);
    expect(breaches(alarmFor("RedisUnreplicatedMasters", cluster), unreplicated)).toBe(true);
  }, 90_000);
}, { requires: ["redis-server", "redis-cli", "aws"] });
