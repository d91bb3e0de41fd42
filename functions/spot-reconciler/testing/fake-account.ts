/**
 * An in-memory AWS account answering the reconciler's API calls (test/bench helper, not shipped code:
 * nothing in handler.ts imports it). It refuses unscoped calls — a DescribeInstances without an
 * instance-id filter, a DescribeAutoScalingGroups without names — so a test fails if the reconciler
 * ever lists the whole account. Dynamics (launches, reclaims, health) are driven by the caller.
 */

export interface FakeInstance {
  id: string;
  state: "pending" | "running" | "shutting-down" | "terminated" | "stopping" | "stopped";
  launchMs: number;
  spotRequestId?: string;
  /** Launch template version it was launched from (tag aws:ec2launchtemplate:version). */
  templateVersion?: string;
  /** Tags written with CreateTags (e.g. the reconciler's retiring tag). */
  tags?: Map<string, string>;
}
export interface FakeGroup {
  name: string;
  desired: number;
  min: number;
  max: number;
  instances: { id: string; lifecycle: string; templateVersion?: string }[];
  tags: Map<string, string>;
  /** StatusCode of the latest scaling activity. */
  lastActivity?: string;
}
export interface FakeFleet {
  id: string;
  state: string;
  activity: string;
  target: number;
  /** Active instance ids (what DescribeSpotFleetInstances returns). */
  active: string[];
}

export const WRITE_COMMANDS = new Set([
  "SetDesiredCapacityCommand", "ModifySpotFleetRequestCommand", "CreateOrUpdateTagsCommand", "DeleteTagsCommand",
  "DeregisterTargetsCommand", "TerminateInstancesCommand", "ModifyTargetGroupCommand", "CreateTagsCommand",
]);

export class FakeAccount {
  readonly instances = new Map<string, FakeInstance>();
  readonly spotRequests = new Map<string, { instanceId: string; code: string }>();
  readonly targetHealth = new Map<string, string>();
  readonly groups = new Map<string, FakeGroup>();
  fleet?: FakeFleet;
  /** Health check path of the target group. */
  healthCheckPath = "/health";
  /** The tier's launch template (id lt-0123456789abcdef0) and its latest version. */
  launchTemplateLatestVersion = 1;
  /** Instances deregistered from the target group (draining until the caller completes it). */
  readonly deregistered = new Set<string>();
  /** Every call answered, in order. */
  readonly calls: { command: string; input: any }[] = [];
  private seq = 0;

  constructor(readonly targetGroupArn: string) {}

  nextId(prefix: "i" | "sir"): string {
    return `${prefix}-${(0x10000000 + this.seq++).toString(16).padStart(17, "0")}`;
  }

  /** Adds an instance; spot instances get a spot request with status `fulfilled`. */
  addInstance(o: { spot: boolean; state?: FakeInstance["state"]; launchMs?: number; id?: string; templateVersion?: string }): FakeInstance {
    const id = o.id ?? this.nextId("i");
    const inst: FakeInstance = { id, state: o.state ?? "running", launchMs: o.launchMs ?? 0, ...(o.templateVersion ? { templateVersion: o.templateVersion } : {}) };
    if (o.spot) {
      inst.spotRequestId = this.nextId("sir");
      this.spotRequests.set(inst.spotRequestId, { instanceId: id, code: "fulfilled" });
    }
    this.instances.set(id, inst);
    return inst;
  }

  /** Sets the spot request status of an instance (e.g. `marked-for-termination`). */
  setSpotStatus(instanceId: string, code: string): void {
    const sir = this.instances.get(instanceId)?.spotRequestId;
    if (!sir) throw new Error(`${instanceId} is no spot instance`);
    this.spotRequests.get(sir)!.code = code;
  }

  addGroup(g: Partial<FakeGroup> & { name: string }): FakeGroup {
    const group: FakeGroup = { desired: 0, min: 0, max: 1, instances: [], tags: new Map(), ...g };
    this.groups.set(g.name, group);
    return group;
  }

  /**
   * Tags EC2 Auto Scaling / Spot Fleet put on an instance at launch (aws:autoscaling:groupName,
   * aws:ec2spot:fleet-request-id). Recorded whenever the account is called, and kept after the
   * instance left its group, as on AWS (tests move instances in and out of groups directly).
   */
  private readonly launchTags = new Map<string, Map<string, string>>();
  private recordLaunchTags(): void {
    const tag = (id: string, key: string, value: string) => {
      if (!this.launchTags.has(id)) this.launchTags.set(id, new Map());
      const t = this.launchTags.get(id)!;
      if (!t.has(key)) t.set(key, value);
    };
    for (const id of this.fleet?.active ?? []) tag(id, "aws:ec2spot:fleet-request-id", this.fleet!.id);
    for (const g of this.groups.values()) for (const i of g.instances) tag(i.id, "aws:autoscaling:groupName", g.name);
  }

