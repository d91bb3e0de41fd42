import { execFileSync } from "node:child_process";
import { HEALTH_CHECKER_SCRIPT } from "./checker-script";
import { HOST_METRICS } from "./metrics";
import { HEALTH_CRON_FILE, HEALTH_DIRS, healthCommand, renderHealthConf, renderHealthStep, type HealthCheckParams } from "./steps";
import { renderStepScript } from "../common/step-script";

const redis: HealthCheckParams = {
  group: "redis", stack: "dev", host: "dev-redis-0", region: "eu-west-1", diskMounts: ["/", "/var/lib/redis"],
  redis: { cluster: "dev-redis", ports: [7000, 7001] },
};

test("the checker publishes exactly the metrics of the metric table, each with its unit and its kind of dimensions", () => {
  const calls = [...HEALTH_CHECKER_SCRIPT.matchAll(/^\s*(?:\[[^\]]*\] && )?metric (\w+) (\w+) .*$/gm)].map((m) => ({ name: m[1], unit: m[2], line: m[0] }));
  expect(new Set(calls.map((c) => c.name))).toEqual(new Set(Object.keys(HOST_METRICS)));
  for (const c of calls) {
    const m = HOST_METRICS[c.name as keyof typeof HOST_METRICS];
    expect([c.name, c.unit]).toEqual([c.name, m.unit]);
    // Cluster= replaces Host; Port= / MountPoint= are the extra dimensions
    const extra = m.dimensions.filter((d) => d !== "Stack" && d !== "Host");
    for (const d of extra) expect(c.line).toContain(`"${d}=`);
    if (!extra.includes("Cluster")) expect(c.line).not.toContain('"Cluster=');
  }
  execFileSync("bash", ["-n"], { input: HEALTH_CHECKER_SCRIPT });
});

test("the config file is plain assignments bash can source, values single-quoted", () => {
  const conf = renderHealthConf({ ...redis, endpointUrl: "http://10.78.6.1:4566" });
  expect(conf).toContain("SECTIONS='disk redis'");
  expect(conf).toContain("DISK_MOUNTS='/ /var/lib/redis'");
  expect(conf).toContain("REDIS_PORTS='7000 7001'");
  expect(conf).toContain("REDIS_AUTH_FILE='/etc/redis/opsfleet-auth'");
  const sourced = execFileSync("bash", ["-c", 'set -u; eval "$(cat)"; echo "$NAMESPACE|$HOST|$ENDPOINT_URL|$REDIS_CLUSTER"'], { input: conf }).toString();
  expect(sourced.trim()).toBe("Opsfleet/Hosts/dev|dev-redis-0|http://10.78.6.1:4566|dev-redis");
  expect(renderHealthConf(redis)).toContain("ENDPOINT_URL=''");
});

test.each([
  [{ host: "dev redis" }, /host: got "dev redis"; allowed: letters, digits/],
  [{ region: "Ireland" }, /region: got "Ireland"; allowed: an AWS region/],
  [{ endpointUrl: "http://x/$(reboot)" }, /endpointUrl: got/],
  [{ diskMounts: ["relative"] }, /diskMounts: got "relative"; allowed: absolute paths/],
])("refuses %j before rendering anything", (over, message) => {
  expect(() => renderHealthConf({ ...redis, ...over } as HealthCheckParams)).toThrow(message);
});

test("the step: checker 0700 and config 0600 in a root-only directory beside the system's config, timer every minute, test hosts install nothing", () => {
  const step = renderHealthStep(redis);
  const dir = HEALTH_DIRS.redis;
  expect(step.files.map((f) => [f.path, f.mode ?? "0644"])).toEqual([
    [`${dir}/check`, "0700"], [`${dir}/health.conf`, "0600"],
    [`${dir}/opsfleet-health.service`, "0644"], [`${dir}/opsfleet-health.timer`, "0644"], [`${dir}/opsfleet-health.cron`, "0644"],
  ]);
  const service = step.files[2].content;
  expect(service).toContain(`ExecStart=${healthCommand("redis")}`);
  expect(service).toMatch(/TimeoutStartSec=50/);
  expect(step.files[3].content).toMatch(/OnUnitActiveSec=1min/);
  expect(step.files[4].content).toContain(`* * * * * root ${healthCommand("redis")}`);
  expect(step.script).toMatch(/elif \[ -e \/run\/opsfleet-test-host \]; then[\s\S]*not installed[\s\S]*else\n  install -m 0644 \S+ \/etc\/cron.d\/opsfleet-health/);
  expect(step.script).toContain("systemctl enable --now opsfleet-health.timer");
  expect(step.script).toContain(`rm -f ${HEALTH_CRON_FILE}`);
  execFileSync("bash", ["-n"], { input: renderStepScript(step) });
  // each group's directory is private to a local test host too (never the machine's shared /etc)
  expect(Object.values(HEALTH_DIRS).every((d) => /^\/etc\/(redis|elasticsearch|logstash|mysql|ssh)\//.test(d))).toBe(true);
});
