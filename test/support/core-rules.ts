import { containerLimitsMissing } from "../../src/rules/container-limits-missing.js";
import { containerRequestsMissing } from "../../src/rules/container-requests-missing.js";
import { defaultServiceAccount } from "../../src/rules/default-service-account.js";
import { buildRegistry } from "../../src/rules/index.js";
import { privilegedContainer } from "../../src/rules/privileged-container.js";
import { rbacWildcard } from "../../src/rules/rbac-wildcard.js";
import { runAsRoot } from "../../src/rules/run-as-root.js";
import type { Rule } from "../../src/rules/types.js";

/**
 * The six first rules only, so that tests of the server's wire format can assert exact
 * messages without changing each time the catalog grows.
 */
export const CORE_RULES = buildRegistry(
  [
    containerRequestsMissing,
    containerLimitsMissing,
    privilegedContainer,
    runAsRoot,
    defaultServiceAccount,
    rbacWildcard,
  ].map((rule) => rule as unknown as Rule),
);
