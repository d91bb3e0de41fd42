import { fifoQueueName } from "./queue";

/** What SQS accepts for a FIFO queue name (CreateQueue): 1-80 characters of [A-Za-z0-9_-], ending in .fifo. */
const SQS_FIFO_NAME = /^[A-Za-z0-9_-]{1,75}\.fifo$/;
const name = (component: string, role: string, project = "opsfleet", stack = "dev", org = "acme") => fifoQueueName(component, role, project, stack, org);

test("a FIFO name ends in .fifo, fits 80 characters and SQS's character set, even for a long component name with dots", () => {
  for (const component of ["web", "dev-web", "a.b.c", "x".repeat(200)])
    for (const role of ["reconcile", "reconcile-dlq"]) {
      expect(name(component, role)).toMatch(SQS_FIFO_NAME);
      expect(name(component, role).length).toBeLessThanOrEqual(80);
    }
  expect(name("dev-web", "reconcile")).toMatch(/^dev-web-reconcile-[0-9a-f]{12}\.fifo$/);
});

test("the queue and its dead-letter queue differ even when the component name is long enough to cut the role off", () => {
  const long = "web-tier-of-the-payments-platform-in-the-eu-central-production-account";
  expect(name(long, "reconcile")).not.toBe(name(long, "reconcile-dlq"));
});

test("two stacks, projects or organizations deploying the same component to one account+region get different names", () => {
  const names = [
    name("web", "reconcile"),
    name("web", "reconcile", "opsfleet", "prod"),
    name("web", "reconcile", "other", "dev"),
    name("web", "reconcile", "opsfleet", "dev", "someone-else"),
    // the readable part alone would make these two equal
    name("a.b", "reconcile"),
    name("a-b", "reconcile"),
  ];
  expect(new Set(names).size).toBe(names.length);
  expect(name("web", "reconcile")).toBe(name("web", "reconcile")); // stable: an unchanged stack keeps its queues
});
