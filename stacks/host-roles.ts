/**
 * One HostRole per host group of the stack, created on first use — or, for a group whose hosts
 * must not share a grant (Redis: each host writes only its own backup prefix), one per host
 * (`forHost`). Every role starts with the stack-wide concerns (metrics); an area adds its own later,
 * e.g. `ctx.hostRoles?.for("database").allow("backup", [...])`.
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
  private readonly hostRoles = new Map<string, HostRole>();

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

  /**
   * The role of ONE host of `group` (created now if it does not exist yet): `<host>-role`, e.g.
   * "dev-redis-0-role" for host "dev-redis-0". Adding a host adds its role; removing it removes it.
   */
  forHost(group: HostGroup, host: string): HostRole {
    if (!host.startsWith(`${this.prefix}-`)) throw new Error(`HostRoles.forHost: host ${JSON.stringify(host)}: allowed: a host name starting with "${this.prefix}-"`);
    if (this.roles.has(group)) throw new Error(`HostRoles.forHost: group ${group} already has one role for all its hosts`);
    let role = this.hostRoles.get(host);
    if (!role) {
      role = new HostRole(`${host}-role`, {
        description: `opsfleet ${this.prefix}: ${DESCRIPTIONS[group].replace(/ hosts?$/, "")} host ${host}`,
        policies: this.base,
        tags: this.tags,
      }, this.opts);
      this.hostRoles.set(host, role);
    }
    return role;
  }

  /** Roles created so far, by group. */
  get created(): ReadonlyMap<HostGroup, HostRole> {
    return this.roles;
  }

  /** Per-host roles created so far, by host name. */
  get createdPerHost(): ReadonlyMap<string, HostRole> {
    return this.hostRoles;
  }
}
