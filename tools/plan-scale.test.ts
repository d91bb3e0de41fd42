/**
 * The offline plan of a stack whose Redis host count was raised to 6: six hosts, and the cluster
 * step (on the first host) rendered with every host's nodes as its node list; the known-nodes alarm
 * follows that step.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Plan } from "./plan-core";

const ROOT = path.join(__dirname, "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

test("plan with opsfleet:redis.hostCount 6: six Redis hosts and the cluster step's node list of all twelve nodes", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-plan-scale-"));
  try {
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const dev = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
    const six = dev.replace(/^(\s*opsfleet:redis:\s*\{)/m, "$1 hostCount: 6,");
    expect(six).not.toBe(dev);
    fs.writeFileSync(path.join(dir, "Pulumi.six.yaml"), six);
    const out = await new Promise<string>((resolve, reject) =>
      execFile(TSX, [path.join(ROOT, "tools", "plan.ts"), "--stack", "six", "--json"], { cwd: dir, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`plan failed: ${stderr}`)) : resolve(stdout)));
    const plan = JSON.parse(out) as Plan;
    const hosts = plan.hosts.filter((h) => /-redis-\d+$/.test(h.host));
    expect(hosts.map((h) => h.host.replace(/^.*-redis-/, "redis-"))).toEqual(["redis-0", "redis-1", "redis-2", "redis-3", "redis-4", "redis-5"]);
    const ips = hosts.map((h) => h.privateIp);
    expect(new Set(ips).size).toBe(6);
    const cluster = hosts[0].steps.find((s) => s.name === "redis-cluster")!;
    expect(cluster.script).toContain(`NODES='${[...ips.map((ip) => `${ip}:7000`), ...ips.map((ip) => `${ip}:7001`)].join(" ")}'`);
    // it runs after every host's nodes are up
    // (directly, or through a later step of that host such as its health gate, which runs after redis-nodes)
    for (const h of hosts.slice(1)) {
      const nodesAt = h.steps.findIndex((s) => s.name === "redis-nodes");
      expect(nodesAt).toBeGreaterThanOrEqual(0);
      expect(h.steps.slice(nodesAt).some((s) => cluster.dependsOn.includes(s.resource))).toBe(true);
    }
    for (const h of hosts.slice(1)) expect(h.steps.map((s) => s.name)).not.toContain("redis-cluster");
    // every host, the added ones too, gets its own role + instance profile, whose backup writes only its own prefix
    const profileOf = new Map(plan.resources.filter((r) => r.type === "aws:ec2/instance:Instance").map((r) => [r.name, String(r.inputs.iamInstanceProfile)]));
    expect(hosts.map((h) => profileOf.get(h.host))).toEqual(hosts.map((h) => `${h.host}-role`));
    for (const h of hosts) {
      const backup = plan.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === `${h.host}-role-backup`)!;
      const write = JSON.parse(String(backup.inputs.policy)).Statement.find((st: { Sid: string }) => st.Sid === "WriteOwnPrefix");
      expect(write.Resource).toMatch(new RegExp(`/redis/six-redis/${h.host}/\\*$`));
    }
    // the known-nodes alarm's threshold (12 nodes) changes only after the cluster step has made the cluster match it
    const known = plan.resources.find((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.name.endsWith("-redis-known-nodes"))!;
    expect(known.inputs).toMatchObject({ threshold: 12, evaluationPeriods: 2, datapointsToAlarm: 2 });
    expect(known.options.dependsOn.filter((u) => u.endsWith(`::${cluster.resource}`))).toHaveLength(1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
