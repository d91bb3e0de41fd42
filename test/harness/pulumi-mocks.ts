/**
 * Shared Pulumi mock harness for component tests (modelled on pulumi-awsx `vpc.test.ts`).
 *
 * - records every registration (`registered`), custom and component;
 * - forms URNs as Pulumi's engine does (the parent's whole type chain, not only its own type);
 * - gives provider-computed outputs that the code under test reads (ids, ARNs, IPs, AZs);
 * - THROWS on invokes it does not know, so a new data-source call cannot silently get a wrong shape;
 * - `expectUniqueNames()` catches duplicate type+name pairs, which the mock monitor accepts but the engine rejects;
 * - `optionsOf(name)` returns the resource options (dependsOn, ignoreChanges, deletedWith, ...) captured through a
 *   transformation that tests pass to the component under test (`recorder.opts`).
 */
import * as pulumi from "@pulumi/pulumi";
import { computedOutputs, mockId, mockInvoke, usePulumiUrns } from "./mock-data";

export type Registration = pulumi.runtime.MockResourceArgs;

/** Every resource registered since the last `useMocks()` / `resetRegistrations()`. */
export const registered: Registration[] = [];

export interface MockOptions {
  project?: string;
  stack?: string;
  /** Stack config as `{"opsfleet:key": "value"}` (objects JSON-encoded). */
  config?: Record<string, string>;
  /** Keys of `config` that are secrets. */
  secretKeys?: string[];
}

export async function useMocks(o: MockOptions = {}): Promise<void> {
  registered.length = 0;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push(args);
        const state = { ...args.inputs, ...computedOutputs(args) };
        return { id: mockId(args), state };
      },
      call(args) {
        return mockInvoke(args.token, args.inputs);
      },
    },
    o.project ?? "opsfleet",
    o.stack ?? "test",
    false,
  );
  usePulumiUrns();
  pulumi.runtime.setAllConfig({ "aws:region": "us-east-1", ...(o.config ?? {}) }, o.secretKeys);
}

export function resetRegistrations(): void {
  registered.length = 0;
}

/** Resolves any Input (Output or plain) to its value; works for secrets too. */
export function valueOf<T>(input: pulumi.Input<T>): Promise<T> {
  return new Promise<T>((resolve) => {
    pulumi.output(input).apply((v) => {
      resolve(v as T);
      return v;
    });
  });
}

/** Waits until every registration started so far has been sent to the mock monitor. */
export async function settle(...resources: pulumi.Resource[]): Promise<void> {
  await valueOf(pulumi.all(resources.map((r) => r.urn)));
  // registrations of children triggered by applies land a tick later
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

const SIG = pulumi.runtime.specialSigKey;
const SECRET = pulumi.runtime.specialSecretSig;

export const isSecretInput = (v: unknown): boolean =>
  !!v && typeof v === "object" && (v as Record<string, unknown>)[SIG] === SECRET;

/** Strips secret wrappers from captured mock inputs (for deep-equality asserts). */
export function unsecret(v: unknown): any {
  if (isSecretInput(v)) return unsecret((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(unsecret);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unsecret(x)]));
  return v;
}

/** Registrations of one type (e.g. "aws:ec2/instance:Instance"). */
export function ofType(type: string): Registration[] {
  return registered.filter((r) => r.type === type);
}

/** The registration with this exact name (and type, if given); throws if absent. */
export function byName(name: string, type?: string): Registration {
  const r = registered.find((x) => x.name === name && (type === undefined || x.type === type));
  if (!r) throw new Error(`no resource named ${name}${type ? ` of type ${type}` : ""}; have: ${registered.map((x) => x.name).join(", ")}`);
  return r;
}

export function expectUniqueNames(): void {
  const keys = registered.map((r) => `${r.type}::${r.name}`);
  expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
}

/** Captures resource options of every child of a component through the (inherited) transformations option. */
export class OptionsRecorder {
  readonly seen: pulumi.ResourceTransformationArgs[] = [];
  /** Pass as (part of) the component's options. */
  readonly opts: pulumi.ComponentResourceOptions = {
    transformations: [
      (a) => {
        this.seen.push(a);
        return undefined;
      },
    ],
  };
  optionsOf(name: string): pulumi.ResourceOptions {
    const a = this.seen.find((s) => s.name === name);
    if (!a) throw new Error(`no options recorded for ${name}`);
    return a.opts;
  }
  resourceOf(name: string): pulumi.Resource {
    const a = this.seen.find((s) => s.name === name);
    if (!a) throw new Error(`no resource recorded for ${name}`);
    return a.resource;
  }
}