  handle(command: string, input: any): any {
    this.calls.push({ command, input });
    this.recordLaunchTags();
    const h = (this as any)[command.replace(/Command$/, "")] as ((i: any) => any) | undefined;
    if (!h) throw new Error(`FakeAccount: unsupported command ${command}`);
    return h.call(this, input);
  }

  private idsFromFilter(input: any, name: string): string[] {
    const f = (input.Filters ?? []).find((x: any) => x.Name === name);
    const ids: string[] = f?.Values ?? input.InstanceIds ?? input.SpotInstanceRequestIds ?? [];
    if (!ids.length) throw new Error(`FakeAccount: unscoped call (no ${name} filter): would list the whole account`);
    return ids;
  }

  DescribeInstances(input: any) {
    const ids = this.idsFromFilter(input, "instance-id");
    const found = ids.map((id) => this.instances.get(id)).filter((i): i is FakeInstance => !!i);
    return {
      Reservations: [{ Instances: found.map((i) => ({
        InstanceId: i.id, State: { Name: i.state }, LaunchTime: new Date(i.launchMs),
        Tags: [
          ...(i.templateVersion ? [{ Key: "aws:ec2launchtemplate:id", Value: "lt-0123456789abcdef0" }, { Key: "aws:ec2launchtemplate:version", Value: i.templateVersion }] : []),
          ...[...(this.launchTags.get(i.id) ?? [])].map(([Key, Value]) => ({ Key, Value })),
          ...[...(i.tags ?? [])].map(([Key, Value]) => ({ Key, Value })),
        ],
        ...(i.spotRequestId ? { SpotInstanceRequestId: i.spotRequestId, InstanceLifecycle: "spot" } : {}),
      })) }],
    };
  }

  DescribeLaunchTemplates(input: any) {
    if (JSON.stringify(input.LaunchTemplateIds) !== JSON.stringify(["lt-0123456789abcdef0"])) throw new Error(`InvalidLaunchTemplateId.NotFound: ${input.LaunchTemplateIds}`);
    return { LaunchTemplates: [{ LaunchTemplateId: "lt-0123456789abcdef0", LatestVersionNumber: this.launchTemplateLatestVersion, DefaultVersionNumber: this.launchTemplateLatestVersion }] };
  }

  DescribeSpotInstanceRequests(input: any) {
    const ids = this.idsFromFilter(input, "spot-instance-request-id");
    return {
      SpotInstanceRequests: ids.filter((id) => this.spotRequests.has(id)).map((id) => {
        const r = this.spotRequests.get(id)!;
        return { SpotInstanceRequestId: id, InstanceId: r.instanceId, Status: { Code: r.code } };
      }),
    };
  }

  DescribeSpotFleetRequests(input: any) {
    const f = this.fleet;
    if (!f || input.SpotFleetRequestIds?.[0] !== f.id) throw Object.assign(new Error("InvalidSpotFleetRequestId.NotFound"), { name: "InvalidSpotFleetRequestId.NotFound" });
    return { SpotFleetRequestConfigs: [{ SpotFleetRequestId: f.id, SpotFleetRequestState: f.state, ActivityStatus: f.activity, SpotFleetRequestConfig: { TargetCapacity: f.target } }] };
  }

  DescribeSpotFleetInstances(input: any) {
    const f = this.fleet;
    if (!f || input.SpotFleetRequestId !== f.id) throw new Error("InvalidSpotFleetRequestId.NotFound");
    const page = 1000;
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const slice = f.active.slice(start, start + page);
    return {
      ActiveInstances: slice.map((id) => ({ InstanceId: id, SpotInstanceRequestId: this.instances.get(id)?.spotRequestId, InstanceType: "t3.micro" })),
      ...(start + page < f.active.length ? { NextToken: String(start + page) } : {}),
    };
  }

  DescribeAutoScalingGroups(input: any) {
    const names: string[] = input.AutoScalingGroupNames ?? [];
    if (!names.length) throw new Error("FakeAccount: unscoped DescribeAutoScalingGroups");
    return {
      AutoScalingGroups: names.filter((n) => this.groups.has(n)).map((n) => {
        const g = this.groups.get(n)!;
        return {
          AutoScalingGroupName: n, DesiredCapacity: g.desired, MinSize: g.min, MaxSize: g.max,
          Instances: g.instances.map((i) => ({
            InstanceId: i.id, LifecycleState: i.lifecycle, HealthStatus: "Healthy",
            ...(i.templateVersion ? { LaunchTemplate: { LaunchTemplateId: "lt-0123456789abcdef0", Version: i.templateVersion } } : {}),
          })),
          Tags: [...g.tags].map(([Key, Value]) => ({ Key, Value, ResourceId: n, ResourceType: "auto-scaling-group" })),
        };
      }),
    };
  }

