/**
 * The deploy workflow opens the runner's address on the bastion only for the job: the revoke runs
 * always (failure, cancel), on the same group and address as the open, with the same narrow role.
 */
import * as fs from "node:fs";
import * as path from "node:path";
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
    expect(access.run).toContain("pulumi stack output bastionCiSecurityGroupId");
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
