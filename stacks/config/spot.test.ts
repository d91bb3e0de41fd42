import { spotConfigSchema } from "./spot";

const issuesOf = (x: unknown) => {
  const r = spotConfigSchema.safeParse(x);
  if (r.success) throw new Error(`expected ${JSON.stringify(x)} to be refused`);
  return r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
};

test("an empty section is a complete, cheap default: fleet of 2 t3-class instances, 10-minute window", () => {
  expect(spotConfigSchema.parse({})).toEqual({
    spotSource: "fleet", targetCapacity: 2, instanceTypes: ["t3.micro", "t3a.micro", "t2.micro"], stabilizationSeconds: 600, rebalanceCountsAsLost: false,
    rootVolumeSizeGb: 8, healthCheckPath: "/health", deregistrationDelaySeconds: 30, ingressCidrs: ["0.0.0.0/0"], maxEventAgeSeconds: 300, logRetentionDays: 30,
  });
});

test("fleet options get their defaults when given", () => {
  expect(spotConfigSchema.parse({ fleet: {} }).fleet).toEqual({ allocationStrategy: "priceCapacityOptimized", onDemandTargetCapacity: 0 });
});

test("fleet.validUntil in the form AWS stores, in the future, is accepted unchanged", () => {
  expect(spotConfigSchema.parse({ fleet: { validUntil: "2099-01-01T00:00:00Z" } }).fleet?.validUntil).toBe("2099-01-01T00:00:00Z");
});

test.each<[unknown, string, RegExp]>([
  [{ spotSource: "ondemand" }, "spotSource", /fleet|asg/],
  [{ targetCapacity: 0 }, "targetCapacity", /at least 1/],
  [{ targetCapacity: 2.5 }, "targetCapacity", /whole number/],
  [{ instanceTypes: [] }, "instanceTypes", /at least one/],
  [{ instanceTypes: ["t3.micro", "large"] }, "instanceTypes.1", /instance type/],
  [{ instanceTypes: ["t3.micro", "t3.micro"] }, "instanceTypes", /twice/],
  [{ instanceTypes: ["t3.micro", "t4g.micro"] }, "instanceTypes", /one architecture/],
  [{ instanceTypes: ["a1.medium", "t3.micro"] }, "instanceTypes", /a1.medium \(arm64\), t3.micro \(x86_64\).*one architecture/],
  [{ spotSource: "asg", fleet: { allocationStrategy: "lowestPrice" } }, "fleet", /only applies with spotSource: fleet/],
  [{ fleet: { allocationStrategy: "cheapest" } }, "fleet.allocationStrategy", /priceCapacityOptimized/],
  [{ fleet: { instancePoolsToUseCount: 2 } }, "fleet.instancePoolsToUseCount", /only applies with allocationStrategy lowestPrice/],
  [{ targetCapacity: 2, fleet: { onDemandTargetCapacity: 2 } }, "fleet.onDemandTargetCapacity", /less than targetCapacity \(2\)/],
  [{ fleet: { spotMaxPrice: "$1" } }, "fleet.spotMaxPrice", /USD price/],
  // Each refusal names its own reason (the allowed form is in every message; the reason after the value).
  [{ fleet: { validUntil: "next year" } }, "fleet.validUntil", /"next year": it is not a time in the form YYYY-MM-DDTHH:MM:SSZ$/],
  // AWS stores validUntil back as UTC to the second: any other form would replace the fleet on every up.
  [{ fleet: { validUntil: "2099-01-01T00:00:00.000Z" } }, "fleet.validUntil", /"2099-01-01T00:00:00.000Z": it has fractional seconds/],
  [{ fleet: { validUntil: "2099-01-01T02:00:00+02:00" } }, "fleet.validUntil", /"2099-01-01T02:00:00\+02:00": it has a UTC offset/],
  [{ fleet: { validUntil: "2099-02-30T00:00:00Z" } }, "fleet.validUntil", /"2099-02-30T00:00:00Z": it is not a calendar time/],
  [{ fleet: { bidPrice: "0.1" } }, "fleet", /bidPrice|Unrecognized/i],
  [{ stabilizationSeconds: -1 }, "stabilizationSeconds", /at least 0/],
  [{ deregistrationDelaySeconds: 300 }, "deregistrationDelaySeconds", /at most 90/],
  [{ healthCheckPath: "health" }, "healthCheckPath", /absolute path/],
  // The page is written as root at /var/www/html<path>: dot segments would leave the web root.
  [{ healthCheckPath: "/.." }, "healthCheckPath", /no \. or \.\. segment.*got "\/\.\.": it has a "\.\." segment/],
  [{ healthCheckPath: "/../../etc/cron.d/x" }, "healthCheckPath", /"\.\." segment/],
  [{ healthCheckPath: "/a/./b" }, "healthCheckPath", /"\." segment/],
  [{ healthCheckPath: "/health/" }, "healthCheckPath", /no trailing \//],
  [{ healthCheckPath: "/a//b" }, "healthCheckPath", /absolute path/],
  // A past time: the request expired (cancelled); a refresh drops it and AWS refuses to create one with it.
  [{ fleet: { validUntil: "2020-01-01T00:00:00Z" } }, "fleet.validUntil", /"2020-01-01T00:00:00Z": it is in the past .*Set a later time or remove fleet.validUntil/],
  [{ certificateArn: "my-cert" }, "certificateArn", /ACM certificate ARN/],
  [{ dns: { zoneId: "Z123", name: "not a name" } }, "dns.name", /DNS name/],
  [{ ingressCidrs: ["10.0.0.1/8"] }, "ingressCidrs.0", /CIDR/],
  [{ maxEventAgeSeconds: 10 }, "maxEventAgeSeconds", /at least 60/],
  [{ logRetentionDays: 10 }, "logRetentionDays", /retention in days: 1, 3, 5/],
  [{ targetCapcity: 3 }, "", /targetCapcity|Unrecognized/i],
])("%j is refused at %s", (input, path, message) => {
  expect(issuesOf(input)).toContainEqual({ path, message: expect.stringMatching(message) });
});
