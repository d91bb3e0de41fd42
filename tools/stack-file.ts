/** Reads a Pulumi YAML file (project or stack) for the offline tools, with errors a user can act on. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";

export class StackFileError extends Error {}

/**
 * Parses `file`; a YAML error becomes one line naming the file, the line and column, and the problem
 * (e.g. `Pulumi.qa.yaml:12:3: Map keys must be unique ("opsfleet:redis" is set twice)`), not a stack trace.
 * `text`: the file's content when it comes from elsewhere (e.g. a git revision).
 */
export function readYamlFile(file: string, text = fs.readFileSync(file, "utf8")): unknown {
  try {
    return parseYaml(text);
  } catch (e) {
    if (!(e instanceof YAMLParseError)) throw e;
    const at = e.linePos?.[0];
    const where = at ? `${path.basename(file)}:${at.line}:${at.col}` : path.basename(file);
    const problem = e.message.split(" at line ")[0];
    const key = at && e.code === "DUPLICATE_KEY" ? /^\s*([^:#\s][^#]*?):(\s|$)/.exec(text.split("\n")[at.line - 1] ?? "")?.[1] : undefined;
    throw new StackFileError(`${where}: ${problem}${key ? ` (${JSON.stringify(key)} is set twice; keep one)` : ""}`);
  }
}
