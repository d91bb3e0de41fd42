import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkFile, contentHash, renderStepScript } from "./step-script";

const me = os.userInfo().username;
const run = (script: string) => execFileSync("bash", ["-s"], { input: script, encoding: "utf8" });

describe("renderStepScript (run for real with bash)", () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-step-")); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const step = (content: string) => renderStepScript({
    name: "t",
    files: [{ path: `${dir}/conf.d/app.conf`, content, mode: "0640", owner: me }],
    script: 'echo "changed:[${OPSFLEET_CHANGED}]"',
  });

  test("writes content and mode, reports the change once, then nothing on a re-run", () => {
    const content = "requirepass it's \"quoted\" $HOME `x`\n\u00e9\n";
    expect(run(step(content))).toBe(`changed:[ ${dir}/conf.d/app.conf]\n`);
    expect(fs.readFileSync(`${dir}/conf.d/app.conf`, "utf8")).toBe(content);
    expect((fs.statSync(`${dir}/conf.d/app.conf`).mode & 0o777).toString(8)).toBe("640");
    expect(run(step(content))).toBe("changed:[]\n");
    expect(run(step(content + "x"))).toBe(`changed:[ ${dir}/conf.d/app.conf]\n`);
    expect(fs.readdirSync(`${dir}/conf.d`)).toEqual(["app.conf"]); // no temp files left
  });

  test("keeps the mode of an existing directory", () => {
    fs.mkdirSync(`${dir}/conf.d`, { mode: 0o2770 });
    fs.chmodSync(`${dir}/conf.d`, 0o2770);
    run(step("a\n"));
    expect((fs.statSync(`${dir}/conf.d`).mode & 0o7777).toString(8)).toBe("2770");
  });

  test("content travels base64-encoded: no file content appears as shell text", () => {
    expect(step("SECRET-VALUE-123")).not.toContain("SECRET-VALUE-123");
  });

  test("a failing script fails the step (set -e)", () => {
    expect(() => run(renderStepScript({ name: "f", files: [], script: "false\necho after" }))).toThrow();
  });

  test("rejects unsafe paths, modes and owners", () => {
    expect(() => checkFile({ path: "/etc/../root/x", content: "" })).toThrow(/unsafe file path/);
    expect(() => checkFile({ path: "/etc/a b", content: "" })).toThrow(/unsafe file path/);
    expect(() => checkFile({ path: "/etc/a", content: "", mode: "777x" })).toThrow(/bad mode/);
    expect(() => checkFile({ path: "/etc/a", content: "", owner: "root;rm" })).toThrow(/bad owner/);
  });

  test("contentHash changes with any part", () => {
    expect(contentHash("a", "b")).not.toBe(contentHash("ab"));
    expect(contentHash("a")).toBe(contentHash("a"));
  });
});
