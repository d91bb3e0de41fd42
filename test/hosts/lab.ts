/**
 * Local test hosts for host tests: Linux namespaces with their own IP, sshd on :22 and private
 * /root, /etc/ssh, /etc/redis, /etc/mysql, /etc/hosts, /var/lib/redis, /var/lib/mysql, /var/log,
 * /run and /tmp (see lab.sh). Provisioning steps run over real ssh, exactly as on EC2.
 */
import { spawn, execFileSync } from "node:child_process";
import * as path from "node:path";
import { renderStepScript } from "../../provision/common/step-script";
import type { RenderedStep } from "../../provision/common/types";

export interface LabHost {
  name: string;
  ip: string;
}

export interface LabOptions {
  /** Lab name, `[a-z][a-z0-9]{0,7}`; distinct per concurrently running lab (e.g. "redis", "db"). */
  name: string;
  /** Hosts; all IPs in one private /24 whose `.1` is free (this machine gets it on the bridge). */
  hosts: LabHost[];
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the command after this many ms. @default 120000 */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

export interface StepOptions extends RunOptions {
  /** Resolve with a non-zero result instead of rejecting. @default false */
  allowFailure?: boolean;
}

export type HostRef = string | LabHost;

export interface Lab {
  name: string;
  hosts: LabHost[];
  /** IP of this machine (the "operator") on the lab bridge: `<subnet>.1`. */
  gatewayIp: string;
  /** ssh client config with the operator key and the pinned known_hosts. */
  sshConfig: string;
  /** Look up a host by name (or pass through a LabHost). Throws for an unknown name. */
  host(ref: HostRef): LabHost;
  /** `ssh root@<ip> <command>` with `stdin` piped in. Never rejects for a non-zero exit. */
  ssh(host: HostRef, command: string, stdin?: string, opts?: RunOptions): Promise<RunResult>;
  /** Run argv inside the host's namespaces without ssh (nsenter), e.g. to kill or inspect. */
  exec(host: HostRef, argv: string[], stdin?: string, opts?: RunOptions): Promise<RunResult>;
  /** Pipe `renderStepScript(step)` to `bash -s` over ssh; rejects (with output) on failure. */
  runStep(host: HostRef, step: RenderedStep, opts?: StepOptions): Promise<RunResult>;
  /** Tear everything down (processes by PID, netns, veths, bridge, state). Idempotent. */
  stop(): Promise<void>;
}

const LAB_SCRIPT = path.join(__dirname, "lab.sh");
const STATE_ROOT = "/run/opsfleet-lab";

/** Runs a program, collecting output; kills it (by its PID) after `timeoutMs`. */
export function run(file: string, args: string[], stdin?: string, opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], env: opts.env ? { ...process.env, ...opts.env } : process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (timedOut) {
        reject(new Error(`${file} ${args.slice(0, 3).join(" ")}: timed out after ${timeoutMs} ms\n${stderr}\n${stdout.slice(-2000)}`));
        return;
      }
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on("error", () => undefined); // the program may exit without reading stdin
    child.stdin.end(stdin ?? "");
  });
}

function validate(opts: LabOptions): void {
  if (!/^[a-z][a-z0-9]{0,7}$/.test(opts.name)) {
    throw new Error(`startLab: name ${JSON.stringify(opts.name)} invalid (allowed: [a-z][a-z0-9]{0,7})`);
  }
  if (opts.hosts.length === 0) throw new Error("startLab: hosts is empty (need at least one { name, ip })");
  const nets = new Set(opts.hosts.map((h) => h.ip.split(".").slice(0, 3).join(".")));
  if (nets.size !== 1) throw new Error(`startLab: host IPs must share one /24 (got ${opts.hosts.map((h) => h.ip).join(", ")})`);
  const names = new Set(opts.hosts.map((h) => h.name));
  if (names.size !== opts.hosts.length) throw new Error("startLab: host names must be unique");
}

/**
 * Creates the lab (removing a leftover lab of the same name first) and waits until sshd answers
 * on every host. Call `stop()` in afterAll; a process-exit hook also tears it down if a test run dies.
 */
export async function startLab(opts: LabOptions): Promise<Lab> {
  validate(opts);
  const spec = opts.hosts.map((h) => `${h.name}:${h.ip}`).join(" ");
  const up = await run("bash", [LAB_SCRIPT, "up", opts.name, spec], undefined, { timeoutMs: 90_000, env: { LAB_OWNER_PID: String(process.pid) } });
  if (up.code !== 0) throw new Error(`startLab(${opts.name}) failed (exit ${up.code}):\n${up.stderr}${up.stdout}`);

  const state = `${STATE_ROOT}/${opts.name}`;
  const sshConfig = `${state}/ssh/config`;
  const initPid = new Map<string, string>();
  for (const line of up.stdout.split("\n")) {
    const m = /^host (\S+) (\S+) pid1=(\d+)$/.exec(line);
    if (m) initPid.set(m[1], m[3]);
  }
  const byName = new Map(opts.hosts.map((h) => [h.name, h]));
  let stopped = false;
  // debugging aid: OPSFLEET_KEEP_LAB=1 leaves the lab running after the tests (lab.sh down NAME removes it)
  const keep = process.env.OPSFLEET_KEEP_LAB === "1";
  const downSync = () => {
    if (keep) return;
    if (!stopped) execFileSync("bash", [LAB_SCRIPT, "down", opts.name], { stdio: "ignore" });
  };
  process.once("exit", downSync);

  const lab: Lab = {
    name: opts.name,
    hosts: opts.hosts.map((h) => ({ ...h })),
    gatewayIp: `${opts.hosts[0].ip.split(".").slice(0, 3).join(".")}.1`,
    sshConfig,
    host(ref) {
      if (typeof ref !== "string") return ref;
      const h = byName.get(ref);
      if (!h) throw new Error(`lab ${opts.name}: no host ${JSON.stringify(ref)} (hosts: ${[...byName.keys()].join(", ")})`);
      return h;
    },
    ssh(host, command, stdin, runOpts) {
      return run("ssh", ["-F", sshConfig, `root@${lab.host(host).ip}`, command], stdin, runOpts);
    },
    exec(host, argv, stdin, runOpts) {
      const pid = initPid.get(lab.host(host).name);
      if (!pid) throw new Error(`lab ${opts.name}: host ${lab.host(host).name} has no PID 1 recorded`);
      return run("nsenter", ["-t", pid, "-m", "-u", "-i", "-n", "-p", "--", ...argv], stdin, runOpts);
    },
    async runStep(host, step, stepOpts = {}) {
      const res = await lab.ssh(host, "bash -s", renderStepScript(step), stepOpts);
      if (res.code !== 0 && !stepOpts.allowFailure) {
        throw new Error(`step ${step.name} on ${lab.host(host).name} failed (exit ${res.code}):\n${res.stderr}\n${res.stdout}`);
      }
      return res;
    },
    async stop() {
      if (stopped) return;
      if (keep) {
        console.warn(`OPSFLEET_KEEP_LAB=1: lab ${opts.name} left running; remove it with: bash ${LAB_SCRIPT} down ${opts.name}`);
        return;
      }
      const res = await run("bash", [LAB_SCRIPT, "down", opts.name], undefined, { timeoutMs: 60_000 });
      stopped = true;
      process.removeListener("exit", downSync);
      if (res.code !== 0) throw new Error(`lab ${opts.name}: teardown failed: ${res.stderr}`);
    },
  };
  return lab;
}
