import { checkHostTestEnvironment, describeOnHosts } from "./guard";
import { run, startLab, type Lab } from "./lab";

// The lab itself: isolation, key-only ssh with pinned host keys, private paths, clean teardown.
describeOnHosts("test hosts (lab)", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ name: "labt", hosts: [{ name: "a", ip: "10.78.9.11" }, { name: "b", ip: "10.78.9.12" }] });
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
  }, 60_000);

  test("each host has its own hostname, IP and PID namespace, and reaches the other", async () => {
    const a = await lab.ssh("a", "hostname; ip -4 -o addr show eth0 | awk '{print $4}'; ps -e --no-headers | wc -l");
    expect(a.code).toBe(0);
    const [hostname, cidr, procs] = a.stdout.trim().split("\n");
    expect(hostname).toBe("a");
    expect(cidr).toBe("10.78.9.11/24");
    expect(Number(procs)).toBeLessThan(15); // only this host's processes are visible
    const ping = await lab.ssh("a", "bash -c 'exec 3<>/dev/tcp/10.78.9.12/22 && head -c 4 <&3'");
    expect(ping.stdout).toBe("SSH-");
  });

  test("paths are private per host and /run starts empty apart from the test-host marker", async () => {
    await lab.ssh("a", "echo from-a > /etc/redis/probe && echo a > /var/lib/mysql/probe");
    const b = await lab.ssh("b", "ls /etc/redis/probe /var/lib/mysql/probe 2>&1; ls /run/redis* 2>&1; cat /run/opsfleet-test-host");
    expect(b.stdout).toContain("No such file");
    expect(b.stdout).not.toContain("from-a");
    expect(b.stdout.trim().split("\n").pop()).toBe("labt");
    const real = await lab.exec("a", ["cat", "/etc/redis/probe"]);
    expect(real.stdout).toBe("from-a\n");
  });

  test("password login is refused and host keys are pinned", async () => {
    // a client without the key: the server offers nothing but publickey
    const pw = await run("ssh", ["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
      "-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no", "-o", "ConnectTimeout=5", "root@10.78.9.11", "true"]);
    expect(pw.code).toBe(255);
    expect(pw.stderr).toMatch(/Permission denied \(publickey\)/);
    // the lab's client config pins host keys: a changed key must be refused
    const kh = await run("ssh", ["-F", lab.sshConfig, "-o", "UserKnownHostsFile=/dev/null", "root@10.78.9.11", "true"]);
    expect(kh.code).toBe(255);
    expect(kh.stderr).toMatch(/Host key verification failed/);
  });

  test("runStep pipes the rendered step to bash over ssh and reports failures with output", async () => {
    const ok = await lab.runStep("b", {
      name: "probe", description: "write a file",
      files: [{ path: "/etc/redis/step-probe.conf", content: "x 1\n", mode: "0640", owner: "redis" }],
      script: 'echo "changed:$OPSFLEET_CHANGED"; stat -c "%U %a" /etc/redis/step-probe.conf',
    });
    expect(ok.stdout).toContain("changed: /etc/redis/step-probe.conf");
    expect(ok.stdout).toContain("redis 640");
    await expect(lab.runStep("b", { name: "boom", description: "fails", files: [], script: "echo nope >&2; exit 3" }))
      .rejects.toThrow(/step boom on b failed \(exit 3\)[\s\S]*nope/);
  });

  test("a lab in use by a live process is not torn down by another run", async () => {
    const other = await run("bash", [`${__dirname}/lab.sh`, "up", "labt", "a:10.78.9.11"], undefined, { env: { LAB_OWNER_PID: String(process.ppid) } });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/lab 'labt' is in use by process \d+/);
    expect((await lab.ssh("a", "hostname")).stdout).toBe("a\n");
  });

  test("a subnet another lab (or interface) already uses is refused with a clear message", async () => {
    const clash = await run("bash", [`${__dirname}/lab.sh`, "up", "labu", "x:10.78.9.20"]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain("subnet 10.78.9.0/24 already in use here: olab-labt 10.78.9.1/24");
    expect((await run("ip", ["netns", "list"])).stdout).not.toMatch(/olab-labu-/);
    expect((await run("ls", ["/run/opsfleet-lab"])).stdout.split("\n")).not.toContain("labu.lock");
  });

  test("stop removes processes, netns, links and state", async () => {
    const pids = (await run("cat", ["/run/opsfleet-lab/labt/hosts/a/init.pid"])).stdout.trim();
    await lab.stop();
    expect((await run("ip", ["netns", "list"])).stdout).not.toMatch(/olab-labt-/);
    expect((await run("ip", ["-o", "link", "show"])).stdout).not.toMatch(/olab-labt|ollabt-/);
    expect((await run("test", ["-e", "/run/opsfleet-lab/labt"])).code).toBe(1);
    expect((await run("kill", ["-0", pids])).code).not.toBe(0);
  });
});

test("a missing prerequisite is reported by name, so the host suite fails saying what to install", () => {
  const env = checkHostTestEnvironment(["opsfleet-no-such-program"]);
  expect(env.ok).toBe(false);
  expect(env.reason).toMatch(process.getuid?.() === 0 ? /missing programs: opsfleet-no-such-program/ : /needs root/);
});

test("npm run test:unit leaves out exactly the host tests", () => {
  const scripts = require("../../package.json").scripts as Record<string, string>;
  const args = scripts["test:unit"].split("--testPathIgnorePatterns")[1] ?? "";
  const ignored = [...args.matchAll(/'([^']+)'/g)].map((m) => new RegExp(m[1]));
  const isIgnored = (f: string) => ignored.some((r) => r.test(f));
  expect(isIgnored("/repo/test/hosts/redis.test.ts")).toBe(true);
  expect(isIgnored("/repo/provision/backup/database.hosts.test.ts")).toBe(true);
  expect(isIgnored("/repo/provision/redis/cluster-script.test.ts")).toBe(false);
  expect(isIgnored("/repo/components/host.test.ts")).toBe(false);
});
