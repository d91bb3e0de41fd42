import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ARCHITECTURES, architectureOf, type Architecture } from "./instance-architecture";

export { architectureOf, type Architecture } from "./instance-architecture";

/** Debian's official AWS account (https://wiki.debian.org/Cloud/AmazonEC2Image). */
export const DEBIAN_AMI_OWNER = "136693071363";

/** Pinned AMIs, one per CPU architecture: an AMI runs only on instance types of its architecture. */
export type AmiIdsByArchitecture = Partial<Record<Architecture, string>>;

/** One AMI (for instance types of its architecture only) or one pinned AMI per architecture. */
export type AmiSelection = pulumi.Input<string> | AmiIdsByArchitecture;

function isByArchitecture(a: AmiSelection): a is AmiIdsByArchitecture {
  return typeof a === "object" && a !== null && !pulumi.Output.isInstance(a) && !(a instanceof Promise) &&
    Object.keys(a).every((k) => (ARCHITECTURES as readonly string[]).includes(k));
}

/** The pinned AMI for the type's architecture; throws naming both when none is pinned for it. */
export function pinnedAmiFor(instanceType: string, amiIds: AmiIdsByArchitecture, what = "amiIds"): string {
  const arch = architectureOf(instanceType);
  const id = amiIds[arch];
  if (id === undefined) {
    throw new Error(`${what}.${arch}: no AMI pinned for ${arch}, but instance type ${instanceType} is ${arch} (pinned: ${Object.keys(amiIds).join(", ") || "none"})`);
  }
  return id;
}

/**
 * The latest official Debian 12 (bookworm) AMI for the instance type's architecture, unless
 * `override` pins one: an AMI id, or one per architecture (`{ x86_64, arm64 }`) picked by the
 * instance type (pin AMIs per stack to avoid replacing hosts when Debian publishes a new image).
 */
export function debianAmiId(
  instanceType: pulumi.Input<string>,
  override: AmiSelection | undefined,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  if (override !== undefined && isByArchitecture(override)) {
    return pulumi.output(instanceType).apply((t) => pinnedAmiFor(t, override));
  }
  if (override !== undefined) return pulumi.output(override as pulumi.Input<string>);
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
