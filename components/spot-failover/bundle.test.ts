import { bundleReconciler, reconcilerEntry } from "./bundle";

test("the bundle is deterministic (no spurious Lambda updates) and self-contained but for the runtime's AWS SDK", () => {
  const a = bundleReconciler();
  expect(bundleReconciler()).toBe(a);
  expect(a).toMatch(/require\("@aws-sdk\/client-ec2"\)/);
  expect(a).not.toMatch(/require\("@aws-lambda-powertools/); // bundled, not expected from the runtime
  expect(a).not.toMatch(/require\("\.\.?\//); // no relative imports left
});

test("a missing handler source is a clear error naming where it looked", () => {
  expect(() => reconcilerEntry(["/nowhere/handler.ts", "/nowhere/handler.js"])).toThrow("spot reconciler source not found; looked for /nowhere/handler.ts, /nowhere/handler.js");
  expect(reconcilerEntry()).toMatch(/functions\/spot-reconciler\/handler\.ts$/);
});
