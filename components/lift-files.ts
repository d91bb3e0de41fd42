import * as pulumi from "@pulumi/pulumi";
import type { RenderedFile } from "../provision/common/types";
import type { HostFileInput } from "./host";

/**
 * Turns renderer output computed inside an `apply` into Host file inputs. Paths, modes and owners
 * must be known when the step is declared, so they come from `shape` (the same renderer run on
 * plain placeholder values); the contents come from `actual`, which keeps its secretness. A
 * renderer whose file list depends on the Output values would be a bug: that fails loudly.
 */
export function liftFiles(shape: RenderedFile[], actual: pulumi.Output<RenderedFile[]>): HostFileInput[] {
  return shape.map((f, i) => ({
    path: f.path,
    mode: f.mode,
    owner: f.owner,
    group: f.group,
    content: actual.apply((files) => {
      const got = files[i];
      if (!got || got.path !== f.path || got.mode !== f.mode || got.owner !== f.owner || got.group !== f.group) {
        throw new Error(`internal: rendered file ${i} is ${got?.path}, expected ${f.path}`);
      }
      return got.content;
    }),
  }));
}
