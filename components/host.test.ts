import * as pulumi from "@pulumi/pulumi";
import { getAllResources } from "@pulumi/pulumi/output";
import { parse as parseYaml } from "yaml";
import { byName, expectUniqueNames, isSecretInput, OptionsRecorder, settle, unsecret, useMocks, valueOf } from "../test/harness/pulumi-mocks";
import { Host } from "./host";
import { renderStepScript } from "../provision/common/step-script";

/** Whether an input (a plain value or an Output) was computed from `r`'s outputs. */
async function derivedFrom(input: unknown, r: pulumi.Resource): Promise<boolean> {
  return (await getAllResources(pulumi.output(input as pulumi.Input<unknown>))).has(r);
}

const ssh = { user: "admin", privateKey: pulumi.secret("PRIVATE-KEY"), bastion: { host: "198.51.100.7", user: "admin", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBastionHostKeyForTests0000000000000000000 bastion" } };

describe("Host", () => {
  const rec = new OptionsRecorder();
  let host: Host;
  let previous: Host;
  // the previous host's health step, created after this host: the instance waits for it
  let open!: (r: pulumi.Resource[]) => void;
  const gate = new Promise<pulumi.Resource[]>((res) => { open = res; });
  const optsOf = (name: string, type: string) => {
    const a = rec.seen.find((x) => x.name === name && x.type === type);
    if (!a) throw new Error(`no ${type} ${name} recorded`);
    return a.opts as pulumi.CustomResourceOptions;
  };

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
        protectVolumes: true,
        waitFor: gate,
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
    previous = new Host("cache-prev", { subnetId: "subnet-a", instanceType: "t3.small", securityGroupIds: ["sg-1"], ssh, steps: [
      { name: "healthy", description: "wait for the cluster", files: [], script: "true", health: true },
    ] }, rec.opts);
    open([previous.lastStep]);
    await settle(host, previous, ...host.steps, ...previous.steps);
  });

  test("instance requires IMDSv2 and has an encrypted gp3 root volume", () => {
    const inst = byName("cache-0", "aws:ec2/instance:Instance").inputs;
    expect(inst.metadataOptions).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 1 });
    expect(inst.rootBlockDevice).toMatchObject({ encrypted: true, volumeType: "gp3" });
    expect(inst.associatePublicIpAddress).toBeUndefined();
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

  describe("replacing the instance (AMI bump): one host at a time, the data volume moves", () => {
    test("the instance is deleted before its replacement is created, and so is the volume attachment", () => {
      expect(optsOf("cache-0", "aws:ec2/instance:Instance").deleteBeforeReplace).toBe(true);
      const attachment = rec.seen.find((s) => s.name === "cache-0-data" && s.type === "aws:ec2/volumeAttachment:VolumeAttachment");
      expect((attachment?.opts as pulumi.CustomResourceOptions).deleteBeforeReplace).toBe(true);
      expect(byName("cache-0-data", "aws:ec2/volumeAttachment:VolumeAttachment").inputs).toMatchObject({ stopInstanceBeforeDetaching: true });
    });

    test("the volume is no dependent of the instance (never replaced with it) and is protected", async () => {
      const vol = rec.seen.find((s) => s.name === "cache-0-data" && s.type === "aws:ebs/volume:Volume")!;
      expect(vol.opts.protect).toBe(true);
      expect((vol.opts as pulumi.CustomResourceOptions).deleteBeforeReplace).toBeFalsy();
      for (const [k, v] of Object.entries(vol.props)) expect([k, await derivedFrom(v, host.instance)]).toEqual([k, false]);
      expect(byName("cache-0-data", "aws:ebs/volume:Volume").inputs.availabilityZone).toBe("us-east-1a");
    });

    test("the private IP lives on a network interface of its own: a new instance keeps it", async () => {
      const inst = byName("cache-0", "aws:ec2/instance:Instance").inputs;
      expect(inst.primaryNetworkInterface).toEqual({ networkInterfaceId: "cache-0-id" });
      expect(inst.subnetId).toBeUndefined();
      expect(byName("cache-0", "aws:ec2/networkInterface:NetworkInterface").inputs).toMatchObject({ subnetId: "subnet-a", securityGroups: ["sg-1"] });
      expect(await derivedFrom(host.privateIp, host.instance)).toBe(false);
      expect(await derivedFrom(host.privateIp, host.networkInterface)).toBe(true);
    });

    test("the instance waits for the previous host's health step (the rolling chain)", async () => {
      const deps = await valueOf(optsOf("cache-0", "aws:ec2/instance:Instance").dependsOn as pulumi.Input<pulumi.Resource[]>);
      expect(deps).toEqual([previous.lastStep]);
    });

    test("every step re-runs on a new instance (its id is a trigger); a health step also after a stop/start", () => {
      for (const s of ["cloud-init", "volumes", "install", "config"]) {
        const triggers = unsecret(byName(`cache-0-${s}`, "command:remote:Command").inputs.triggers);
        expect(triggers.slice(1)).toEqual(["cache-0-id"]);
      }
      expect(unsecret(byName("cache-prev-healthy", "command:remote:Command").inputs.triggers).slice(1)).toEqual(["cache-prev-id", "t3.small"]);
    });

    test("the volumes step waits for the attachments", () => {
      const deps = rec.optionsOf("cache-0-volumes").dependsOn as pulumi.Resource[];
      const attachment = rec.seen.find((s) => s.name === "cache-0-data" && s.type === "aws:ec2/volumeAttachment:VolumeAttachment")!.resource;
      expect(deps).toContain(attachment);
    });

    test("a connection change (key, proxy) is an update that runs a no-op, never the step again", () => {
      for (const s of ["cloud-init", "volumes", "install", "config"]) expect(byName(`cache-0-${s}`, "command:remote:Command").inputs.update).toBe("true");
    });
  });

  describe("SSH host keys: generated here, installed by cloud-init, pinned on both hops", () => {
    test("an ed25519 key per host; the user data (which holds its private half) is secret", () => {
      expect(byName("cache-0-ssh-host", "tls:index/privateKey:PrivateKey").inputs).toEqual({ algorithm: "ED25519" });
      expect(rec.optionsOf("cache-0-ssh-host") as pulumi.CustomResourceOptions).toMatchObject({ additionalSecretOutputs: expect.arrayContaining(["privateKeyOpenssh"]) });
      const inst = byName("cache-0", "aws:ec2/instance:Instance").inputs;
      expect(isSecretInput(inst.userData)).toBe(true);
    });

    test("the cloud-config installs exactly the pinned key pair and generates no other host key", async () => {
      const cc = unsecret(byName("cache-0", "aws:ec2/instance:Instance").inputs.userData) as string;
      expect(cc.startsWith("#cloud-config\n")).toBe(true);
      const doc = parseYaml(cc);
      const pinned = await valueOf(host.hostPublicKey);
      expect(doc).toEqual({
        ssh_deletekeys: true,
        ssh_genkeytypes: [],
        ssh_keys: {
          ed25519_private: "-----BEGIN OPENSSH PRIVATE KEY-----\n<secret:tls-private-key:cache-0-ssh-host>\n-----END OPENSSH PRIVATE KEY-----\n",
          ed25519_public: pinned,
        },
      });
      expect(pinned).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/]+$/);
    });

    test("every step pins the host's key on the target hop and the bastion's on the proxy hop; both hops retry", async () => {
      const pinned = await valueOf(host.hostPublicKey);
      for (const s of ["cloud-init", "volumes", "install", "config"]) {
        const conn = unsecret(byName(`cache-0-${s}`, "command:remote:Command").inputs.connection);
        expect(conn.hostKey).toBe(pinned);
        expect(conn.proxy.hostKey).toBe(ssh.bastion.hostKey);
        expect(conn.proxy).toMatchObject({ perDialTimeout: 10, dialErrorLimit: s === "cloud-init" ? -1 : 60 });
        expect(conn).toMatchObject({ perDialTimeout: 10, dialErrorLimit: s === "cloud-init" ? -1 : 60 });
      }
    });
  });

  test("authorizedKeys: a step right after cloud-init writes them (rotation without replacing the instance)", async () => {
    const keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOldKey old", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINewKey new"];
    const h = new Host("cache-k", { subnetId: "s", instanceType: "t3.small", securityGroupIds: [], keyName: "dev-ops", ssh: { ...ssh, authorizedKeys: keys }, steps: [] });
    await settle(h, ...h.steps);
    const m = await valueOf(h.manifest());
    expect(m.steps.map((s) => s.name)).toEqual(["cloud-init", "ssh-authorized-keys"]);
    expect(m.steps[1].script).toContain(Buffer.from(keys.join("\n") + "\n").toString("base64"));
  });

  test("a public address is an Elastic IP on the interface (survives stop/start and replacement)", async () => {
    const h = new Host("jump", { subnetId: "s", instanceType: "t3.micro", securityGroupIds: [], associatePublicIp: true, ssh: { user: "admin", privateKey: "K" }, steps: [] });
    await settle(h, ...h.steps);
    expect(byName("jump", "aws:ec2/eip:Eip").inputs).toMatchObject({ domain: "vpc", networkInterface: "jump-id" });
    expect(await valueOf(h.publicIp!)).toBe("198.51.100.10");
    expect(await derivedFrom(h.publicIp, h.instance)).toBe(false);
  });

  test("resource names are unique", () => expectUniqueNames());
});
