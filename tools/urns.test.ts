import { unaccountedUrns } from "./urns";

const u = (name: string) => `urn:pulumi:prod::opsfleet::aws:ec2/instance:Instance::${name}`;

describe("URN stability check", () => {
  test("added resources are fine", () => {
    expect(unaccountedUrns([u("a")], [u("a"), u("b")], {})).toEqual([]);
  });
  test("a vanished URN fails, naming it and what to do", () => {
    expect(unaccountedUrns([u("a"), u("b")], [u("a"), u("b2")], {})).toEqual([expect.stringMatching(/::b: gone from the plan .*alias.*test\/urns\/changes.json/)]);
  });
  test("a URN carried by a recorded alias passes only while its new URN exists", () => {
    expect(unaccountedUrns([u("b")], [u("b2")], { [u("b")]: { aliasedTo: u("b2") } })).toEqual([]);
    expect(unaccountedUrns([u("b")], [u("b3")], { [u("b")]: { aliasedTo: u("b2") } })).toEqual([expect.stringMatching(/recorded as aliased to .*::b2, which is not in the plan/)]);
  });
  test("a deliberate removal is recorded with its reason", () => {
    expect(unaccountedUrns([u("old")], [], { [u("old")]: { removed: "0.2.0: the reserved-concurrency setting is gone" } })).toEqual([]);
  });
});
