/**
 * The change-safety table: day-2 changes an operator makes to a running stack, what the change
 * preview must show for each, and what the operator must know. tools/change/change-safety.*.test.ts
 * plans every row before and after and asserts the effects; README's "Changing a running stack"
 * table is generated from these rows (`npm run docs:changes`) and a test keeps it in sync.
 */
import type { Document } from "yaml";

export interface SafetyRow {
  id: string;
  /** The shipped stack file the row starts from. */
  stack: "dev" | "prod";
  /** What the operator changes. */
  change: string;
  /** What `pulumi up` does, as the preview shows it (asserted by the row's test). */
  effect: string;
  /** What the operator must know before running it (a restart, a window, a wait). */
  operator: string;
  /** The config edit on the stack file (before = the shipped file). */
  edit?: (doc: Document) => void;
  /** Data-source answers that differ after the change (e.g. a new Debian image). */
  invoke?: (token: string, inputs: Record<string, any>) => Record<string, unknown> | undefined;
}

const set = (key: string, ...path: (string | number)[]) => (value: unknown) => (doc: Document) => doc.setIn(["config", `opsfleet:${key}`, ...path], value);
const secret = (key: string) => (doc: Document) => doc.setIn(["config", `opsfleet:${key}`], doc.createNode({ secure: "v1:AAAAAAAAAAAAAAAA:cm90YXRlZA==" }));

/** Debian publishes a newer image: what `aws.ec2.getAmi({ mostRecent: true })` answers after the change. */
const newDebianImage = (token: string, inputs: Record<string, any>) => {
  if (token !== "aws:ec2/getAmi:getAmi") return undefined;
  const arch = (inputs.filters ?? []).find((f: any) => f.name === "architecture")?.values?.[0] ?? "x86_64";
  return { id: `ami-0debian12${arch === "arm64" ? "arm64" : "amd64"}999`, architecture: arch, name: `debian-12-${arch}-20261201-1100` };
};

