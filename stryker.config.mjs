// Mutation testing of the rules and the engine: `npm run mutation`. Not part of CI or test:all.
// Reports go to reports/mutation/ (gitignored).
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts" },
  mutate: ["src/rules/**/*.ts", "src/engine/**/*.ts"],
  ignorePatterns: ["dist", "dist-e2e", "coverage", "certs", "test/e2e", ".bench", ".soak", "reports"],
  coverageAnalysis: "perTest",
  concurrency: 2,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  // `npm run mutation -- --incremental` re-runs only the mutants whose code or covering tests changed.
  incrementalFile: "reports/mutation/stryker-incremental.json",
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  thresholds: { high: 90, low: 75, break: null },
};
