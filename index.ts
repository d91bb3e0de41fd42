/**
 * opsfleet component library: import these from another Pulumi program.
 * (The Pulumi program of this repository lives in `stacks/`; this entry creates nothing on import.)
 */
export { Network, type NetworkArgs, type NatGatewayStrategy } from "./components/network";
export { Bastion, type BastionArgs } from "./components/bastion";
export { Host, type HostArgs, type HostStepInput, type HostFileInput, type HostVolumeInput, type SshAccess, type HostManifest } from "./components/host";
export { debianAmiId, architectureOf, DEBIAN_AMI_OWNER } from "./components/ami";
export { SpotFailover, type SpotFailoverArgs } from "./components/spot-failover";
export { RedisCluster, type RedisClusterArgs } from "./components/redis-cluster";
export { ElasticsearchCluster, type ElasticsearchClusterArgs } from "./components/elasticsearch-cluster";
export { LogstashHost, type LogstashHostArgs } from "./components/logstash-host";
export { EncryptedDatabase, type EncryptedDatabaseArgs } from "./components/encrypted-database";
export { HostRole, type HostRoleArgs, type HostPolicyStatement } from "./components/host-role";
export { hostMetricsNamespace, hostMetricsStatement } from "./provision/monitoring/namespace";
export type { RenderedFile, RenderedStep } from "./provision/common/types";
export { renderStepScript } from "./provision/common/step-script";