  DescribeScalingActivities(input: any) {
    const g = this.groups.get(input.AutoScalingGroupName);
    if (!g) throw new Error("FakeAccount: unscoped DescribeScalingActivities");
    return { Activities: g.lastActivity ? [{ StatusCode: g.lastActivity }] : [] };
  }

  DescribeTargetHealth(input: any) {
    if (input.TargetGroupArn !== this.targetGroupArn) throw new Error(`TargetGroupNotFound: ${input.TargetGroupArn}`);
    return { TargetHealthDescriptions: [...this.targetHealth].map(([Id, State]) => ({ Target: { Id, Port: 80 }, TargetHealth: { State } })) };
  }

  DescribeTargetGroups(input: any) {
    if (input.TargetGroupArns?.[0] !== this.targetGroupArn) throw new Error(`TargetGroupNotFound: ${input.TargetGroupArns}`);
    return { TargetGroups: [{ TargetGroupArn: this.targetGroupArn, HealthCheckPath: this.healthCheckPath, Port: 80, Protocol: "HTTP" }] };
  }

  ModifyTargetGroup(input: any) {
    if (input.TargetGroupArn !== this.targetGroupArn) throw new Error("TargetGroupNotFound");
    if (input.HealthCheckPath !== undefined) this.healthCheckPath = input.HealthCheckPath;
    return {};
  }

  CreateTags(input: any) {
    for (const id of input.Resources) {
      const i = this.instances.get(id);
      if (!i) throw new Error(`InvalidInstanceID.NotFound: ${id}`);
      i.tags ??= new Map();
      for (const t of input.Tags) i.tags.set(t.Key, t.Value ?? "");
    }
    return {};
  }

  /** Starts draining; the caller (test, simulation) ends it by deleting the target health entry. */
  DeregisterTargets(input: any) {
    if (input.TargetGroupArn !== this.targetGroupArn) throw new Error("TargetGroupNotFound");
    for (const t of input.Targets) {
      if (!this.targetHealth.has(t.Id)) continue; // AWS: deregistering an unregistered target is a no-op
      this.targetHealth.set(t.Id, "draining");
      this.deregistered.add(t.Id);
    }
    return {};
  }

  /** A Spot Fleet / ASG member leaves its group at once; the fleet (maintain) relaunches per the caller's dynamics. */
  TerminateInstances(input: any) {
    for (const id of input.InstanceIds) {
      const i = this.instances.get(id);
      if (!i) throw new Error(`InvalidInstanceID.NotFound: ${id}`);
      i.state = "shutting-down";
      this.targetHealth.delete(id);
      if (this.fleet) this.fleet.active = this.fleet.active.filter((x) => x !== id);
      for (const g of this.groups.values()) g.instances = g.instances.filter((x) => x.id !== id);
    }
    return { TerminatingInstances: input.InstanceIds.map((InstanceId: string) => ({ InstanceId, CurrentState: { Name: "shutting-down" } })) };
  }

  SetDesiredCapacity(input: any) {
    const g = this.groups.get(input.AutoScalingGroupName);
    if (!g) throw new Error(`ValidationError: group ${input.AutoScalingGroupName} not found`);
    if (input.DesiredCapacity > g.max || input.DesiredCapacity < g.min)
      throw new Error(`ValidationError: New SetDesiredCapacity value ${input.DesiredCapacity} is outside [${g.min}, ${g.max}]`);
    g.desired = input.DesiredCapacity;
    return {};
  }

  ModifySpotFleetRequest(input: any) {
    const f = this.fleet;
    if (!f || input.SpotFleetRequestId !== f.id) throw new Error("InvalidSpotFleetRequestId.NotFound");
    f.target = input.TargetCapacity;
    f.state = "modifying";
    return { Return: true };
  }

  CreateOrUpdateTags(input: any) {
    for (const t of input.Tags) this.groups.get(t.ResourceId)?.tags.set(t.Key, t.Value);
    return {};
  }

  DeleteTags(input: any) {
    for (const t of input.Tags) this.groups.get(t.ResourceId)?.tags.delete(t.Key);
    return {};
  }

  /** Calls grouped by command name. */
  countCalls(from = 0): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.calls.slice(from)) out[c.command] = (out[c.command] ?? 0) + 1;
    return out;
  }
  writesSince(from: number): { command: string; input: any }[] {
    return this.calls.slice(from).filter((c) => WRITE_COMMANDS.has(c.command));
  }
}
