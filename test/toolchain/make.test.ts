/**
 * The container targets as `make` expands them (`make -n`: no Docker needed): interactive from a
 * terminal, a non-interactive form, node_modules in a volume, files written as the calling user.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

/** The `docker run` line of `make -n <args>`; with `tty`, make runs under a pseudo-terminal (`script`). */
function makeDockerRun(args: string[], tty: boolean, env: Record<string, string>): Promise<string> {
  const make = ["make", "--no-print-directory", "-n", ...args];
  const [cmd, argv] = tty ? ["script", ["-qec", make.join(" "), "/dev/null"]] : [make[0], make.slice(1)];
  return new Promise((resolve, reject) => {
    execFile(cmd as string, argv as string[], { cwd: ROOT, env: { ...process.env, HOME: "/home/someone", PULUMI_CONFIG_PASSPHRASE_FILE: "", ...env } }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      const line = stdout.split(/\r?\n/).find((l) => l.startsWith("docker run"));
      if (!line) return reject(new Error(`no docker run line in:\n${stdout}`));
      resolve(line);
    });
  });
}

// Each distinct invocation once, in parallel (make evaluates the Makefile's node calls every time).
const runs = new Map<string, Promise<string>>();
function dockerRun(args: string[], tty = false, env: Record<string, string> = {}): Promise<string> {
  const key = JSON.stringify([args, tty, env]);
  if (!runs.has(key)) runs.set(key, makeDockerRun(args, tty, env));
  return runs.get(key)!;
}
beforeAll(async () => {
  const all = [
    ...["up", "destroy", "preview"].flatMap((t) => [dockerRun([t, "STACK=qa"]), dockerRun([t, "STACK=qa"], true)]),
    dockerRun(["up", "STACK=dev", "YES=1"]), dockerRun(["destroy", "STACK=dev", "YES=1"]),
    dockerRun(["destroy", "STACK=prod", "ARGS=--exclude-protected"]), dockerRun(["test"]), dockerRun(["up"], false, { PULUMI_CONFIG_PASSPHRASE_FILE: "/secure/pass" }),
  ];
  await Promise.allSettled(all);
}, 120_000);

const uid = process.getuid!();
const gid = process.getgid!();

describe.each(["up", "destroy", "preview"])("make %s", (target) => {
  test("without a terminal: stdin attached (-i), no -t, and Pulumi asks before changing anything", async () => {
    const line = await dockerRun([target, "STACK=qa"]);
    expect(line).toMatch(/^docker run --rm -i (?!-t)/);
    expect(line).not.toMatch(/ -t /);
    expect(line).toContain(`pulumi ${target} --stack qa`);
    expect(line).not.toMatch(/--yes|--non-interactive/);
  });

  test("from a terminal: -i -t, so the confirmation prompt can be answered", async () => {
    const line = await dockerRun([target, "STACK=qa"], true);
    expect(line).toMatch(/^docker run --rm -i -t /);
  });

  test("runs as the calling user with a writable HOME, node_modules in a Docker volume, AWS config in that HOME", async () => {
    const line = await dockerRun([target, "STACK=qa"]);
    expect(line).toContain(`--user "${uid}:${gid}"`);
    expect(line).toContain("-e HOME=/home/opsfleet");
    expect(line).toContain('-v "/home/someone/.aws":/home/opsfleet/.aws:ro');
    expect(line).toContain(`-v "${ROOT}":/workspace -w /workspace -v opsfleet-node-modules:/workspace/node_modules`);
    // the image creates both, writable for any uid (a new named volume copies the directory's mode)
    expect(fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8")).toMatch(/mkdir -p -m 1777 \/home\/opsfleet \/workspace\/node_modules/);
  });
});

test.each(["up", "destroy"])("make %s YES=1: the documented non-interactive form", async (target) => {
  const line = await dockerRun([target, "STACK=dev", "YES=1"]);
  expect(line).toMatch(new RegExp(`"npm ci && pulumi ${target} --stack dev --yes --non-interactive\\s*"$`));
});

test("ARGS reach pulumi (e.g. a teardown that keeps protected volumes)", async () => {
  const line = await dockerRun(["destroy", "STACK=prod", "ARGS=--exclude-protected"]);
  expect(line).toMatch(/pulumi destroy --stack prod\s+--exclude-protected"$/);
});

test("make test keeps node_modules out of the checkout too", async () => {
  const line = await dockerRun(["test"]);
  expect(line).toContain("-v opsfleet-node-modules:/workspace/node_modules");
  expect(line).toMatch(/^docker run --rm -i /);
});

test("a passphrase file is mounted into the container, not passed as a host path", async () => {
  const line = await dockerRun(["up"], false, { PULUMI_CONFIG_PASSPHRASE_FILE: "/secure/pass" });
  expect(line).toContain('-v "/secure/pass":/run/pulumi-passphrase:ro -e PULUMI_CONFIG_PASSPHRASE_FILE=/run/pulumi-passphrase');
});
