import { recoveryProblem, supportsRecovery } from "./instance-recovery";

test("EC2 recovery: EBS-only types yes; instance store, metal and Mac types no", () => {
  for (const t of ["t3.medium", "m5.large", "r6g.large", "c6gn.xlarge", "m7i-flex.large", "c5n.large", "t4g.small", "r5b.large"]) expect([t, supportsRecovery(t)]).toEqual([t, true]);
  for (const t of ["m5d.large", "r6gd.large", "i3.large", "c5d.xlarge", "c5ad.large", "m6idn.large", "x2iedn.xlarge", "z1d.large", "i4i.large", "d3.xlarge", "m5.metal", "c6g.metal", "mac2.metal", "g4dn.xlarge"]) {
    expect([t, supportsRecovery(t)]).toEqual([t, false]);
  }
  expect(recoveryProblem("m5d.large")).toBe("family m5d has instance store volumes, which recovery does not support");
  expect(recoveryProblem("m5.metal")).toBe("bare metal types are not recoverable");
});
