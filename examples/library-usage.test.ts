import * as fs from "node:fs";
import * as path from "node:path";

test("README's library example is the type-checked examples/library-usage.ts", () => {
  const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
  const example = fs.readFileSync(path.join(__dirname, "library-usage.ts"), "utf8").split("\n").slice(1).join("\n");
  expect(readme).toContain("```ts\n" + example.replace('from "../index";', 'from "opsfleet";') + "```");
});
