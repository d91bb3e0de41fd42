import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { renderStepScript } from "../common/step-script";
import { PICK_MASTER_AWK, PLACEMENT_AWK, SURPLUS_AWK } from "./cluster-script";
import {
  REDIS_AUTH_FILE, redisClusterNodeOrder, redisCreatedFirst, renderRedisClusterStep, renderRedisHealthStep, renderRedisHostSteps, renderRedisInstallStep, renderRedisNodesStep,
} from "./steps";

const PASSWORD = "n0t-in-scripts-0123456789";
const host = { privateIp: "10.0.1.21", password: PASSWORD, maxmemoryMb: 512 };
const IPS = ["10.0.1.21", "10.0.2.22", "10.0.3.23"];

describe("redis host steps", () => {
  test("run in order: install, OS tuning, nodes", () => {
    expect(renderRedisHostSteps(host).map((s) => s.name)).toEqual(["redis-install", "redis-os", "redis-nodes"]);
  });

  test("the nodes step writes one config per port (redis:redis 0640) and a root-only auth file", () => {
    const step = renderRedisNodesStep(host);
    expect(step.files.map((f) => [f.path, f.mode, f.owner, f.group])).toEqual([
      ["/etc/redis/redis-7000.conf", "0640", "redis", "redis"],
      ["/etc/redis/redis-7001.conf", "0640", "redis", "redis"],
      [REDIS_AUTH_FILE, "0600", "root", "root"],
    ]);
    expect(step.files[0].content).toContain("port 7000\n");
    expect(step.files[1].content).toContain("port 7001\n");
    expect(step.files[2].content).toBe(PASSWORD);
    expect(step.script).toMatch(/^PORTS='7000 7001'\nBIND_IP='10.0.1.21'\n/);
  });

  test("the password travels only in file contents, never in a script", () => {
    for (const step of [...renderRedisHostSteps(host), renderRedisClusterStep({ hostIps: IPS })]) {
      expect(step.script).not.toContain(PASSWORD);
      expect(step.description).not.toContain(PASSWORD);
    }
  });

  test("a config change changes the rendered bytes (which re-runs the step), the same config does not", () => {
    expect(renderStepScript(renderRedisNodesStep(host))).toBe(renderStepScript(renderRedisNodesStep({ ...host })));
    expect(renderStepScript(renderRedisNodesStep({ ...host, maxmemoryMb: 768 }))).not.toBe(renderStepScript(renderRedisNodesStep(host)));
  });

  test("every rendered program is valid bash", () => {
    for (const step of [...renderRedisHostSteps(host), renderRedisClusterStep({ hostIps: IPS })]) {
      const r = spawnSync("bash", ["-n"], { input: renderStepScript(step), encoding: "utf8" });
      expect({ step: step.name, stderr: r.stderr, status: r.status }).toEqual({ step: step.name, stderr: "", status: 0 });
    }
  });

  test("the OS tuning never writes kernel settings on a test host (marker file) and persists them otherwise", () => {
    const script = renderRedisHostSteps(host)[1].script;
    const guard = script.indexOf("if [ -e /run/opsfleet-test-host ]");
    expect(guard).toBeGreaterThanOrEqual(0);
    expect(script.indexOf("sysctl -q -p")).toBeGreaterThan(script.indexOf("else", guard));
    expect(script).toContain("vm.overcommit_memory = 1");
    expect(script).toContain("/etc/sysctl.d/60-opsfleet-redis.conf");
  });

  test("rejects bad ports before rendering anything", () => {
    expect(() => renderRedisNodesStep({ ...host, ports: [7000, 7000] })).toThrow(/redis ports: got \[7000, 7000\]; allowed: distinct ports/);
    expect(() => renderRedisNodesStep({ ...host, privateIp: "not-an-ip" })).toThrow(/redis bindIp: got "not-an-ip"/);
  });
});

describe("redis install step (run against stub commands)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "redis-install-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const stub = (name: string, body: string) => {
    writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(dir, name), 0o755);
  };
  const runInstall = () =>
    spawnSync("/bin/bash", ["-c", renderRedisInstallStep().script], {
      encoding: "utf8",
      env: { PATH: `${dir}:/usr/bin:/bin`, LOG: path.join(dir, "apt.log") },
    });

  test("does not touch apt when redis-server and redis-cli are present (test hosts have no internet)", () => {
    stub("redis-server", 'echo "Redis server v=7.0.15 sha=0"');
    stub("redis-cli", "true");
    stub("apt-get", 'echo "apt-get $*" >> "$LOG"');
    const r = runInstall();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("redis packages present (v=7.0.15)");
    expect(() => readFileSync(path.join(dir, "apt.log"), "utf8")).toThrow();
  });

  test("installs redis-server and redis-tools when missing", () => {
    // a PATH with apt-get and the shell tools the script needs, but no redis binaries
    for (const tool of ["awk", "sleep", "cat"]) stub(tool, `exec /usr/bin/${tool} "$@"`);
    stub("apt-get", 'echo "apt-get $*" >> "$LOG"');
    const r = spawnSync("/bin/bash", ["-c", renderRedisInstallStep().script], {
      encoding: "utf8",
      env: { PATH: dir, LOG: path.join(dir, "apt.log") },
    });
    expect(r.status).toBe(0);
    expect(readFileSync(path.join(dir, "apt.log"), "utf8").trim().split("\n")).toEqual([
      "apt-get update -q",
      "apt-get install -y -q redis-server redis-tools",
    ]);
  });
});

