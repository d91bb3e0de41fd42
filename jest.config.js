// Transpile-only (swc): the type-check runs once, as `tsc --noEmit`, before jest (see `npm test`).
module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.tsx?$": ["@swc/jest"] },
  testMatch: ["<rootDir>/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  modulePathIgnorePatterns: ["<rootDir>/dist/"],
  cacheDirectory: "<rootDir>/node_modules/.cache/jest",
  testTimeout: 30000,
  maxWorkers: 2,
};
