/**
 * One HostRole per host group of the stack, created on first use. Every role starts with the
 * stack-wide concerns (metrics); an area adds its own later, e.g.
 * `ctx.hostRoles?.for("database").allow("backup", [...])`.
 */
import type * as pulumi from "@pulumi/pulumi";
import { HostRole, type HostPolicyStatement } from "../components/host-role";

export type HostGroup = "redis" | "elasticsearch" | "logstash" | "database" | "bastion";

const DESCRIPTIONS: Record<HostGroup, string> = {
  redis: "Redis Cluster hosts",
  elasticsearch: "Elasticsearch hosts",
  logstash: "Logstash/Kibana host",
  database: "database host",
  bastion: "bastion (SSH jump host)",
};

export class HostRoles {
  private readonly roles = new Map<HostGroup, HostRole>();

  constructor(
    private readonly prefix: string,
    /** Concerns every group's role gets, by name. */
    private readonly base: Record<string, HostPolicyStatement[]>,
    private readonly tags: Record<string, string>,
    private readonly opts: pulumi.ComponentResourceOptions,
  ) {}

  /** The group's role (created now if it does not exist yet). */
  for(group: HostGroup): HostRole {
    let role = this.roles.get(group);
    if (!role) {
      role = new HostRole(`${this.prefix}-${group}-role`, {
        description: `opsfleet ${this.prefix}: ${DESCRIPTIONS[group]}`,
        policies: this.base,
        tags: this.tags,
      }, this.opts);
      this.roles.set(group, role);
    }
    return role;
  }

  /** Roles created so far, by group. */
  get created(): ReadonlyMap<HostGroup, HostRole> {
    return this.roles;
  }
}
