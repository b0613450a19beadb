import type { ASTNode } from "@marcbachmann/cel-js";
import { celError, type Overrides } from "./methods.js";
import { compileRe2, findAll, type Regex, RegexSyntaxError } from "./re2.js";

/**
 * Regular expressions as the apiserver has them: CEL's `matches` and the Kubernetes regex library
 * (k8s.io/apiserver/pkg/cel/library/regex.go: find, findAll), all with Go's RE2 syntax (re2.ts),
 * and a literal pattern of `matches` checked when the expression is compiled (cel.ValidateRegexLiterals
 * in the base environment).
 */

function regex(pattern: string, prefix: string): Regex {
  try {
    return compileRe2(pattern);
  } catch (error) {
    if (error instanceof RegexSyntaxError) throw celError(`${prefix}${error.message}`);
    throw error;
  }
}

/** The message for a literal pattern that does not compile, as cel-go's validator words it. */
function invalidLiteral(name: string): (args: readonly ASTNode[]) => string | undefined {
  return ([pattern]) => {
    if (pattern?.op !== "value" || typeof pattern.args !== "string") return undefined;
    try {
      compileRe2(pattern.args);
      return undefined;
    } catch (error) {
      if (error instanceof RegexSyntaxError) return `invalid ${name} argument`;
      throw error;
    }
  };
}

function matches(text: string, pattern: string): boolean {
  return regex(pattern, "").matches(text);
}

function find(text: string, pattern: string): string {
  return regex(pattern, "Illegal regex: ").first(text) ?? "";
}

function findAllOf(text: string, pattern: string, limit: bigint): string[] {
  // Go converts the limit to an int; beyond int64 nothing here would run anyway.
  return findAll(regex(pattern, "Illegal regex: "), text, Number(limit));
}

/**
 * All replace cel-js's own or have none there; a literal pattern is compiled when the expression is
 * (the apiserver refuses one that does not compile when the policy is created).
 */
export const REGEX_METHODS: Overrides = {
  methods: {
    matches: [
      {
        receiver: "string",
        args: ["string"],
        returns: "bool",
        run: matches,
        validate: invalidLiteral("matches"),
      },
    ],
    find: [
      {
        receiver: "string",
        args: ["string"],
        returns: "string",
        run: find,
        validate: invalidLiteral("find"),
      },
    ],
    findAll: [
      {
        receiver: "string",
        args: ["string"],
        returns: "list<string>",
        run: (text: string, pattern: string) => findAllOf(text, pattern, -1n),
        validate: invalidLiteral("findAll"),
      },
      {
        receiver: "string",
        args: ["string", "int"],
        returns: "list<string>",
        run: findAllOf,
        validate: invalidLiteral("findAll"),
      },
    ],
  },
  functions: {
    matches: [
      {
        args: ["string", "string"],
        returns: "bool",
        run: matches,
        validate: (args) => invalidLiteral("matches")(args.slice(1)),
      },
    ],
  },
};
