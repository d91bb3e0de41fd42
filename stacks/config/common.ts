/** Reusable zod validators for stack config sections. */
import { z } from "zod";
import { parseCidr } from "../../components/cidr";
import { architectureProblem } from "../../components/instance-architecture";

export const cidrBlock = z
  .string()
  .refine((s) => parseCidr(s) !== undefined, { message: "must be an IPv4 CIDR such as 10.0.0.0/16, with no host bits set" });

/** EC2 instance type such as t3.medium or m6g.2xlarge. */
export const instanceType = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\d[a-z0-9-]*\.(nano|micro|small|medium|large|metal|\d*xlarge)(-\d+xl)?$/, {
    message: "must be an EC2 instance type such as t3.medium or m5.2xlarge",
  })
  // the family decides the CPU architecture and so the AMI: an unknown family or a Mac is an error here
  .superRefine((t, ctx) => {
    const problem = architectureProblem(t);
    if (problem) ctx.addIssue({ code: "custom", input: t, message: problem });
  });

export const amiId = z.string().regex(/^ami-[0-9a-f]{8,17}$/, { message: "must be an AMI id such as ami-0123456789abcdef0" });
export const vpcId = z.string().regex(/^vpc-[0-9a-f]{8,17}$/, { message: "must be a VPC id such as vpc-0123456789abcdef0" });
export const subnetId = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { message: "must be a subnet id such as subnet-0123456789abcdef0" });
export const securityGroupId = z.string().regex(/^sg-[0-9a-f]{8,17}$/, { message: "must be a security group id such as sg-0123456789abcdef0" });

/** Integer within [min, max], with a message that says so. */
export const intBetween = (min: number, max: number) =>
  z.number({ message: `must be a whole number from ${min} to ${max}` }).int({ message: `must be a whole number from ${min} to ${max}` })
    .min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` });
