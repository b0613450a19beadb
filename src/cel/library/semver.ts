import type { Environment } from "@marcbachmann/cel-js";
import { goQuote } from "./goText.js";
import { celError } from "./methods.js";

/**
 * The apiserver's semver library at version 1 (k8s.io/apiserver/pkg/cel/library/semverlib.go, in
 * the base environment since 1.33): semver(), isSemver() (both with the normalizing variant),
 * major(), minor(), patch(), compareTo(), isGreaterThan(), isLessThan() and ==, over a port of
 * github.com/blang/semver/v4's Parse and Compare.
 */

const NUMBERS = /^[0-9]*$/;
const ALPHANUMERIC = /^[A-Za-z0-9-]*$/;
const UINT64_MAX = 2n ** 64n - 1n;

type Prerelease = bigint | string;

export class Semver {
  constructor(
    readonly major: bigint,
    readonly minor: bigint,
    readonly patch: bigint,
    readonly pre: readonly Prerelease[],
  ) {}

  /** semver.Version.Compare: build metadata is ignored. */
  compare(other: Semver): number {
    for (const [a, b] of [
      [this.major, other.major],
      [this.minor, other.minor],
      [this.patch, other.patch],
    ] as const) {
      if (a !== b) return a > b ? 1 : -1;
    }
    if (this.pre.length === 0 || other.pre.length === 0) {
      return this.pre.length === other.pre.length ? 0 : this.pre.length === 0 ? 1 : -1;
    }
    for (let i = 0; i < Math.min(this.pre.length, other.pre.length); i++) {
      const comparison = comparePrerelease(this.pre[i]!, other.pre[i]!);
      if (comparison !== 0) return comparison;
    }
    return Math.sign(this.pre.length - other.pre.length);
  }

  equals(other: Semver): boolean {
    return this.compare(other) === 0;
  }
}

function comparePrerelease(a: Prerelease, b: Prerelease): number {
  if (typeof a === "bigint" && typeof b === "bigint") return a === b ? 0 : a > b ? 1 : -1;
  if (typeof a === "bigint") return -1;
  if (typeof b === "bigint") return 1;
  return a === b ? 0 : a > b ? 1 : -1;
}

/** strconv.ParseUint(text, 10, 64), with its error. */
function parseUint(text: string): bigint {
  if (!/^[0-9]+$/.test(text)) throw celError(`strconv.ParseUint: parsing ${goQuote(text)}: invalid syntax`);
  const value = BigInt(text);
  if (value > UINT64_MAX) throw celError(`strconv.ParseUint: parsing ${goQuote(text)}: value out of range`);
  return value;
}

function versionNumber(text: string, name: string): bigint {
  if (!NUMBERS.test(text)) throw celError(`Invalid character(s) found in ${name} number ${goQuote(text)}`);
  if (text.length > 1 && text[0] === "0") {
    const capitalized = name[0]!.toUpperCase() + name.slice(1);
    throw celError(`${capitalized} number must not contain leading zeroes ${goQuote(text)}`);
  }
  return parseUint(text);
}

