/**
 * Change-safety table, dev rows (tools/change/safety-rows.ts): each row plans the shipped dev stack,
 * then the changed one against it, and asserts what `pulumi up` would do.
 */
import { describeSafetyRows, noInstanceReplaced, notReplaced, opsOf } from "../../test/harness/change-safety";

const FLEET = "aws:ec2/spotFleetRequest:SpotFleetRequest";
const ASG = "aws:autoscaling/group:Group";
const LAMBDA = "aws:lambda/function:Function";

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
    notReplaced(c, FLEET);
    notReplaced(c, ASG);
    noInstanceReplaced(c);
  },
  "tag-added": (c) => {
    expect(c.after.changeSummary).toMatchObject({ replace: 0, delete: 0 });
    expect(c.change("dev", "aws:ec2/vpc:Vpc")).toMatchObject({ op: "update", changedInputs: ["tags.team"] });
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
});
