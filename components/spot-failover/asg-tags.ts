/**
 * Tags of the tier's Auto Scaling groups. Pure.
 * - One entry per key: the group's own `Name` wins over a user tag `Name` (AWS refuses a key twice).
 * - The on-demand group's tags are separate `aws.autoscaling.Tag` resources (see index.ts); their
 *   Pulumi names must be distinct for distinct keys. A key of only letters, digits and `-` is its own
 *   name; any other key (`opsfleet:component`, `cost center`) becomes `<key with - for each other
 *   character>_<8 hex of its SHA-256>`: `_` cannot occur in the first form, and two keys that read the
 *   same after replacement (`a:b`, `a.b`) differ in the hash.
 */
import { createHash } from "node:crypto";

export interface AsgTag { key: string; value: string; propagateAtLaunch: boolean }

export function asgTagList(tags: Record<string, string>, groupName: string): AsgTag[] {
  return Object.entries({ ...tags, Name: groupName }).map(([key, value]) => ({ key, value, propagateAtLaunch: true }));
}

export function tagResourceSuffix(key: string): string {
  if (/^[A-Za-z0-9-]+$/.test(key)) return key;
  return `${key.replace(/[^A-Za-z0-9-]/g, "-")}_${createHash("sha256").update(key).digest("hex").slice(0, 8)}`;
}

/**
 * The Pulumi name suffix a Tag of `key` had before {@link tagResourceSuffix} (every other character
 * replaced by `-`), as an alias, so running stacks keep their Tag resources instead of creating the new
 * one and then deleting the old (which would remove the tag from the group). None when two of `keys`
 * shared that old name (then Pulumi had only one of them) or when the name did not change.
 */
export function previousTagSuffix(key: string, keys: string[]): string | undefined {
  const old = (k: string) => k.replace(/[^A-Za-z0-9-]/g, "-");
  if (old(key) === tagResourceSuffix(key)) return undefined;
  return keys.filter((k) => old(k) === old(key)).length === 1 ? old(key) : undefined;
}