describe("redis cluster step", () => {
  test("lists every host's master port first, so redis-cli makes one master per host", () => {
    expect(redisClusterNodeOrder(IPS)).toEqual([
      "10.0.1.21:7000", "10.0.2.22:7000", "10.0.3.23:7000", "10.0.1.21:7001", "10.0.2.22:7001", "10.0.3.23:7001",
    ]);
    expect(renderRedisClusterStep({ hostIps: IPS }).script).toContain(
      "NODES='10.0.1.21:7000 10.0.2.22:7000 10.0.3.23:7000 10.0.1.21:7001 10.0.2.22:7001 10.0.3.23:7001'\nREPLICAS=1\n",
    );
  });

  test("rejects fewer than 3 hosts and duplicate IPs", () => {
    expect(() => renderRedisClusterStep({ hostIps: IPS.slice(0, 2) })).toThrow(/redis cluster hosts: got 2; allowed: at least 3/);
    expect(() => renderRedisClusterStep({ hostIps: [IPS[0], IPS[0], IPS[1]] })).toThrow(/duplicate IPs/);
  });
});

// `CLUSTER NODES` fixtures: id addr flags master ping pong epoch link slots
const node = (id: string, addr: string, flags: string, master = "-", slots = "") =>
  `${id} ${addr}@1${addr.split(":")[1]} ${flags} ${master} 0 0 1 connected ${slots}`.trim();
// Debian images run mawk as awk; this machine may default to gawk: check every one installed
const AWKS = ["mawk", "gawk", "original-awk"].filter((a) => spawnSync("sh", ["-c", `command -v ${a}`]).status === 0);