/** semver.Parse. */
export function parseSemver(text: string): Semver {
  if (text === "") throw celError("Version string empty");
  const dot = text.indexOf(".");
  const second = dot < 0 ? -1 : text.indexOf(".", dot + 1);
  if (second < 0) throw celError("No Major.Minor.Patch elements found");
  const major = versionNumber(text.slice(0, dot), "major");
  const minor = versionNumber(text.slice(dot + 1, second), "minor");
  let patch = text.slice(second + 1);
  let build: string[] = [];
  let pre: string[] = [];
  const plus = patch.indexOf("+");
  if (plus >= 0) {
    build = patch.slice(plus + 1).split(".");
    patch = patch.slice(0, plus);
  }
  const dash = patch.indexOf("-");
  if (dash >= 0) {
    pre = patch.slice(dash + 1).split(".");
    patch = patch.slice(0, dash);
  }
  const patchNumber = versionNumber(patch, "patch");
  const prerelease = pre.map((part): Prerelease => {
    if (part === "") throw celError("Prerelease is empty");
    if (NUMBERS.test(part)) {
      if (part.length > 1 && part[0] === "0") {
        throw celError(`Numeric PreRelease version must not contain leading zeroes ${goQuote(part)}`);
      }
      return parseUint(part);
    }
    if (!ALPHANUMERIC.test(part)) throw celError(`Invalid character(s) found in prerelease ${goQuote(part)}`);
    return part;
  });
  for (const part of build) {
    if (part === "") throw celError("Build meta data is empty");
    if (!ALPHANUMERIC.test(part))
      throw celError(`Invalid character(s) found in build meta data ${goQuote(part)}`);
  }
  return new Semver(major, minor, patchNumber, prerelease);
}

/** The library's normalizeAndParse: `v` prefix, leading zeros and missing parts forgiven. */
function normalizeAndParse(text: string): Semver {
  const trimmed = text.startsWith("v") ? text.slice(1) : text;
  const first = trimmed.indexOf(".");
  const second = first < 0 ? -1 : trimmed.indexOf(".", first + 1);
  const parts =
    first < 0
      ? [trimmed]
      : second < 0
        ? [trimmed.slice(0, first), trimmed.slice(first + 1)]
        : [trimmed.slice(0, first), trimmed.slice(first + 1, second), trimmed.slice(second + 1)];
  for (let i = 0; i < parts.length; i++) {
    let part = parts[i]!;
    if (part.length > 1) {
      part = part.replace(/^0+/, "");
      if (part === "" || !/[0-9]/.test(part[0]!)) part = `0${part}`;
      parts[i] = part;
    }
  }
  if (parts.length < 3) {
    if (/[+-]/.test(parts[parts.length - 1]!))
      throw celError("short version cannot contain PreRelease/Build meta data");
    while (parts.length < 3) parts.push("0");
  }
  return parseSemver(parts.join("."));
}

function parse(text: string, normalize: boolean): Semver {
  return normalize ? normalizeAndParse(text) : parseSemver(text);
}

function valid(text: string, normalize: boolean): boolean {
  try {
    parse(text, normalize);
    return true;
  } catch {
    return false;
  }
}

/** cel-go's types.Int(uint64): values beyond int64 wrap, as Go's conversion does. */
function toInt(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}

export function registerSemver(env: Environment): void {
  env.registerType("kubernetes.Semver", Semver);
  env.registerFunction("semver(string): kubernetes.Semver", (text: string) => parse(text, false));
  env.registerFunction("semver(string, bool): kubernetes.Semver", parse);
  env.registerFunction("isSemver(string): bool", (text: string) => valid(text, false));
  env.registerFunction("isSemver(string, bool): bool", valid);
  env.registerFunction("kubernetes.Semver.major(): int", (v: Semver) => toInt(v.major));
  env.registerFunction("kubernetes.Semver.minor(): int", (v: Semver) => toInt(v.minor));
  env.registerFunction("kubernetes.Semver.patch(): int", (v: Semver) => toInt(v.patch));
  env.registerFunction("kubernetes.Semver.compareTo(kubernetes.Semver): int", (a: Semver, b: Semver) =>
    BigInt(a.compare(b)),
  );
  env.registerFunction(
    "kubernetes.Semver.isGreaterThan(kubernetes.Semver): bool",
    (a: Semver, b: Semver) => a.compare(b) === 1,
  );
  env.registerFunction(
    "kubernetes.Semver.isLessThan(kubernetes.Semver): bool",
    (a: Semver, b: Semver) => a.compare(b) === -1,
  );
  env.registerOperator("kubernetes.Semver == kubernetes.Semver", (a: Semver, b: Semver) => a.equals(b));
}
