import { defineConfig } from "vitest/config";

/**
 * The tests `npm run mutation` runs against each mutant of src/rules and src/engine: the fast unit
 * tests that reach them in-process. Servers, TLS, config reload and the CLI end to end stay out, so
 * that a mutant costs a fraction of a second.
 */
export default defineConfig({
  test: {
    include: [
      "test/rules/**/*.test.ts",
      "test/engine/**/*.test.ts",
      "test/vap/**/*.test.ts",
      "test/admission/**/*.test.ts",
      "test/cli/rules.test.ts",
      "test/k8s/webhookConfig.test.ts",
      "test/k8s/facts.test.ts",
      "test/reliability/rules.test.ts",
      "test/reliability/bounds.test.ts",
      "test/reliability/unfinished.test.ts",
    ],
    testTimeout: 20_000,
  },
});
