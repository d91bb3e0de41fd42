/** The stack context the area tests compose against: a dev stack with three AZs and no extras. */
import * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "./context";

export const testContext = (over: Partial<StackContext> = {}): StackContext => ({
  prefix: "dev",
  vpcId: "vpc-1",
  publicSubnetIds: ["subnet-pub-a", "subnet-pub-b", "subnet-pub-c"],
  privateSubnetIds: ["subnet-priv-a", "subnet-priv-b", "subnet-priv-c"],
  ssh: { user: "admin", privateKey: pulumi.secret("KEY") },
  keyName: "ops",
  bastionSecurityGroupId: "sg-bastion",
  tags: { env: "dev" },
  protectData: false,
  secrets: {},
  clientSecurityGroupIds: ["sg-web"],
  opts: {},
  ...over,
});
