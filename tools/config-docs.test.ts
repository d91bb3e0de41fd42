import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { END, renderConfigReference, START } from "./config-docs";
import { configSchema, SECRET_KEYS } from "../stacks/config/schema";

const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");

test("README's config reference is generated from the schema (run `npm run docs:config` after changing it)", () => {
  const current = readme.slice(readme.indexOf(START), readme.indexOf(END) + END.length);
  expect(current).toBe(renderConfigReference());
});

test("every config key and every secret has a description", () => {
  const json = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as any;
  const missing: string[] = [];
  const walk = (s: any, prefix: string) => {
    for (const [k, p] of Object.entries<any>(s.properties ?? {})) {
      const name = prefix ? `${prefix}.${k}` : k;
      if (!p.description) missing.push(name);
      if (p.type === "object" && p.properties) walk(p, name);
    }
  };
  walk(json, "");
  expect(missing).toEqual([]);
  for (const [k, d] of Object.entries(SECRET_KEYS)) expect(readme).toContain(`| \`opsfleet:${k}\` | ${d}`);
});
