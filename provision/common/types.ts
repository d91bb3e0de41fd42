/**
 * Plain (Output-free) descriptions of what lands on a host. Renderers in `provision/` return these;
 * `components/host.ts` lifts them over Pulumi Outputs, and the host tests pipe the very same
 * rendered scripts over SSH to local test hosts.
 */

/** One file written onto a host. */
export interface RenderedFile {
  /** Absolute path on the host. */
  path: string;
  /** Full file content. */
  content: string;
  /** Octal mode, e.g. "0644". @default "0644" */
  mode?: string;
  /** Owning user. @default "root" */
  owner?: string;
  /** Owning group. @default the owner */
  group?: string;
}

/** One ordered provisioning step: files to put in place, then a bash script to run as root. */
export interface RenderedStep {
  /** Short kebab-case name, unique per host (becomes part of the Pulumi resource name). */
  name: string;
  /** What the step does, one line (shown in the offline plan). */
  description: string;
  /** Files written (atomically, with mode/owner) before `script` runs. */
  files: RenderedFile[];
  /** Bash run as root after the files are in place. Must be idempotent. */
  script: string;
}
