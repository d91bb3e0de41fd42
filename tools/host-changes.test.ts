/**
 * Issue 9 items 6, 7, 10 over the dev stack's whole plan: pinned host keys on both hops of every
 * remote command; a new SSH key or a new bastion (instance type, replacement) changes nothing on
 * the other hosts' instances and steps.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml, stringify } from "yaml";
import { buildPlan, type Plan, type PlanResource } from "./plan-core";
import { changePreview, changeSetOf } from "./change/preview";
import { renderChanges } from "./change/render";

const ROOT = path.join(__dirname, "..");
const DEV = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
const NEW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINg3IRpb9Cw0haB/D/svsUE3vFM01T2ZZralpw7gIE7y rotated";

/** The dev stack file with config edits. */
function variant(edit: (config: Record<string, any>) => void): string {
  const doc = parseYaml(DEV) as { config: Record<string, any> };
  edit(doc.config);
  return stringify(doc);
}

/** Strips the plan's secret wrappers. */
function plain(v: unknown): any {
  if (v && typeof v === "object" && "$secret" in (v as object)) return plain((v as { $secret: unknown }).$secret);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

const byType = (p: Plan, t: string) => p.resources.filter((r) => r.type === t);
const inputsOf = (p: Plan, t: string, except: (r: PlanResource) => boolean = () => false) =>
  new Map(byType(p, t).filter((r) => !except(r)).map((r) => [r.name, JSON.stringify(plain(r.inputs))]));

let base: Plan;
beforeAll(async () => {
  base = await buildPlan({ stack: "dev", root: ROOT, stackFileText: DEV });
}, 180_000);

test("every remote command pins its host's generated key, and the bastion's on the proxy hop; the cloud-config installs that key", () => {
  const hostKeys = new Map(byType(base, "tls:index/privateKey:PrivateKey").filter((k) => k.name.endsWith("-ssh-host")).map((k) => [k.parent, k]));
  const publicKeyOf = (parent: string | null) => {
    const key = hostKeys.get(parent);
    if (!key) throw new Error(`no host key under ${parent}`);
    return String(plain(key.outputs).publicKeyOpenssh).trim();
  };
  const bastion = base.resources.find((r) => r.type === "opsfleet:index:Host" && r.name.endsWith("-bastion"))!;
  const commands = byType(base, "command:remote:Command");
  expect(commands.length).toBeGreaterThan(30);
  for (const c of commands) {
    const conn = plain(c.inputs.connection);
    expect([c.name, conn.hostKey]).toEqual([c.name, publicKeyOf(c.parent)]);
    if (c.parent === bastion.urn) expect(conn.proxy).toBeUndefined();
    else expect([c.name, conn.proxy?.hostKey, conn.proxy?.dialErrorLimit, conn.proxy?.perDialTimeout]).toEqual([c.name, publicKeyOf(bastion.urn), conn.dialErrorLimit, 10]);
  }
  for (const inst of byType(base, "aws:ec2/instance:Instance").filter((i) => hostKeys.has(i.parent))) {
    const userData = inst.inputs.userData as { $secret: string };
    expect(Object.keys(userData)).toEqual(["$secret"]); // it holds the private host key
    const cc = parseYaml(userData.$secret);
    expect(cc.ssh_keys.ed25519_public).toBe(publicKeyOf(inst.parent));
    expect(cc.ssh_keys.ed25519_private).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(cc.ssh_genkeytypes).toEqual([]);
  }
});

test("the proxy hop is the bastion's Elastic IP", () => {
  const eip = byType(base, "aws:ec2/eip:Eip").find((e) => e.name.endsWith("-bastion"))!;
  const address = plain(eip.outputs).publicIp;
  for (const c of byType(base, "command:remote:Command").filter((c) => !c.name.includes("-bastion-"))) {
    expect([c.name, plain(c.inputs.connection).proxy.host]).toEqual([c.name, address]);
  }
});

test("a bastion instance-type change changes no other host's instance or step", async () => {
  const after = await buildPlan({ stack: "dev", root: ROOT, stackFileText: variant((c) => { c["opsfleet:bastion"] = { instanceType: "t3.small" }; }) });
  const notBastion = (r: PlanResource) => r.name.includes("-bastion");
  expect(inputsOf(after, "command:remote:Command", notBastion)).toEqual(inputsOf(base, "command:remote:Command", notBastion));
  expect(inputsOf(after, "aws:ec2/instance:Instance", notBastion)).toEqual(inputsOf(base, "aws:ec2/instance:Instance", notBastion));
  // the bastion itself: only its instance type (a stop/start; its address and host key stay)
  const b = (p: Plan) => plain(byType(p, "aws:ec2/instance:Instance").find(notBastion)!.inputs);
  expect({ ...b(after), instanceType: "t3.micro" }).toEqual(b(base));
}, 180_000);

test("a new ssh.publicKey replaces no instance: the key pair keeps its name, only the authorized-keys steps change", async () => {
  const after = await buildPlan({ stack: "dev", root: ROOT, stackFileText: variant((c) => { c["opsfleet:ssh"] = { ...c["opsfleet:ssh"], publicKey: NEW_KEY }; }) });
  expect(inputsOf(after, "aws:ec2/instance:Instance")).toEqual(inputsOf(base, "aws:ec2/instance:Instance"));
  const kp = (p: Plan) => byType(p, "aws:ec2/keyPair:KeyPair")[0];
  expect(kp(after).inputs.keyName).toBe(kp(base).inputs.keyName);
  expect(kp(after).options.deleteBeforeReplace).toBe(true);
  const before = inputsOf(base, "command:remote:Command");
  const changed = [...inputsOf(after, "command:remote:Command")].filter(([n, v]) => before.get(n) !== v).map(([n]) => n);
  expect(changed.length).toBeGreaterThan(0);
  expect(changed.every((n) => n.endsWith("-ssh-authorized-keys"))).toBe(true);
}, 180_000);

/**
 * Pulumi's engine (calculateDependentReplacements): when a resource is replaced delete-before-replace,
 * it first replaces every resource with a PROPERTY dependency on it whose input so named would force a
 * replacement once unknown. A dependsOn is not part of that cascade.
 */
test("no delete-before-replace resource cascades: nothing takes its outputs into a replace-forcing input", () => {
  const forcing = JSON.parse(fs.readFileSync(path.join(ROOT, "tools/change/replace-forcing.json"), "utf8")) as Record<string, { replaceOn: string[] }>;
  const forces = (type: string, key: string) => (forcing[type]?.replaceOn ?? []).some((p) => p === key || p.startsWith(`${key}.`));
  const dbr = new Map(base.resources.filter((r) => r.options.deleteBeforeReplace).map((r) => [r.urn, r]));
  expect([...dbr.values()].some((r) => r.type === "aws:ec2/keyPair:KeyPair")).toBe(true);
  const cascades: string[] = [];
  for (const r of base.resources) {
    expect(r.propertyDependencies).toBeDefined();
    for (const [key, urns] of Object.entries(r.propertyDependencies ?? {})) {
      for (const u of urns) {
        const d = dbr.get(u);
        if (!d || !forces(r.type, key)) continue;
        // By design: a replaced instance replaces its own host's attachments and steps (all
        // delete-before-replace; their instanceId / triggers change with it anyway); volumes stay.
        if (d.type === "aws:ec2/instance:Instance" && r.parent === d.parent && ((r.type === "aws:ec2/volumeAttachment:VolumeAttachment" && key === "instanceId") || (r.type === "command:remote:Command" && key === "triggers"))) continue;
        cascades.push(`${d.name} (${d.type}) -> ${r.name}.${key}`);
      }
    }
  }
  expect(cascades).toEqual([]);
  // ...yet every instance still launches after the key pair exists (a dependsOn)
  const kp = byType(base, "aws:ec2/keyPair:KeyPair")[0];
  for (const i of byType(base, "aws:ec2/instance:Instance")) expect([i.name, i.options.dependsOn.includes(kp.urn)]).toEqual([i.name, true]);
});

/**
 * The same rule, applied by the change preview: a 0.1.0 stack's data volumes took their availability zone
 * from their instance, so replacing the (delete-before-replace) instance replaces the volume first, even
 * though the zone stays the same (CHANGELOG "Changed": upgrading 0.1.0 in place loses host volumes).
 */
test("against a 0.1.0-shaped state, a replaced host's data volume is a dependent replacement (Pulumi's delete-before-replace cascade)", async () => {
  const instanceOf = (parent: string | null) => base.resources.find((r) => r.type === "aws:ec2/instance:Instance" && r.parent === parent)!;
  const volumes = byType(base, "aws:ebs/volume:Volume");
  expect(volumes.length).toBeGreaterThan(0);
  const old: Plan = { ...base, resources: base.resources.map((r) => (r.type === "aws:ebs/volume:Volume" ? { ...r, propertyDependencies: { ...r.propertyDependencies, availabilityZone: [instanceOf(r.parent).urn] } } : r)) };
  const pinned = variant((c) => { c["opsfleet:amiIds"] = { x86_64: "ami-0d2e6b0c3f8a45e71", arm64: "ami-0b8f4c0d2e6a35f92" }; });
  const cp = await changePreview(old, { stack: "dev", root: ROOT, stackFileText: pinned }, "0.1.0-shaped dev");
  const change = (name: string) => cp.changes.find((c) => c.name === name && c.type === "aws:ebs/volume:Volume")!;
  for (const v of volumes) {
    const host = instanceOf(v.parent);
    expect(cp.changes.find((c) => c.urn === host.urn)?.op).toBe("replace");
    expect([v.name, change(v.name).op, change(v.name).replaceReasons]).toEqual([v.name, "replace", [`availabilityZone (dependent replacement: references ${host.name}, replaced delete-before-replace)`]]);
    // its attachment follows the replaced volume
    const att = cp.changes.find((c) => c.type === "aws:ec2/volumeAttachment:VolumeAttachment" && c.name === v.name)!;
    expect(att.op).toBe("replace");
  }
  expect(renderChanges(changeSetOf(cp), { stack: "dev", against: "x" })).toMatch(/aws:ebs\/volume:Volume\s+\S+\s+because availabilityZone \(dependent replacement: .*\(deleted before \S+, created after\)/);
}, 180_000);
