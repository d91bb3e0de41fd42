/**
 * Host replacement and host keys, for real on lab "hostrep" (10.78.13.0/24):
 * - the cloud-config's `ssh_keys` entry is a host key sshd serves, and a client pinned to the
 *   program's public key connects with StrictHostKeyChecking (and refuses any other key);
 * - the two-phase SSH key rotation with the authorized-keys step (no instance replaced);
 * - the Redis health gate that orders host replacements: passes before the cluster is first formed
 *   (on the other hosts' word), blocks while a node is down, passes once it is back (and one master
 *   per host is restored); a host that comes back empty is added back before it passes (host 0 too,
 *   whose gate fails closed on a later `up` while the other hosts hang); a new host
 *   passes only while the cluster it is not in yet is whole.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { describeOnHosts } from "./guard";
import { run, startLab, type Lab, type LabHost } from "./lab";
import { renderHostKeyCloudConfig } from "../../provision/common/cloud-init";
import { redisCreatedFirst, renderRedisHealthStep, renderRedisNodesStep } from "../../provision/redis/steps";
import { renderAuthorizedKeysStep } from "../../provision/common/ssh-keys";
import { renderStepScript } from "../../provision/common/step-script";
import { Cluster } from "ioredis";
import { clusterInfo, clusterNodes, clusterProblem, provisionRedisHosts, redisPid, runClusterStep, allNodeAddrs, waitFor } from "./redis-lab";

// rep4 stands for a host a scale-out adds (the cluster is formed on the first three)
const HOSTS = [1, 2, 3, 4].map((i) => ({ name: `rep${i}`, ip: `10.78.13.1${i}` }));
const CLUSTER_HOSTS = HOSTS.slice(0, 3);
const PASSWORD = `hostrep-${Date.now()}-secret`;

describeOnHosts("host replacement gates and pinned host keys on test hosts", () => {
  let lab: Lab;
  let tmp: string;
  let cluster: LabHost[];

  beforeAll(async () => {
    lab = await startLab({ name: "hostrep", hosts: HOSTS });
    cluster = CLUSTER_HOSTS.map((h) => lab.host(h.name));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-hostrep-"));
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  test("sshd serves the host key the cloud-config installs; the pinned key is accepted, any other refused", async () => {
    // an ed25519 key in the OpenSSH format @pulumi/tls emits (privateKeyOpenssh / publicKeyOpenssh)
    const keyFile = path.join(tmp, "host");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", keyFile]);
    const pair = { privateKeyOpenssh: fs.readFileSync(keyFile, "utf8"), publicKeyOpenssh: fs.readFileSync(`${keyFile}.pub`, "utf8") };
    const cc = parseYaml(renderHostKeyCloudConfig(pair));
    // what cloud-init's ssh module writes to /etc/ssh/cloud_config_ed25519_key{,.pub}: the values as they
    // are (here beside it: the lab's sshd re-reads its own key on every connection)
    const write = (p: string, content: string, mode: string) =>
      lab.ssh("rep1", `umask 077; cat > ${p} && chmod ${mode} ${p}`, content);
    expect((await write("/etc/ssh/cloud_config_ed25519_key", cc.ssh_keys.ed25519_private, "600")).code).toBe(0);
    expect((await write("/etc/ssh/cloud_config_ed25519_key.pub", cc.ssh_keys.ed25519_public + "\n", "644")).code).toBe(0);
    // a second sshd on :2222 with only that key (the lab's own sshd keeps serving the lab)
    const started = await lab.ssh("rep1", "/usr/sbin/sshd -t -h /etc/ssh/cloud_config_ed25519_key && /usr/sbin/sshd -p 2222 -h /etc/ssh/cloud_config_ed25519_key -o PidFile=/run/sshd-2222.pid");
    expect(started).toMatchObject({ code: 0 });

    const connect = async (pinned: string) => {
      const known = path.join(tmp, `known-${Math.random().toString(36).slice(2)}`);
      fs.writeFileSync(known, `[${HOSTS[0].ip}]:2222 ${pinned.trim()}\n`);
      return run("ssh", ["-F", lab.sshConfig, "-p", "2222", "-o", `UserKnownHostsFile=${known}`, "-o", "StrictHostKeyChecking=yes", `root@${HOSTS[0].ip}`, "echo pinned-ok"], undefined, { timeoutMs: 20_000 });
    };
    const ok = await connect(cc.ssh_keys.ed25519_public);
    expect(ok.stderr).toBe("");
    expect(ok).toMatchObject({ code: 0, stdout: "pinned-ok\n" });

    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", `${keyFile}-other`]);
    const other = await connect(fs.readFileSync(`${keyFile}-other.pub`, "utf8"));
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    await lab.ssh("rep1", "kill $(cat /run/sshd-2222.pid)");
  }, 60_000);

  // as the component renders it: the first three hosts are asked; the first host of the chain is
  // "created first" only while no other host's instance exists (the first `up`, before host 1 launched)
  const gate = (i: number, peerInstances: string[] = HOSTS.filter((_, j) => j !== i).map((h) => h.name)) => renderRedisHealthStep({
    hostIp: HOSTS[i].ip, peerIps: CLUSTER_HOSTS.filter((_, j) => j !== i).map((h) => h.ip), createdFirst: redisCreatedFirst(i, peerInstances), peerWaitSeconds: 5,
  });
  const result = (stdout: string) => /opsfleet-redis-cluster: (\S+)\s*$/.exec(stdout)?.[1];
  const addrs = () => allNodeAddrs(lab, cluster);
  /** Host `i` loses its volume: its old instance stops (its masters fail over), the new one comes up with empty nodes. */
  const loseVolume = async (i: number, via: number) => {
    const h = HOSTS[i];
    for (const port of [7000, 7001]) {
      expect((await lab.ssh(h.name, `start-stop-daemon --stop --quiet --retry TERM/30/KILL/5 --pidfile /run/redis-${port}/redis-server.pid --exec /usr/bin/redis-server`)).code).toBe(0);
    }
    await waitFor(`${h.name}'s master to fail over`, 30_000, async () => {
      const live = (await clusterNodes(addrs()[via], PASSWORD)).filter((n) => n.flags.includes("master") && !n.flags.some((f) => f.startsWith("fail")));
      return live.length === 3 && live.every((n) => n.ip !== h.ip) && (await clusterInfo(addrs()[via], PASSWORD)).cluster_state === "ok";
    });
    expect((await lab.ssh(h.name, "rm -rf /var/lib/redis/7000 /var/lib/redis/7001")).code).toBe(0);
    await lab.runStep(h.name, renderRedisNodesStep({ privateIp: h.ip, password: PASSWORD, maxmemoryMb: 64 }));
  };

  test("Redis health gate: passes before the cluster is formed; blocks while a node is down; passes once it is back", async () => {
    const hostIps = CLUSTER_HOSTS.map((h) => h.ip);

    // first creation: nodes up, no cluster yet (the hosts after this one do not even exist on EC2)
    await provisionRedisHosts(lab, { password: PASSWORD, maxmemoryMb: 64 }, [cluster[0]]);
    let t0 = Date.now();
    const first = await lab.runStep("rep1", gate(0, []), { timeoutMs: 60_000 });
    expect(result(first.stdout)).toBe("not-formed");
    expect(first.stdout).toContain("no other host's node answers and this is the first host of the creation chain");
    console.log(`health gate, cluster not formed, two hosts absent: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // the second host: the first one's nodes say there is no cluster yet
    await provisionRedisHosts(lab, { password: PASSWORD, maxmemoryMb: 64 }, [cluster[1]]);
    const second = await lab.runStep("rep2", gate(1), { timeoutMs: 60_000 });
    expect(result(second.stdout)).toBe("not-formed");
    expect(second.stdout).toContain(`the other hosts' nodes that answer (${HOSTS[0].ip}:7000 ${HOSTS[0].ip}:7001) are in no cluster either`);
    await provisionRedisHosts(lab, { password: PASSWORD, maxmemoryMb: 64 }, [cluster[2]]);
    expect((await runClusterStep(lab, 60_000, cluster)).action).toBe("created");
    expect(result((await lab.runStep("rep2", gate(1))).stdout)).toBe("unchanged");

    // rep3's master goes down (as when its instance is stopped for replacement)
    const victim = `${HOSTS[2].ip}:7000`;
    expect((await lab.exec("rep3", ["kill", "-9", String(await redisPid(lab, "rep3", 7000))])).code).toBe(0);
    t0 = Date.now();
    let settled = false;
    const gated = lab.runStep("rep1", gate(0), { timeoutMs: 240_000 }).finally(() => { settled = true; });
    await new Promise((r) => setTimeout(r, 12_000));
    expect(settled).toBe(false); // the next host would not be touched now

    // back (the replacement's provisioning starts it again): the gate passes, one master per host again
    await lab.runStep("rep3", renderRedisNodesStep({ privateIp: HOSTS[2].ip, password: PASSWORD, maxmemoryMb: 64 }));
    const out = await gated;
    console.log(`health gate: blocked while ${victim} was down, passed ${((Date.now() - t0) / 1000).toFixed(1)} s after the kill`);
    expect(out.stdout).toContain(`waiting for ${victim} to answer PING`);
    expect(result(out.stdout)).toBe("placement-fixed");
    expect(await clusterProblem(addrs(), PASSWORD)).toBeNull();
    const masters = (await clusterNodes(addrs()[0], PASSWORD)).filter((n) => n.flags.includes("master"));
    expect(masters.map((m) => m.ip).sort()).toEqual(hostIps);
  }, 300_000);

  test("Redis health gate: a host that came back empty (lost volume) is added back before it passes, never taken for a first creation", async () => {
    const c = new Cluster([{ host: HOSTS[0].ip, port: 7000 }], { redisOptions: { password: PASSWORD, connectTimeout: 2000 }, slotsRefreshTimeout: 2000 });
    c.on("error", () => undefined);
    try {
      const keys = Array.from({ length: 100 }, (_, i) => `gate:${i}`);
      await Promise.all(keys.map((k) => c.set(k, `v-${k}`)));
      for (const m of c.nodes("master")) expect(Number(await m.call("WAIT", "1", "5000"))).toBeGreaterThanOrEqual(1);
      const oldIds = (await clusterNodes(addrs()[0], PASSWORD)).filter((n) => n.ip === HOSTS[2].ip).map((n) => n.id);
      // the old instance stops; its replica elsewhere takes over; the new instance's volume is empty
      await loseVolume(2, 0);

      const t0 = Date.now();
      const out = await lab.runStep("rep3", gate(2), { timeoutMs: 240_000 });
      console.log(`health gate, host back with an empty volume: added back and healthy in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect(out.stdout).toContain(`this host's nodes came back empty and the cluster (${HOSTS[0].ip}:7000) misses them`);
      expect(out.stdout).toMatch(new RegExp(`adding ${HOSTS[2].ip}:7000 as a replica[\\s\\S]*adding ${HOSTS[2].ip}:7001 as a replica`));
      expect(result(out.stdout)).toBe("joined");
      expect(await clusterProblem(addrs(), PASSWORD)).toBeNull();
      const nodes = await clusterNodes(addrs()[0], PASSWORD);
      for (const old of oldIds) expect(nodes.map((n) => n.id)).not.toContain(old);
      expect(nodes.filter((n) => n.flags.includes("master")).map((m) => m.ip).sort()).toEqual(CLUSTER_HOSTS.map((h) => h.ip));
      expect(await Promise.all(keys.map((k) => c.get(k)))).toEqual(keys.map((k) => `v-${k}`));
    } finally {
      c.disconnect();
    }
  }, 300_000);

  test("Redis health gate: host 0 back empty while the other hosts hang (a later `up`): fails closed, passes once they answer and its nodes are back", async () => {
    const c = new Cluster([{ host: HOSTS[1].ip, port: 7000 }], { redisOptions: { password: PASSWORD, connectTimeout: 2000 }, slotsRefreshTimeout: 2000 });
    c.on("error", () => undefined);
    try {
      const keys = Array.from({ length: 100 }, (_, i) => `gate0:${i}`);
      await Promise.all(keys.map((k) => c.set(k, `v-${k}`)));
      for (const m of c.nodes("master")) expect(Number(await m.call("WAIT", "1", "5000"))).toBeGreaterThanOrEqual(1);
      // host 0's old instance stops (its master fails over), the new one comes up with an empty volume
      await loseVolume(0, 1);
      // the other hosts exist and hold the data, but hang (SIGSTOP): their nodes answer nothing
      const pids: [string, number][] = [];
      for (const h of ["rep2", "rep3"]) for (const p of [7000, 7001]) pids.push([h, await redisPid(lab, h, p)]);
      let out;
      try {
        for (const [h, pid] of pids) expect((await lab.exec(h, ["kill", "-STOP", String(pid)])).code).toBe(0);
        out = await lab.runStep("rep1", gate(0), { timeoutMs: 120_000, allowFailure: true });
      } finally {
        for (const [h, pid] of pids) await lab.exec(h, ["kill", "-CONT", String(pid)]);
      }
      expect(out.code).not.toBe(0);
      expect(out.stdout).not.toContain("opsfleet-redis-cluster:");
      expect(out.stderr).toContain("no other host's node answered within 5 s");
      // once they answer, the same gate adds host 0's nodes back and passes on a healthy cluster
      const again = await lab.runStep("rep1", gate(0), { timeoutMs: 240_000 });
      expect(again.stdout).toContain(`this host's nodes came back empty and the cluster`);
      expect(result(again.stdout)).toBe("joined");
      expect(await clusterProblem(addrs(), PASSWORD)).toBeNull();
      expect(await Promise.all(keys.map((k) => c.get(k)))).toEqual(keys.map((k) => `v-${k}`));
    } finally {
      c.disconnect();
    }
  }, 300_000);

  test("Redis health gate: a new host (not in the cluster yet) passes only while the cluster is whole", async () => {
    await provisionRedisHosts(lab, { password: PASSWORD, maxmemoryMb: 64 }, [lab.host("rep4")]);
    const ok = await lab.runStep("rep4", gate(3), { timeoutMs: 60_000 });
    expect(ok.stdout).toContain(`does not know ${HOSTS[3].ip}: a new host, the cluster step adds its nodes`);
    expect(result(ok.stdout)).toBe("new-host");
    // a node of the cluster down: not whole, so the new host's gate waits (the next host is not created)
    expect((await lab.exec("rep2", ["kill", "-9", String(await redisPid(lab, "rep2", 7001))])).code).toBe(0);
    await waitFor("rep2:7001 to be flagged fail", 30_000, async () =>
      (await clusterNodes(addrs()[0], PASSWORD)).some((n) => n.addr === `${HOSTS[1].ip}:7001` && n.flags.includes("fail")));
    let settled = false;
    const gated = lab.runStep("rep4", gate(3), { timeoutMs: 200_000 }).finally(() => { settled = true; });
    await new Promise((r) => setTimeout(r, 8_000));
    expect(settled).toBe(false);
    await lab.runStep("rep2", renderRedisNodesStep({ privateIp: HOSTS[1].ip, password: PASSWORD, maxmemoryMb: 64 }));
    const out = await gated;
    expect(out.stdout).toContain("waiting for the cluster (10.78.13.11:7000) to be whole");
    expect(result(out.stdout)).toBe("new-host");
    expect(await clusterProblem(addrs(), PASSWORD)).toBeNull();
  }, 300_000);

  test("SSH key rotation in two phases: add the new key, then log in with it and drop the old one", async () => {
    const state = path.dirname(lab.sshConfig);
    const oldPub = fs.readFileSync(path.join(state, "id_ed25519.pub"), "utf8").trim();
    const next = path.join(tmp, "next");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "next", "-f", next]);
    const newPub = fs.readFileSync(`${next}.pub`, "utf8").trim();
    // only the given key, the host key checked against the lab's pinned known_hosts
    const sshWith = (key: string, command: string, stdin?: string) => run("ssh", [
      "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
      "-o", `UserKnownHostsFile=${path.join(state, "known_hosts")}`, `root@${HOSTS[1].ip}`, command,
    ], stdin, { timeoutMs: 20_000 });
    const oldKey = path.join(state, "id_ed25519");
    expect((await sshWith(next, "true")).code).not.toBe(0);

    // phase 1 (ssh.additionalPublicKeys = [new]), run with the old key as the program would
    const p1 = await lab.runStep("rep2", renderAuthorizedKeysStep("root", [oldPub, newPub]));
    expect(p1.stdout).toContain("authorized_keys updated (2 key(s))");
    expect((await sshWith(oldKey, "echo old")).stdout).toBe("old\n");
    expect((await sshWith(next, "echo new")).stdout).toBe("new\n");

    // phase 2 (publicKey = new, sshPrivateKey = new, additional = []): the program logs in with the new key
    const p2 = await sshWith(next, "bash -s", renderStepScript(renderAuthorizedKeysStep("root", [newPub])));
    expect(p2).toMatchObject({ code: 0 });
    expect(p2.stdout).toContain("authorized_keys updated (1 key(s))");
    expect((await sshWith(oldKey, "true")).code).not.toBe(0);
    expect((await sshWith(next, "echo still")).stdout).toBe("still\n");
    // the same keys again change nothing
    expect((await sshWith(next, "bash -s", renderStepScript(renderAuthorizedKeysStep("root", [newPub])))).stdout).toContain("authorized_keys unchanged");
  }, 60_000);
}, { requires: ["redis-server", "redis-cli"] });
