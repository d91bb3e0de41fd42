// Type-checked copy of the README's "Using the components" example (README imports from "opsfleet").
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Bastion, Network, RedisCluster } from "../index";

const cfg = new pulumi.Config();
const privateKey = cfg.requireSecret("sshPrivateKey");
// The EC2 key pair the hosts are created with: the public half of sshPrivateKey.
// A fixed name, passed with the resource (never `keyPair.keyName`: see HostKeyName).
const keyPair = new aws.ec2.KeyPair("ops", { keyName: "ops", publicKey: cfg.require("sshPublicKey") }, { deleteBeforeReplace: true });
const keyName = { name: "ops", keyPair };
const net = new Network("shared", { availabilityZoneCount: 3, natGateways: "onePerAz" });
const bastion = new Bastion("ops", {
  vpcId: net.vpcId, subnetId: net.publicSubnetIds[0], vpcCidrBlock: net.cidrBlock,
  adminCidrs: ["198.51.100.0/24"], sshUser: "admin", sshPrivateKey: privateKey, keyName,
});
const redis = new RedisCluster("cache", {
  vpcId: net.vpcId,
  subnetIds: net.privateSubnetIds,                 // hosts round-robin over these
  password: cfg.requireSecret("redisPassword"),
  bastionSecurityGroupId: bastion.securityGroupId,
  ssh: { user: "admin", privateKey, bastion: bastion.proxy },
  keyName,
  clientSecurityGroupIds: [/* your app's security group */],
});
export const redisSeeds = redis.seedList;
