/** README and docs/*.md say what the program does: rules quoted from the code, steps that match the stack files. */
import * as fs from "node:fs";
import * as path from "node:path";
import { PASSWORD, PASSWORD_RULE } from "../../stacks/config/schema";

const ROOT = path.join(__dirname, "..", "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
/** Markdown wraps lines: compare with whitespace runs collapsed. */
const flat = (s: string) => s.replace(/\s+/g, " ");

/** Text of a numbered step of README's "Deploying for real". */
function deployStep(n: number): string {
  const section = read("README.md").split("## Deploying for real")[1].split("\n## ")[0];
  const m = new RegExp(`\\n${n}\\. ([\\s\\S]*?)(?=\\n${n + 1}\\. |$)`).exec(section);
  if (!m) throw new Error(`README has no deploy step ${n}`);
  return flat(m[1]);
}

describe("the stack's password rule", () => {
  test("docs/redis.md quotes the rule the loader enforces", () => {
    expect(flat(read("docs/redis.md"))).toContain(PASSWORD_RULE);
  });

  test("the rule in words is the PASSWORD pattern", () => {
    const m = /^(\d+)-(\d+) characters from A-Z a-z 0-9 and (\S+) \(no /.exec(PASSWORD_RULE);
    if (!m) throw new Error(`unexpected rule text: ${PASSWORD_RULE}`);
    const [min, max, specials] = [Number(m[1]), Number(m[2]), m[3]];
    for (let c = 0x20; c < 0x7f; c++) {
      const ch = String.fromCharCode(c);
      const listed = /[A-Za-z0-9]/.test(ch) || specials.includes(ch);
      expect([ch, PASSWORD.test(ch.repeat(min))]).toEqual([ch, listed]);
    }
    expect([PASSWORD.test("a".repeat(min - 1)), PASSWORD.test("a".repeat(max)), PASSWORD.test("a".repeat(max + 1))]).toEqual([false, true, false]);
  });
});

describe("README's deploy steps", () => {
  /** Keys of the shipped stack files' `# replace` lines, as dotted paths without the namespace. */
  function replaceKeys(file: string): string[] {
    const stack: { indent: number; key: string }[] = [];
    const keys: string[] = [];
    for (const line of read(file).split("\n")) {
      const m = /^(\s*)(- )?([\w:.-]+):/.exec(line) ?? /^(\s*)(- )/.exec(line);
      if (!m) continue;
      const indent = m[1].length;
      const isItem = m[2] !== undefined;
      if (!isItem) {
        while (stack.length && stack[stack.length - 1].indent >= indent) stack.pop();
        stack.push({ indent, key: m[3] });
      }
      if (/#\s*replace/.test(line)) keys.push(stack.slice(1).map((s) => s.key.replace(/^opsfleet:/, "")).join("."));
    }
    return keys;
  }

  test("step 4 names the region and every value the shipped stack files mark `# replace`", () => {
    const step = deployStep(4);
    expect(step).toContain("aws:region");
    const keys = [...new Set(["dev", "staging", "prod"].flatMap((s) => replaceKeys(`Pulumi.${s}.yaml`)))];
    expect(keys).toEqual(expect.arrayContaining(["adminCidrs", "ssh.publicKey", "spot.certificateArn", "spot.dns", "network.vpcId"]));
    for (const k of keys) expect([k, step.includes(`\`${k}\``)]).toEqual([k, true]);
  });
});
