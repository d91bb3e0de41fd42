import { asgTagList, previousTagSuffix, tagResourceSuffix } from "./asg-tags";

test("distinct tag keys always get distinct Tag resource names (no Pulumi URN collision)", () => {
  const keys = ["opsfleet:component", "opsfleet-component", "opsfleet.component", "opsfleet_component", "cost center", "cost-center", "Name", "name", "a:b", "a-b"];
  const names = keys.map(tagResourceSuffix);
  expect(new Set(names).size).toBe(keys.length);
  for (const n of names) expect(n).toMatch(/^[A-Za-z0-9_-]+$/);
  expect(tagResourceSuffix("Name")).toBe("Name"); // a plain key is its own name
  expect(tagResourceSuffix("opsfleet:component")).toMatch(/^opsfleet-component_[0-9a-f]{8}$/);
});

test("a user tag Name does not give a group two Name tags: the group's own name wins", () => {
  const list = asgTagList({ Name: "mine", team: "web" }, "dev-web-ondemand");
  expect(list).toEqual([
    { key: "Name", value: "dev-web-ondemand", propagateAtLaunch: true },
    { key: "team", value: "web", propagateAtLaunch: true },
  ]);
});

test("a Tag renamed by the distinct-name rule keeps its resource (alias to its previous name) unless that name was shared", () => {
  const keys = ["opsfleet:stack", "opsfleet:component", "team", "cost center"];
  expect(previousTagSuffix("opsfleet:stack", keys)).toBe("opsfleet-stack");
  expect(previousTagSuffix("cost center", keys)).toBe("cost-center");
  expect(previousTagSuffix("team", keys)).toBeUndefined(); // its name did not change
  // both read "opsfleet-component" before: Pulumi held one of them only, so neither claims it
  expect(previousTagSuffix("opsfleet:component", [...keys, "opsfleet-component"])).toBeUndefined();
});
