import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** Debian's official AWS account (https://wiki.debian.org/Cloud/AmazonEC2Image). */
export const DEBIAN_AMI_OWNER = "136693071363";

/** Graviton instance families (t4g, m6g, c7gn, r8g, ...) need arm64 images. */
export function architectureOf(instanceType: string): "x86_64" | "arm64" {
  return /^[a-z]+\d+g[a-z]*\./.test(instanceType) ? "arm64" : "x86_64";
}

/**
 * The latest official Debian 12 (bookworm) AMI for the instance type's architecture,
 * unless `override` is given (pin an AMI id per stack to avoid replacing hosts when Debian publishes a new image).
 */
export function debianAmiId(
  instanceType: pulumi.Input<string>,
  override: pulumi.Input<string> | undefined,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  if (override !== undefined) return pulumi.output(override);
  return pulumi.output(instanceType).apply((t) =>
    aws.ec2
      .getAmiOutput(
        {
          owners: [DEBIAN_AMI_OWNER],
          mostRecent: true,
          filters: [
            { name: "name", values: [`debian-12-${architectureOf(t) === "arm64" ? "arm64" : "amd64"}-*`] },
            { name: "architecture", values: [architectureOf(t)] },
            { name: "virtualization-type", values: ["hvm"] },
            { name: "root-device-type", values: ["ebs"] },
          ],
        },
        { parent },
      )
      .apply((ami) => ami.id),
  );
}