export const SAFETY_ROWS: SafetyRow[] = [
  {
    id: "debian-image", stack: "dev", change: "Debian publishes a new image (no `amiId` pin)", invoke: newDebianImage,
    effect: "No host replaced; the web launch template gets a new version; Spot Fleet and ASGs updated in place, not replaced.",
    operator: "Nothing restarts now. New web instances boot from the new image as the web tier rolls; hosts keep their image until you pin `amiId` and roll them.",
  },
  {
    id: "ami-pin-bump", stack: "prod", change: "`amiIds` bumped (pinned images)", edit: (doc) => {
      doc.setIn(["config", "opsfleet:amiIds", "x86_64"], "ami-0d2e6b0c3f8a45e71");
      doc.setIn(["config", "opsfleet:amiIds", "arm64"], "ami-0b8f4c0d2e6a35f92");
    },
    effect: "Every host replaced, one host per cluster at a time; every data volume kept and moved to the new instance (detached first); web template gets a new version.",
    operator: "Each Redis/Elasticsearch host waits until its cluster is healthy again before the next one goes. The single database host is down while it is replaced: plan a window. The preview warns that the bastion goes in the same `up`: roll it on its own first (`pulumi up --target` its URN).",
  },
  {
    id: "health-path", stack: "dev", change: "`spot.healthCheckPath` edited (web user data changes)", edit: set("spot", "healthCheckPath")("/healthz"),
    effect: "New launch-template version (user data); the Spot Fleet and the ASGs are not replaced.",
    operator: "Web instances move to the new template by a rolling replacement; the target stays healthy while the old path is still served.",
  },
  {
    id: "ssh-key", stack: "prod", change: "`ssh.publicKey` changed",
    edit: set("ssh", "publicKey")("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm0tqXa7cJ5sQ2u8Yv1dWl9kE3rH6pN4gZ0fT2yL5cV opsfleet-prod-2027"),
    effect: "No instance replaced.",
    operator: "The key is rotated on the hosts, in two phases so the program can always log in (\"Hosts: rolling replacement, SSH keys, the bastion\" below): first add the new key to `ssh.additionalPublicKeys` and `up`; then set `ssh.publicKey` and `sshPrivateKey` to the new pair together, remove it from `additionalPublicKeys`, and `up`.",
  },
  {
    id: "redis-password", stack: "prod", change: "`redisPassword` rotated", edit: secret("redisPassword"),
    effect: "No instance replaced; only the steps that carry the Redis password re-run.",
    operator: "Redis nodes pick up the new password as the steps re-run; clients need the new password at the same time.",
  },
  {
    id: "elastic-password", stack: "prod", change: "`elasticPassword` rotated", edit: secret("elasticPassword"),
    effect: "No instance replaced; only the steps that carry the Elasticsearch password (or the Logstash password derived from it) re-run.",
    operator: "Logstash and Kibana switch to the new password as their steps re-run.",
  },
  {
    id: "db-password", stack: "prod", change: "`dbAppPassword` rotated", edit: secret("dbAppPassword"),
    effect: "No instance replaced; only the steps that carry the database password re-run.",
    operator: "The application user's password changes when the step runs; deploy the new password to applications right after.",
  },
  {
    id: "tag-added", stack: "dev", change: "A tag added to `tags`", edit: set("tags", "team")("web"),
    effect: "Nothing replaced or deleted; tagged resources updated in place. The web launch template gets a new version (its tag specifications carry the tags).",
    operator: "No host restarts, but every web instance is replaced: the reconciler rolls the Spot Fleet and the on-demand ASG's instance refresh rolls its instances onto the new template version, behind the ALB.",
  },
  {
    id: "tag-added-prod", stack: "prod", change: "A tag added to `tags` (prod)", edit: set("tags", "team")("web"),
    effect: "Nothing replaced or deleted; tagged resources updated in place. The web launch template gets a new version (its tag specifications carry the tags).",
    operator: "No host restarts, but every web instance is replaced: the ASGs' instance refresh rolls them onto the new template version (100% healthy kept), behind the ALB.",
  },
  {
    id: "target-capacity", stack: "dev", change: "`spot.targetCapacity` 2 → 6", edit: set("spot", "targetCapacity")(6),
    effect: "Updated in place; nothing replaced.",
    operator: "The reconciler owns the running capacity: it raises the Spot target on its next run.",
  },
  {
    id: "spot-source", stack: "dev", change: "`spot.spotSource` fleet → asg", edit: (doc) => {
      doc.setIn(["config", "opsfleet:spot", "spotSource"], "asg");
      doc.deleteIn(["config", "opsfleet:spot", "fleet"]);
    },
    effect: "The Spot ASG is created and the reconciler updated to follow it before the Spot Fleet is deleted.",
    operator: "The fleet's instances terminate at the end of the `up`; the on-demand ASG covers the gap until the Spot ASG has capacity.",
  },
  {
    id: "redis-scale-out", stack: "prod", change: "`redis.hostCount` 3 → 4", edit: set("redis", "hostCount")(4),
    effect: "A new host with its volume and steps; on the existing hosts only the cluster step re-runs.",
    operator: "The cluster step adds the new node and moves slots to it; clients follow MOVED redirects during the move.",
  },
  {
    id: "es-data-scale-out", stack: "prod", change: "`elk.data.count` 2 → 3", edit: set("elk", "data", "count")(3),
    effect: "One new data host; the master hosts are untouched (only cluster-wide steps, run from the first master, re-run to take in the new node); the Logstash host's `logstash-config` re-runs (its output lists the data nodes), and `kibana-config` when Kibana is on.",
    operator: "Shards rebalance onto the new node; expect extra disk and network traffic for a while. No Elasticsearch node restarts, but Logstash restarts (a brief ingest pause: Beats retry, events wait in Filebeat and in Logstash's persisted queue), and Kibana too when on (its UI is down while it starts).",
  },
  {
    id: "bastion-type", stack: "prod", change: "`bastion.instanceType` changed", edit: set("bastion", "instanceType")("t3.medium"),
    effect: "The bastion stops and starts in place; no step on any other host re-runs.",
    operator: "No SSH through the bastion for about a minute.",
  },
];

const esc = (s: string) => s.replace(/\|/g, "\\|");

/** README's "Changing a running stack" table. */
export function safetyTableMarkdown(): string {
  const lines = ["| Change | Stack | What `pulumi up` does | What you must know |", "|---|---|---|---|"];
  for (const r of SAFETY_ROWS) lines.push(`| ${esc(r.change)} | ${r.stack} | ${esc(r.effect)} | ${esc(r.operator)} |`);
  return lines.join("\n");
}
