import * as pulumi from "@pulumi/pulumi";
import { byName, expectUniqueNames, isSecretInput, OptionsRecorder, settle, unsecret, useMocks, valueOf } from "../test/harness/pulumi-mocks";
import { Host } from "./host";
import { renderStepScript } from "../provision/common/step-script";

const ssh = { user: "admin", privateKey: pulumi.secret("PRIVATE-KEY"), bastion: { host: "198.51.100.7", user: "admin" } };

describe("Host", () => {
  const rec = new OptionsRecorder();
  let host: Host;

  beforeAll(async () => {
    await useMocks();
    host = new Host(
      "cache-0",
      {
        subnetId: "subnet-a",
        instanceType: "t3.small",
        securityGroupIds: ["sg-1"],
        keyName: "ops",
        volumes: [{ name: "data", sizeGb: 20, mountPoint: "/var/lib/redis", owner: "redis" }],
        ssh,
        steps: [
          { name: "install", description: "install packages", files: [], script: "apt-get install -y redis-server" },
          {
            name: "config",
            description: "render config",
            files: [{ path: "/etc/redis/redis-7000.conf", content: pulumi.secret("requirepass hunter2\n"), mode: "0640", owner: "redis" }],
            script: "systemctl restart redis-server@7000",
          },
        ],
      },
      rec.opts,
    );
    await settle(host, ...host.steps);
  });

  test("instance requires IMDSv2 and has an encrypted gp3 root volume", () => {
    const inst = byName("cache-0", "aws:ec2/instance:Instance").inputs;
    expect(inst.metadataOptions).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 1 });
    expect(inst.rootBlockDevice).toMatchObject({ encrypted: true, volumeType: "gp3" });
    expect(inst.associatePublicIpAddress).toBe(false);
    expect(inst.ami).toBe("ami-0debian12amd64000");
  });

  test("data volume is encrypted gp3 in the instance's AZ and attached", () => {
    const vol = byName("cache-0-data", "aws:ebs/volume:Volume").inputs;
    expect(vol).toMatchObject({ encrypted: true, type: "gp3", size: 20, availabilityZone: "us-east-1a" });
    expect(byName("cache-0-data", "aws:ec2/volumeAttachment:VolumeAttachment").inputs).toMatchObject({ deviceName: "/dev/sdf" });
  });

  test("steps run in order: cloud-init, volumes, then the caller's steps", () => {
    const order = ["cache-0-cloud-init", "cache-0-volumes", "cache-0-install", "cache-0-config"];
    for (let i = 1; i < order.length; i++) {
      const deps = rec.optionsOf(order[i]).dependsOn as pulumi.Resource[];
      expect(deps).toContain(rec.resourceOf(order[i - 1]));
    }
    expect(rec.optionsOf("cache-0-cloud-init").dependsOn).toEqual([]);
  });

  test("every step is deletedWith the instance, hides stdout/stderr and reaches the host through the bastion", () => {
    for (const s of ["cloud-init", "volumes", "install", "config"]) {
      const o = rec.optionsOf(`cache-0-${s}`);
      expect(o.deletedWith).toBe(host.instance);
      expect((o as pulumi.CustomResourceOptions).additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
      const conn = unsecret(byName(`cache-0-${s}`, "command:remote:Command").inputs.connection);
      expect(conn.proxy).toMatchObject({ host: "198.51.100.7", user: "admin" });
      expect(conn.user).toBe("admin");
    }
  });

  test("secret file content travels only on stdin, stays secret, and silences logging", () => {
    const cfg = byName("cache-0-config", "command:remote:Command").inputs;
    expect(cfg.create).toBe("sudo bash -s");
    expect(isSecretInput(cfg.stdin)).toBe(true);
    expect(isSecretInput(cfg.triggers) || isSecretInput(cfg.triggers[0])).toBe(true);
    expect(cfg.logging).toBe("none");
    const stdin = unsecret(cfg.stdin) as string;
    expect(stdin).toBe(
      renderStepScript({
        name: "config",
        files: [{ path: "/etc/redis/redis-7000.conf", content: "requirepass hunter2\n", mode: "0640", owner: "redis" }],
        script: "systemctl restart redis-server@7000",
      }),
    );
    expect(stdin).not.toContain("hunter2"); // base64 on the wire, never a shell word
    const plain = byName("cache-0-install", "command:remote:Command").inputs;
    expect(plain.logging).toBe("stdoutAndStderr");
  });

  test("a changed rendered file changes the step's trigger", async () => {
    const other = new Host("cache-x", { subnetId: "s", instanceType: "t3.small", securityGroupIds: [], ssh, steps: [
      { name: "config", description: "", files: [{ path: "/etc/a", content: "A" }], script: "true" },
    ] });
    const other2 = new Host("cache-y", { subnetId: "s", instanceType: "t3.small", securityGroupIds: [], ssh, steps: [
      { name: "config", description: "", files: [{ path: "/etc/a", content: "B" }], script: "true" },
    ] });
    await settle(other, other2, ...other.steps, ...other2.steps);
    const t1 = unsecret(byName("cache-x-config", "command:remote:Command").inputs.triggers)[0];
    const t2 = unsecret(byName("cache-y-config", "command:remote:Command").inputs.triggers)[0];
    expect(t1).toMatch(/^[0-9a-f]{16}$/);
    expect(t1).not.toBe(t2);
  });

  test("manifest lists rendered files with mode/owner and ordered steps", async () => {
    const m = await valueOf(host.manifest());
    expect(m.steps.map((s) => s.name)).toEqual(["cloud-init", "volumes", "install", "config"]);
    expect(m.files).toEqual([
      { step: "config", path: "/etc/redis/redis-7000.conf", mode: "0640", owner: "redis", group: "redis", content: "requirepass hunter2\n" },
    ]);
    expect(m.steps[3].dependsOn).toEqual(["cache-0-install"]);
    expect(m.steps[1].script).toMatch(/\/dev\/disk\/by-id\/nvme-Amazon_Elastic_Block_Store_vol0[0-9a-f]{16} /);
  });

  test("rejects duplicate and malformed step names", () => {
    expect(() => host.addStep({ name: "config", description: "", files: [], script: "" })).toThrow(/duplicate step config/);
    expect(() => host.addStep({ name: "Bad Name", description: "", files: [], script: "" })).toThrow(/bad step name/);
  });

  test("resource names are unique", () => expectUniqueNames());
});
