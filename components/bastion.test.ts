import * as pulumi from "@pulumi/pulumi";
import { byName, OptionsRecorder, settle, unsecret, useMocks, valueOf } from "../test/harness/pulumi-mocks";
import { Bastion } from "./bastion";

const base = {
  vpcId: "vpc-1", subnetId: "subnet-pub", vpcCidrBlock: "10.0.0.0/16", sshUser: "admin",
  sshPrivateKey: pulumi.secret("KEY"), keyName: "ops",
};

describe("Bastion", () => {
  beforeAll(() => useMocks());

  test("SSH in only from admin CIDRs; SSH out only into the VPC; public IP; IMDSv2", async () => {
    const rec = new OptionsRecorder();
    const b = new Bastion("b1", { ...base, adminCidrs: ["203.0.113.0/24"] }, rec.opts);
    await settle(b, ...b.host.steps);
    const sg = byName("b1-sg", "aws:ec2/securityGroup:SecurityGroup").inputs;
    expect(sg.ingress).toEqual([expect.objectContaining({ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.0/24"] })]);
    const ssh = sg.egress.filter((e: any) => e.fromPort === 22);
    expect(ssh).toEqual([expect.objectContaining({ cidrBlocks: ["10.0.0.0/16"] })]);
    expect(sg.egress.every((e: any) => [22, 80, 443].includes(e.fromPort) && e.fromPort === e.toPort)).toBe(true);
    const inst = byName("b1", "aws:ec2/instance:Instance").inputs;
    // the public address is an Elastic IP on the bastion's own interface: stable across stop/start and replacement
    expect(byName("b1", "aws:ec2/eip:Eip").inputs).toMatchObject({ domain: "vpc", networkInterface: "b1-id" });
    expect(inst.primaryNetworkInterface).toEqual({ networkInterfaceId: "b1-id" });
    expect(await valueOf(b.publicIp)).toBe("198.51.100.10");
    expect(await valueOf(b.proxy.host)).toBe("198.51.100.10");
    expect(await valueOf(b.proxy.hostKey)).toBe(await valueOf(b.host.hostPublicKey));
    expect(inst.metadataOptions.httpTokens).toBe("required");
    expect(inst.rootBlockDevice.encrypted).toBe(true);
    // The bastion is reached directly (it is the jump host itself)
    const conn = unsecret(byName("b1-harden-sshd", "command:remote:Command").inputs.connection);
    expect(conn.proxy).toBeUndefined();
    expect(conn.host).toBe("198.51.100.10");
    expect(conn.hostKey).toBe(await valueOf(b.hostPublicKey));
  });

  test.each([[[]], [["0.0.0.0/0"]], [["10.1.0.0/16", "::/0"]]])("refuses adminCidrs %j", (cidrs) => {
    expect(() => new Bastion("bad", { ...base, adminCidrs: cidrs as string[] })).toThrow(/adminCidrs/);
  });
});
