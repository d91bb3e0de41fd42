/**
 * The rule for host tests: they need root, Linux namespaces and a few Debian packages, and they
 * always run: a machine that cannot run them fails them with the reason (never a silent skip).
 * A developer without root runs the unit tests alone with `npm run test:unit`.
 */
import { spawnSync } from "node:child_process";

/** Programs every lab needs (iproute2, util-linux, openssh-server, openssh-client). */
const LAB_PROGRAMS = ["ip", "unshare", "nsenter", "ssh", "ssh-keygen", "/usr/sbin/sshd"];

export interface HostTestEnvironment {
  ok: boolean;
  /** Why host tests cannot run here (when `ok` is false). */
  reason?: string;
}

function hasProgram(p: string): boolean {
  if (p.startsWith("/")) return spawnSync("test", ["-x", p]).status === 0;
  return spawnSync("sh", ["-c", 'command -v "$1" >/dev/null', "sh", p]).status === 0;
}

/** Checks root, the programs (`requires` adds e.g. "redis-server", "mariadbd") and namespace creation. */
export function checkHostTestEnvironment(requires: string[] = []): HostTestEnvironment {
  if (process.platform !== "linux") return { ok: false, reason: `needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: "needs root (network and mount namespaces)" };
  const missing = [...LAB_PROGRAMS, ...requires].filter((p) => !hasProgram(p));
  if (missing.length > 0) return { ok: false, reason: `missing programs: ${missing.join(", ")}` };
  const probe = spawnSync("unshare", ["--net", "--mount", "--uts", "--ipc", "--pid", "--fork", "true"], { encoding: "utf8" });
  if (probe.status !== 0) return { ok: false, reason: `cannot create namespaces: ${(probe.stderr || String(probe.error)).trim()}` };
  return { ok: true };
}

/**
 * `describe` for host tests. Runs `fn` when the environment allows; when it does not, the suite
 * holds one failing test that names what is missing.
 */
export function describeOnHosts(title: string, fn: () => void, opts: { requires?: string[] } = {}): void {
  const env = checkHostTestEnvironment(opts.requires);
  if (env.ok) {
    describe(title, fn);
  } else {
    describe(title, () => {
      test("host test prerequisites are present (unit tests alone: npm run test:unit)", () => {
        throw new Error(`host tests cannot run: ${env.reason}`);
      });
    });
  }
}