describe.each(AWKS)("placement analysis (%s run on CLUSTER NODES)", (awkBin) => {
  const awk = (program: string, view: string[], vars: string[] = []) => {
    const r = spawnSync(awkBin, [...vars.flatMap((v) => ["-v", v]), program], { input: view.join("\n") + "\n", encoding: "utf8" });
    expect(r.stderr).toBe("");
    return r.stdout.trim().split("\n").filter(Boolean).sort();
  };

  const healthy = [
    node("a0", "10.0.0.1:7000", "myself,master", "-", "0-5460"),
    node("b0", "10.0.0.2:7000", "master", "-", "5461-10922"),
    node("c0", "10.0.0.3:7000", "master", "-", "10923-16383"),
    node("a1", "10.0.0.1:7001", "slave", "c0"),
    node("b1", "10.0.0.2:7001", "slave", "a0"),
    node("c1", "10.0.0.3:7001", "slave", "b0"),
  ];

  test("a healthy 3x2 layout needs no fix", () => {
    expect(awk(PLACEMENT_AWK, healthy)).toEqual([]);
  });

  test("after a failover (two masters on one host) the returned node on the empty host takes over", () => {
    const afterFailover = [
      healthy[0], healthy[2], healthy[3], healthy[4],
      node("b0", "10.0.0.2:7000", "slave", "c1"), // came back as replica of its promoted replica
      node("c1", "10.0.0.3:7001", "master", "-", "5461-10922"),
    ];
    expect(awk(PLACEMENT_AWK, afterFailover)).toEqual(["1-failover 10.0.0.2:7000 10.0.0.3:7001"]);
  });

  test("a replica on its master's host is reported; failed nodes are ignored", () => {
    const sameHost = [healthy[0], healthy[1], healthy[2], node("a1", "10.0.0.1:7001", "slave", "a0"),
      node("b1", "10.0.0.2:7001", "slave", "c0"), node("c1", "10.0.0.3:7001", "slave", "b0"), node("zz", "10.0.0.9:7000", "master,fail", "-")];
    expect(awk(PLACEMENT_AWK, sameHost)).toEqual(["3-same-host 10.0.0.1:7001"]);
    // the same replica doubling up on a0 while c0 has none: moving it to c0 fixes both, so it comes first
    const both = [...healthy.slice(0, 3), node("a1", "10.0.0.1:7001", "slave", "a0"), healthy[4], healthy[5]];
    expect(awk(PLACEMENT_AWK, both)).toEqual(["2-orphan 10.0.0.1:7001 c0", "3-same-host 10.0.0.1:7001"]);
  });

  test("a master without replica gets a spare replica from another host", () => {
    const orphan = [healthy[0], healthy[1], healthy[2], node("a1", "10.0.0.1:7001", "slave", "b0"), healthy[4], healthy[5]];
    // b0 has replicas a1 and c1; c0 has none: a1 (not on c0's host) moves
    expect(awk(PLACEMENT_AWK, orphan)).toEqual(["2-orphan 10.0.0.1:7001 c0"]);
  });

  test("a new replica goes to a master on another host with the fewest replicas", () => {
    const missingReplica = healthy.filter((l) => !l.startsWith("c1 ")); // b0 lost its replica
    expect(awk(PICK_MASTER_AWK, missingReplica, ["ip=10.0.0.3"])).toEqual(["b0"]);
    expect(awk(PICK_MASTER_AWK, missingReplica, ["ip=10.0.0.2"])).toEqual(["a0"]); // never its own host's master
    // two empty nodes added in one run go to different masters, even before the view shows the first
    const hostLost = healthy.filter((l) => !/ 10\.0\.0\.3:|^a1 /.test(l)).concat(node("a1", "10.0.0.1:7001", "master", "-", "10923-16383"));
    const first = awk(PICK_MASTER_AWK, hostLost, ["ip=10.0.0.3", "taken="])[0];
    const second = awk(PICK_MASTER_AWK, hostLost, ["ip=10.0.0.3", `taken=${first}`])[0];
    expect(new Set([first, second]).size).toBe(2);
    expect(["b0", "a1"]).toEqual(expect.arrayContaining([first, second]));
  });

  test("a host removed while down left its slots on a staying host: that host's master with the fewest slots is surplus", () => {
    const keep = "keep= 10.0.0.1:7000 10.0.0.2:7000 10.0.0.3:7000 10.0.0.1:7001 10.0.0.2:7001 10.0.0.3:7001 ";
    // c1 took over the forgotten host's master (4096 slots); c0 holds 4097
    const wedged = [
      node("a0", "10.0.0.1:7000", "myself,master", "-", "0-4095"), node("b0", "10.0.0.2:7000", "master", "-", "4096-8191"),
      node("c0", "10.0.0.3:7000", "master", "-", "8192-12288"), node("c1", "10.0.0.3:7001", "master", "-", "12289-16383"),
      node("a1", "10.0.0.1:7001", "slave", "b0"), node("b1", "10.0.0.2:7001", "slave", "c0"),
    ];
    expect(awk(SURPLUS_AWK, wedged, [keep, "want=3"])).toEqual(["c1"]);
    expect(awk(SURPLUS_AWK, healthy, [keep, "want=3"])).toEqual([]);
    // two masters on one host, none on another, as many masters as hosts: a failover fixes that, nothing is surplus
    expect(awk(SURPLUS_AWK, wedged.filter((l) => !l.startsWith("a0 ")), [keep, "want=3"])).toEqual([]);
    // a surplus master is never picked as the master of a replica
    expect(awk(PICK_MASTER_AWK, wedged, ["ip=10.0.0.1", keep])).toEqual(["c1"]);
    expect(awk(PICK_MASTER_AWK, wedged, ["ip=10.0.0.1", keep, "skip= c1 "])).toEqual(["b0"]);
  });

  test("scale-in: a replica is never given to a master (or counted for one) on a host that leaves", () => {
    const sixHosts = [...healthy, node("d0", "10.0.0.4:7000", "master", "-"), node("d1", "10.0.0.4:7001", "slave", "a0")];
    const keep = "keep= 10.0.0.1:7000 10.0.0.2:7000 10.0.0.3:7000 10.0.0.1:7001 10.0.0.2:7001 10.0.0.3:7001 ";
    // without the keep list d0 (no replica) would win; with it a0 does (a tie with b0 at one replica,
    // lowest id first): the leaving d1 is not counted for a0, or b0 would have won
    expect(awk(PICK_MASTER_AWK, sixHosts, ["ip=10.0.0.3"])).toEqual(["d0"]);
    expect(awk(PICK_MASTER_AWK, sixHosts, ["ip=10.0.0.3", keep])).toEqual(["a0"]);
  });
});

describe("redis health gate: when silent peers may mean a first creation (issue 9)", () => {
  test("only the first host of the chain, and only while no other host's instance exists", () => {
    expect(redisCreatedFirst(0, [])).toBe(true);
    expect(redisCreatedFirst(0, ["i-1"])).toBe(false); // a later `up`: host 0 back empty while the others hang must fail
    expect(redisCreatedFirst(1, [])).toBe(false);
  });
  test("the rendered default can be overridden by a context line run before it, and is 0 unless asked", () => {
    const run = (prefix: string, createdFirst?: boolean) => {
      const line = renderRedisHealthStep({ hostIp: IPS[0], peerIps: IPS.slice(1), createdFirst }).script.split("\n").find((l) => l.startsWith("CREATED_FIRST="))!;
      return spawnSync("bash", ["-c", `set -u\n${prefix}\n${line}\necho $CREATED_FIRST`], { encoding: "utf8", env: {} }).stdout.trim();
    };
    expect(run("")).toBe("0");
    expect(run("", true)).toBe("1");
    expect(run("CREATED_FIRST=0", true)).toBe("0");
    expect(run("CREATED_FIRST=1")).toBe("1");
  });
});
