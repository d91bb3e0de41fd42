/**
 * The deploy workflow opens the runner's address on the bastion only for the job: the revoke runs
 * always (failure, cancel), on the same group and address as the open, with the same narrow role.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { spawnSync } from "node:child_process";
import { parse } from "yaml";

interface Step { name?: string; id?: string; if?: string; uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, string> }
const wf = parse(fs.readFileSync(path.join(__dirname, "..", ".github", "workflows", "pulumi-up.yml"), "utf8")) as { jobs: { up: { steps: Step[]; "runs-on": string } } };
const steps = wf.jobs.up.steps;
const idx = (pred: (s: Step) => boolean) => steps.findIndex(pred);

describe("pulumi-up workflow: bastion access for GitHub-hosted runners", () => {
  const open = idx((s) => /authorize-security-group-ingress/.test(s.run ?? ""));
  const revoke = idx((s) => /revoke-security-group-ingress/.test(s.run ?? ""));
  const up = idx((s) => (s.uses ?? "").startsWith("pulumi/actions") && s.with?.command === "up");

  test("opens before the up, revokes after it, and the revoke runs always (failure and cancel too)", () => {
    expect(open).toBeGreaterThan(-1);
    expect(open).toBeLessThan(up);
    expect(revoke).toBeGreaterThan(up);
    expect(steps[revoke].if).toMatch(/^always\(\) && /);
    // the credentials for the revoke are (re-)assumed always as well
    const creds = steps[revoke - 1];
    expect(creds.uses).toMatch(/^aws-actions\/configure-aws-credentials/);
    expect(creds.if).toMatch(/^always\(\) && /);
    expect(creds.with?.["role-to-assume"]).toBe("${{ vars.AWS_BASTION_ACCESS_ROLE_ARN }}");
  });

  test("open and revoke use the same group and the same /32 address, on port 22 only", () => {
    expect(steps[open].env).toEqual(steps[revoke].env);
    expect(steps[open].env).toEqual({ GROUP: "${{ steps.access.outputs.group }}", CIDR: "${{ steps.access.outputs.cidr }}" });
    for (const s of [steps[open], steps[revoke]]) expect(s.run).toMatch(/--group-id "\$GROUP"[\s\S]*IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=\[\{CidrIp=\$CIDR/);
    const access = steps[idx((s) => s.id === "access")];
    expect(access.run).toContain('echo "cidr=$ip/32"');
    expect(access.run).toContain(".bastionCiSecurityGroupId // empty");
  });

  test("the open step uses the bastion access role, and the up runs with the deploy role", () => {
    expect(steps[open - 1].with?.["role-to-assume"]).toBe("${{ vars.AWS_BASTION_ACCESS_ROLE_ARN }}");
    expect(steps[up - 1].with?.["role-to-assume"]).toBe("${{ vars.AWS_DEPLOY_ROLE_ARN }}");
  });

  test("a self-hosted runner (vars.OPSFLEET_RUNNER) opens nothing", () => {
    expect(wf.jobs.up["runs-on"]).toBe("${{ vars.OPSFLEET_RUNNER || 'ubuntu-24.04' }}");
    expect(steps[idx((s) => s.id === "access")].if).toBe("env.HOSTED == 'true'");
  });
});

describe("pulumi-up workflow: sessions and the bastion look-up", () => {
  test("every deploy-role session lasts as long as the job may run (the 1 h default ends a long prod up)", () => {
    const timeoutS = (wf.jobs.up as unknown as { "timeout-minutes": number })["timeout-minutes"] * 60;
    const deploy = steps.filter((s) => s.with?.["role-to-assume"] === "${{ vars.AWS_DEPLOY_ROLE_ARN }}");
    expect(deploy.length).toBeGreaterThanOrEqual(2);
    for (const s of deploy) expect(Number(s.with?.["role-duration-seconds"])).toBeGreaterThanOrEqual(timeoutS);
    // and the README tells the operator to allow it on the role
    const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    expect(readme).toMatch(new RegExp(`MaxSessionDuration\` to at least ${timeoutS}`));
  });

  // the access step's script, run by bash -e (as GitHub runs it) with pulumi and curl replaced
  function runAccess(pulumi: string): { code: number | null; stderr: string; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wf-access-"));
    fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/bash\n[ "$1" = login ] && exit 0\n${pulumi}\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "curl"), "#!/bin/bash\necho 198.51.100.7\n", { mode: 0o755 });
    const out = path.join(dir, "out");
    fs.writeFileSync(out, "");
    const script = steps[idx((s) => s.id === "access")].run!.replace(/\$\{\{[^}]*\}\}/g, "");
    const r = spawnSync("bash", ["--norc", "--noprofile", "-e", "-c", script], { env: { PATH: `${dir}:${process.env.PATH}`, STACK: "dev", GITHUB_OUTPUT: out }, encoding: "utf8" });
    const output = fs.readFileSync(out, "utf8");
    fs.rmSync(dir, { recursive: true });
    return { code: r.status, stderr: r.stderr, output };
  }

  test("a stack without the output (no bastion yet) opens nothing; a failed pulumi command fails the job, printing why", () => {
    expect(runAccess(`echo '{"bastionCiSecurityGroupId":"sg-0123456789abcdef0"}'`)).toEqual({ code: 0, stderr: "", output: "group=sg-0123456789abcdef0\ncidr=198.51.100.7/32\n" });
    expect(runAccess("echo '{}'")).toEqual({ code: 0, stderr: "", output: "group=\ncidr=198.51.100.7/32\n" });
    const failed = runAccess(`echo "error: failed to decrypt: incorrect passphrase" >&2; exit 255`);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain("error: failed to decrypt: incorrect passphrase");
    expect(failed.stderr).toContain("pulumi stack output failed for stack dev");
    expect(failed.output).toBe("");
  });
});
