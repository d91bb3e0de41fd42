/**
 * Change-safety table, prod rows (tools/change/safety-rows.ts): each row plans the shipped prod stack,
 * then the changed one against it, and asserts what `pulumi up` would do.
 */
import { commandsCarrying, describeSafetyRows, webTemplateVersioned, noInstanceReplaced, notReplaced, oneHostPerClusterAtATime, opsOf, type RowContext } from "../../test/harness/change-safety";

const INSTANCE = "aws:ec2/instance:Instance";
const ASG = "aws:autoscaling/group:Group";

/** `derived`: steps that carry a secret derived from this one (the Logstash user's password from the elastic one). */
function rotation(key: string, derived: string[] = []) {
  return (c: RowContext) => {
    noInstanceReplaced(c);
    const carrying = commandsCarrying(c, key);
    expect(carrying.length).toBeGreaterThan(0);
    expect(c.rerunsOnKeptHosts()).toEqual([...new Set([...carrying, ...derived])].sort());
    expect(c.after.changes.filter((x) => x.op !== "same" && x.type !== "command:remote:Command").map((x) => `${x.name}: ${x.op}`)).toEqual([]);
  };
}

describeSafetyRows("prod", {
  "ami-pin-bump": (c) => {
    const instances = opsOf(c, INSTANCE);
    expect(Object.values(instances).every((op) => op === "replace")).toBe(true);
    expect(c.ofType(INSTANCE).every((x) => x.replaceReasons.includes("ami"))).toBe(true);
    oneHostPerClusterAtATime(c);
    expect(c.ofType("aws:ebs/volume:Volume").every((v) => v.op === "same")).toBe(true);
    notReplaced(c, ASG);
    expect(c.change("prod-web-lt").op).toBe("update");
    // the bastion goes in the same up as the data hosts' steps that connect through it: said up front
    expect(c.after.changeNotes).toEqual(expect.arrayContaining([expect.stringMatching(/^bastion prod-bastion is replaced in the same up as steps on \d+ other host\(s\).*roll the bastion on its own first/)]));
  },
  "ssh-key": (c) => noInstanceReplaced(c),
  "redis-password": rotation("redisPassword"),
  "elastic-password": rotation("elasticPassword", ["prod-logstash/logstash-config"]),
  "db-password": rotation("dbAppPassword"),
  "tag-added-prod": (c) => {
    expect(c.after.changeSummary).toMatchObject({ replace: 0, delete: 0 });
    expect(c.change("prod", "aws:ec2/vpc:Vpc")).toMatchObject({ op: "update", changedInputs: ["tags.team"] });
    // Every web ASG names the new template version: its instance refresh replaces the web instances.
    webTemplateVersioned(c, "prod-web-lt");
    const asgs = c.ofType(ASG);
    expect(asgs.length).toBeGreaterThanOrEqual(2);
    for (const g of asgs) expect({ g: g.name, paths: g.changedInputs }).toEqual({ g: g.name, paths: expect.arrayContaining([expect.stringMatching(/launchTemplateSpecification\.version$/)]) });
    for (const g of asgs) expect(c.resource(c.after, g.name, ASG).inputs.instanceRefresh).toMatchObject({ strategy: "Rolling" });
  },
  "redis-scale-out": (c) => {
    expect(c.after.changeSummary.delete).toBe(0);
    // a re-run may be a replaced command (new triggers); nothing else is replaced
    expect(c.after.changes.filter((x) => x.op === "replace" && x.type !== "command:remote:Command").map((x) => x.name)).toEqual([]);
    expect(opsOf(c, INSTANCE)["prod-redis-3"]).toBe("create");
    expect(c.ofType(INSTANCE).filter((x) => x.op === "create").map((x) => x.name)).toEqual(["prod-redis-3"]);
    expect(c.rerunsOnKeptHosts()).toEqual(["prod-redis-0/redis-cluster"]);
  },
  "es-data-scale-out": (c) => {
    expect(c.after.changeSummary.delete).toBe(0);
    expect(c.after.changes.filter((x) => x.op === "replace" && x.type !== "command:remote:Command").map((x) => x.name)).toEqual([]);
    expect(c.ofType(INSTANCE).filter((x) => x.op === "create").map((x) => x.name)).toEqual(["prod-es-data-3"]);
    // Masters untouched: nothing of a master host changes except cluster-wide steps, which run from the
    // first master only (waits for all nodes, users, data-node settings; no restart) and must see the new node.
    const masters = c.after.hosts.filter((h) => h.host.startsWith("prod-es-master"));
    const nodeLevel = masters[0].steps.map((s) => s.name).filter((n) => masters.every((m) => m.steps.some((s) => s.name === n)));
    expect(nodeLevel).toEqual(expect.arrayContaining(["elasticsearch-install", "elasticsearch-config"]));
    const masterChanges = c.after.changes.filter((x) => x.name.startsWith("prod-es-master") && x.op !== "same").map((x) => x.name);
    const clusterWide = (name: string) => masters.some((m) => m.steps.some((s) => s.resource === name && !nodeLevel.includes(s.name)));
    expect(masterChanges.filter((n) => !clusterWide(n))).toEqual([]);
    // Logstash's output lists the data nodes: its config step re-runs and restarts Logstash (Kibana is off in prod)
    expect(c.rerunsOnKeptHosts().filter((r) => !r.startsWith("prod-es-"))).toEqual(["prod-logstash/logstash-config"]);
  },
  "bastion-type": (c) => {
    expect(c.change("prod-bastion", INSTANCE)).toMatchObject({ op: "update", changedInputs: ["instanceType"] });
    expect(c.after.stepRuns.filter((h) => h.host !== "prod-bastion").map((h) => `${h.host}: ${h.steps.map((s) => `${s.step} (${s.why})`).join(", ")}`)).toEqual([]);
  },
});
