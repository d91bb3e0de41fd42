/** The cluster the Elasticsearch tests render for: 3 masters (t3.medium) and data nodes (m5.2xlarge) across AZs. */
import type { EsClusterLayout } from "./node-config";

export function esTestLayout(opts: { names?: "short" | "prod"; dataNodes?: number } = {}): EsClusterLayout {
  const name = (role: "master" | "data", i: number) => (opts.names === "prod" ? `prod-es-${role}-${i}` : `${role[0]}${i}`);
  return {
    clusterName: "prod-logs",
    nodes: [
      ...[1, 2, 3].map((i) => ({ name: name("master", i), role: "master" as const, privateIp: `10.0.${i}.1${i}`, instanceType: "t3.medium" })),
      ...Array.from({ length: opts.dataNodes ?? 2 }, (_, k) => k + 1)
        .map((i) => ({ name: name("data", i), role: "data" as const, privateIp: `10.0.${i}.2${i}`, instanceType: "m5.2xlarge" })),
    ],
  };
}
