/**
 * Change-safety table, dev rows (tools/change/safety-rows.ts): each row plans the shipped dev stack,
 * then the changed one against it, and asserts what `pulumi up` would do.
 */
import { describeSafetyRows, noInstanceReplaced, notReplaced, opsOf, webTemplateVersioned } from "../../test/harness/change-safety";

const FLEET = "aws:ec2/spotFleetRequest:SpotFleetRequest";
const ASG = "aws:autoscaling/group:Group";
const LAMBDA = "aws:lambda/function:Function";
const TG = "aws:lb/targetGroup:TargetGroup";

describeSafetyRows("dev", {
  "debian-image": (c) => {
    noInstanceReplaced(c);
    const lt = c.change("dev-web-lt");
    expect(lt.op).toBe("update");
    expect(lt.changedInputs).toContain("imageId");
    expect(c.resource(c.after, "dev-web-lt").outputs?.latestVersion).toBe(Number(c.resource(c.before, "dev-web-lt").outputs?.latestVersion) + 1);
    expect(c.ofType(FLEET).length).toBe(1);
    notReplaced(c, FLEET);
    notReplaced(c, ASG);
  },
  "health-path": (c) => {
    expect(c.change("dev-web-lt").op).toBe("update");
    expect(c.change("dev-web-lt").changedInputs).toContain("userData");
    // The target group ignores healthCheck.path: its deployed value ("/health") stays in its state, so the
    // instances go on serving it next to the new one (Pulumi hands dependents the deployed value).
    expect(c.change("dev-web-tg")).toMatchObject({ op: "same" });
    const ud = Buffer.from(String(c.resource(c.after, "dev-web-lt").inputs.userData), "base64").toString();
    expect(ud).toMatch(/^printf 'ok\\n' > \/var\/www\/html\/health$/m);
    expect(ud).toMatch(/^printf 'ok\\n' > \/var\/www\/html\/healthz$/m);
    notReplaced(c, FLEET);
    notReplaced(c, ASG);
    noInstanceReplaced(c);
  },
  "tag-added": (c) => {
    expect(c.after.changeSummary).toMatchObject({ replace: 0, delete: 0 });
    expect(c.change("dev", "aws:ec2/vpc:Vpc")).toMatchObject({ op: "update", changedInputs: ["tags.team"] });
    // The web tier rolls: a new template version, which the on-demand ASG (instance refresh) and the reconciler follow.
    webTemplateVersioned(c, "dev-web-lt");
    expect(c.change("dev-web-ondemand", ASG).changedInputs).toEqual(expect.arrayContaining([expect.stringMatching(/launchTemplateSpecification\.version$/)]));
    expect(c.ofType(LAMBDA).find((x) => x.name === "dev-web-reconciler")?.changedInputs.join()).toMatch(/environment\.variables\.\w*TEMPLATE_VERSION/);
  },
  "target-capacity": (c) => {
    expect(c.after.changeSummary).toMatchObject({ replace: 0, delete: 0, create: 0 });
    expect(c.ofType(LAMBDA).find((x) => x.name === "dev-web-reconciler")?.changedInputs).toContain("environment.variables.TARGET_CAPACITY");
  },
  "spot-source": (c) => {
    expect(opsOf(c, FLEET)).toEqual({ "dev-web-fleet": "delete" });
    expect(opsOf(c, ASG)["dev-web-spot"]).toBe("create");
    // Pulumi deletes what left the program after every create and update: the ASG exists before the fleet goes.
    const asg = c.resource(c.after, "dev-web-spot", ASG);
    expect(asg.options.dependsOn.some((d) => d.includes("spotFleetRequest"))).toBe(false);
    const reconciler = c.ofType(LAMBDA).find((x) => x.name === "dev-web-reconciler")!;
    expect(reconciler.op).toBe("update");
    expect(reconciler.changedInputs).toEqual(expect.arrayContaining(["environment.variables.SPOT_SOURCE"]));
    expect(JSON.stringify(c.resource(c.after, "dev-web-reconciler", LAMBDA).inputs)).toContain("dev-web-spot");
    noInstanceReplaced(c);
  },
}, [
  {
    // The target group's port forces a new one: a new ARN, so everything that names it by ARN changes.
    title: "the target group was created with port 8080 (the program says 80): it is replaced, and what names it by ARN follows",
    deployed: (p) => {
      const tg = p.resources.find((r) => r.type === TG)!;
      tg.inputs = { ...tg.inputs, port: 8080 };
      return p;
    },
    check: (c) => {
      expect(c.change("dev-web-tg", TG)).toMatchObject({ op: "replace", replaceReasons: ["port"] });
      expect(c.resource(c.after, "dev-web-tg", TG).outputs?.arn).not.toBe(c.resource(c.before, "dev-web-tg", TG).outputs?.arn);
      // the fleet's targetGroupArns force a new fleet; the rest updates in place with the new ARN
      expect(c.change("dev-web-fleet", FLEET)).toMatchObject({ op: "replace", replaceReasons: ["targetGroupArns"] });
      const follows = Object.fromEntries(["dev-web-http", "dev-web-ondemand", "dev-web-reconciler", "dev-web-reconciler-policy", "dev-web-unhealthy-hosts", "dev-monitoring-dashboard"].map((n) => [n, c.change(n).op]));
      expect(follows).toEqual({ "dev-web-http": "update", "dev-web-ondemand": "update", "dev-web-reconciler": "update", "dev-web-reconciler-policy": "update", "dev-web-unhealthy-hosts": "update", "dev-monitoring-dashboard": "update" });
      noInstanceReplaced(c);
    },
  },
]);
