/**
 * Issue 9 item 5: a launch-template change (user data, AMI, health path) never replaces the Spot
 * Fleet or either ASG. The mocks model what AWS does on a template change — a new template version
 * (`latestVersion` + 1 whenever the template's inputs change) — and each resource's inputs before and
 * after are compared against the provider's replace-forcing properties.
 */
import * as pulumi from "@pulumi/pulumi";
import { computedOutputs, liveHealthCheckPaths, mockId, mockInvoke } from "../../test/harness/mock-data";
import { settle, unsecret, valueOf } from "../../test/harness/pulumi-mocks";
import { SpotFailover, SpotFailoverArgs } from "./index";

/**
 * Replace-forcing input properties (terraform-provider-aws v6.58.0, via ../shared/reference/provider-replacement,
 * copied here: nothing may read ../shared at test time). SpotFleetRequest: every launchTemplateConfigs
 * edit (a set: an edited element is a removed plus an added one) incl. the version; ASG: only these.
 */
const REPLACE_ON: Record<string, string[]> = {
  "aws:ec2/spotFleetRequest:SpotFleetRequest": [
    "allocationStrategy", "context", "fleetType", "iamFleetRole", "instanceInterruptionBehaviour", "instancePoolsToUseCount", "launchSpecifications",
    "launchTemplateConfigs", "loadBalancers", "onDemandAllocationStrategy", "onDemandMaxTotalPrice", "replaceUnhealthyInstances", "spotMaintenanceStrategies",
    "spotPrice", "targetCapacityUnitType", "targetGroupArns", "terminateInstancesWithExpiration", "validFrom", "validUntil",
  ],
  "aws:autoscaling/group:Group": ["initialLifecycleHooks", "name", "namePrefix"],
  "aws:ec2/launchTemplate:LaunchTemplate": ["name", "namePrefix"],
};

type Reg = { type: string; name: string; inputs: any };
let regs: Reg[] = [];
const versions = new Map<string, number>();

beforeAll(async () => {
  await pulumi.runtime.setMocks({
    newResource(a) {
      regs.push({ type: a.type, name: a.name, inputs: a.inputs });
      const state = { ...a.inputs, ...computedOutputs(a) };
      if (a.type === "aws:ec2/launchTemplate:LaunchTemplate") {
        // AWS adds a version for every change of the template's content.
        const key = JSON.stringify(unsecret(a.inputs));
        if (!versions.has(key)) versions.set(key, versions.size + 1);
        state.latestVersion = versions.get(key);
        state.defaultVersion = versions.get(key);
      }
      return { id: mockId(a), state };
    },
    call: (a) => mockInvoke(a.token, a.inputs),
  }, "opsfleet", "test", false);
  pulumi.runtime.setAllConfig({ "aws:region": "us-east-1" });
});

const STUB_CODE = new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset("exports.handler = async () => ({});") });
const base: SpotFailoverArgs = {
  vpcId: "vpc-0123456789abcdef0", publicSubnetIds: ["subnet-pub-a", "subnet-pub-b"], instanceSubnetIds: ["subnet-prv-a", "subnet-prv-b"],
  targetCapacity: 3, instanceTypes: ["t3.micro", "t3a.micro"], amiId: "ami-0aaaaaaaaaaaaaaaa", code: STUB_CODE,
};

/** Builds the same component (same name: same URNs) with `args`; returns its registrations by name. */
async function deploy(args: SpotFailoverArgs): Promise<Map<string, Reg>> {
  regs = [];
  const c = new SpotFailover("web", args);
  await settle(c);
  await valueOf(pulumi.all([c.url, c.reconcilerFunctionName, c.spotSourceId, c.onDemandAsgName]));
  await settle(c);
  return new Map(regs.map((r) => [`${r.type}::${r.name}`, { ...r, inputs: unsecret(r.inputs) }]));
}

/** Top-level input keys whose values differ. */
const changedKeys = (a: any, b: any) => [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));

const CHANGES: [string, Partial<SpotFailoverArgs>][] = [
  ["a new AMI", { amiId: "ami-0bbbbbbbbbbbbbbbb" }],
  ["a health-path (and so user-data) change", { healthCheckPath: "/healthz" }],
  ["a bigger root volume", { rootVolumeSizeGb: 16 }],
];

