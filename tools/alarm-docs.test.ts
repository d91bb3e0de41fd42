import * as fs from "node:fs";
import * as path from "node:path";
import { END, renderAlarmReference, sampleAlarms, START } from "./alarm-docs";
import { ALARM_KINDS } from "../components/monitoring/alarms";

const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");

test("README's \"Operating opsfleet\" alarm tables are generated from the alarm definitions (run `npm run docs:alarms` after changing them)", () => {
  const current = readme.slice(readme.indexOf(START), readme.indexOf(END) + END.length);
  expect(current).toBe(renderAlarmReference());
});

test("every alarm a stack can create has its entry (meaning and action), and every entry is an alarm some stack creates", () => {
  const created = new Set(sampleAlarms().map((a) => a.kind));
  expect([...created].sort()).toEqual(Object.keys(ALARM_KINDS).sort());
  for (const [kind, k] of Object.entries(ALARM_KINDS)) {
    expect([kind, k.meaning.length > 20, k.action.length > 20]).toEqual([kind, true, true]);
    expect(readme).toContain(`\`<stack>-${kind}`);
  }
});
