/**
 * Account prerequisites of a stack: the vCPUs it runs at most, against EC2's vCPU quotas
 * ("Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" and "All Standard (...) Spot
 * Instance Requests"). Pure: computed from the validated config, for the README and `npm run plan`.
 */
import type { OpsfleetConfig } from "../stacks/config/schema";

/** vCPUs of an instance type by its size (EC2's ladder: large = 2, xlarge = 4, Nxlarge = 4N; t2 nano-small = 1). */
export function vcpusOf(instanceType: string): number {
  const [family, size] = instanceType.split(".");
  const burst = /^t\d/.test(family);
  if (size === "nano" || size === "micro" || size === "small") return family === "t2" ? 1 : burst ? 2 : 1;
  if (size === "medium") return burst ? 2 : 1;
  if (size === "large") return 2;
  if (size === "xlarge") return 4;
  const n = /^(\d+)xlarge$/.exec(size ?? "");
  if (n) return 4 * Number(n[1]);
  throw new Error(`vcpusOf: cannot tell the vCPUs of ${JSON.stringify(instanceType)} from its size`);
}

export interface VcpuNeeds {
  /** On-demand: every host, plus the failover ASG at full target capacity. */
  onDemand: number;
  /** Spot: the Spot source at full target capacity. */
  spot: number;
}

/**
 * Worst case the stack may run at once. The web tier counts twice the largest type at target
 * capacity: on Spot, and on on-demand while the failover ASG covers lost Spot capacity.
 */
export function vcpuNeeds(c: OpsfleetConfig): VcpuNeeds {
  let onDemand = 0;
  let spot = 0;
  if (c.features.redis || c.features.elk || c.features.database) onDemand += vcpusOf(c.bastion.instanceType);
  if (c.features.spotWeb) {
    const web = c.spot.targetCapacity * Math.max(...c.spot.instanceTypes.map(vcpusOf));
    spot += web;
    onDemand += web;
  }
  if (c.features.redis) onDemand += c.redis.hostCount * vcpusOf(c.redis.instanceType);
  if (c.features.elk) {
    onDemand += c.elk.masters.count * vcpusOf(c.elk.masters.instanceType) + c.elk.data.count * vcpusOf(c.elk.data.instanceType);
    onDemand += vcpusOf(c.elk.logstash.instanceType);
  }
  if (c.features.database) onDemand += vcpusOf(c.database.instanceType);
  return { onDemand, spot };
}