describe.each(["fleet", "asg"] as const)("spot source %s", (spotSource) => {
  let before: Map<string, Reg>;
  beforeAll(async () => { before = await deploy({ ...base, spotSource }); }, 60_000);
  test.each(CHANGES)("%s adds a template version and replaces neither the Spot source nor an ASG", async (_what, change) => {
    const after = await deploy({ ...base, spotSource, ...change });
    const lt = "aws:ec2/launchTemplate:LaunchTemplate::web-lt";
    expect(changedKeys(before.get(lt)!.inputs, after.get(lt)!.inputs).length).toBeGreaterThan(0); // the template did change
    const replaced: string[] = [];
    for (const [key, b] of before) {
      const forcing = REPLACE_ON[b.type];
      const a = after.get(key);
      if (!forcing || !a) continue;
      for (const k of changedKeys(b.inputs, a.inputs)) if (forcing.includes(k)) replaced.push(`${b.name}.${k}`);
    }
    expect(replaced).toEqual([]);
    // ...while each ASG's launch template version moves, which starts its instance refresh.
    const groups = [...after.values()].filter((r) => r.type === "aws:autoscaling/group:Group");
    expect(groups.map((g) => g.name).sort()).toEqual(spotSource === "asg" ? ["web-ondemand", "web-spot"] : ["web-ondemand"]);
    for (const g of groups) {
      const version = (r: Reg) => r.inputs.mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.version;
      expect(Number(version(g))).toBeGreaterThan(Number(version(before.get(`${g.type}::${g.name}`)!)));
      expect(g.inputs.instanceRefresh).toEqual({ strategy: "Rolling", preferences: expect.objectContaining({ minHealthyPercentage: 100, maxHealthyPercentage: 200, skipMatching: true }) });
    }
  }, 60_000);
});

test("the fleet names the template's default version, and the template moves its default to each new version", async () => {
  const r = await deploy(base);
  const fleet = r.get("aws:ec2/spotFleetRequest:SpotFleetRequest::web-fleet")!.inputs;
  expect(fleet.launchTemplateConfigs[0].launchTemplateSpecification).toEqual({ id: "web-lt-id", version: "$Default" });
  expect(r.get("aws:ec2/launchTemplate:LaunchTemplate::web-lt")!.inputs.updateDefaultVersion).toBe(true);
  // A lowered target never makes the fleet kill an instance of its choosing: the reconciler retires the surplus gracefully.
  expect(fleet.excessCapacityTerminationPolicy).toBe("NoTermination");
});

/** Paths the user data's nginx answers (each health page it writes). */
const servedBy = (lt: Reg) => [...Buffer.from(lt.inputs.userData, "base64").toString().matchAll(/^printf 'ok\\n' > \/var\/www\/html(\S+)$/gm)].map((m) => m[1]).sort();
/** What the reconciler does at run time once every instance serves the configured path (ModifyTargetGroup). */
const reconcilerSwitches = (path: string) => {
  const tg = [...liveHealthCheckPaths.keys()].filter((k) => k.includes(":targetgroup/web-tg/"));
  expect(tg).toHaveLength(1);
  liveHealthCheckPaths.set(tg[0], path);
};

describe.each(["fleet", "asg"] as const)("health-path changes in a row (spot source %s): every new instance answers the path the target group checks", (spotSource) => {
  const lt = "aws:ec2/launchTemplate:LaunchTemplate::web-lt";
  beforeEach(() => liveHealthCheckPaths.clear());
  test("/health → /healthz (switched by the reconciler) → /ready", async () => {
    let r = await deploy({ ...base, spotSource });
    expect(servedBy(r.get(lt)!)).toEqual(["/health"]);
    r = await deploy({ ...base, spotSource, healthCheckPath: "/healthz" });
    expect(servedBy(r.get(lt)!)).toEqual(["/health", "/healthz"]); // the target group still checks /health
    reconcilerSwitches("/healthz"); // the roll finished
    r = await deploy({ ...base, spotSource, healthCheckPath: "/ready" });
    // Not /health (the path Pulumi's state remembers): the target group checks /healthz now.
    expect(servedBy(r.get(lt)!)).toEqual(["/healthz", "/ready"]);
    reconcilerSwitches("/ready");
    r = await deploy({ ...base, spotSource, healthCheckPath: "/ready" });
    expect(servedBy(r.get(lt)!)).toEqual(["/ready"]);
  }, 120_000);
  test("a second change before the first roll finished: the new template still serves the path checked now", async () => {
    await deploy({ ...base, spotSource });
    await deploy({ ...base, spotSource, healthCheckPath: "/healthz" }); // roll in progress, target group on /health
    const r = await deploy({ ...base, spotSource, healthCheckPath: "/ready" });
    expect(servedBy(r.get(lt)!)).toEqual(["/health", "/ready"]);
    // ...and the reconciler is told the new path, to switch to once every instance runs this template
    expect(r.get("aws:lambda/function:Function::web-reconciler")!.inputs.environment.variables).toMatchObject({ HEALTH_CHECK_PATH: "/ready" });
  }, 120_000);
});
