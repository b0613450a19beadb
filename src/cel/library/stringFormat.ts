import type { ASTNode, Environment, TypeDeclaration } from "@marcbachmann/cel-js";
import { Duration, UnsignedInt } from "@marcbachmann/cel-js/evaluator";
import {
  compareCodePoints,
  goFixed,
  goFormatG,
  goFormatShortestFixed,
  goQuote,
  localizedFixed,
  localizedScientific,
} from "./goText.js";
import { listItems, mapEntries, typeNameOf, typeValueName } from "./kinds.js";
import {
  celError,
  type Checker,
  type Evaluator,
  type Macro,
  type MacroCall,
  registerMacro,
  type Scope,
} from "./methods.js";

/**
 * `<string>.format(<list>)` as the apiserver has it: cel-go's strings extension at version 2, whose
 * formatter (the first one, formatting.go) renders `%s` of lists and maps as CEL literals, `%f` and
 * `%e` through x/text's en-US printer, and checks a literal format string against a literal argument
 * list when the expression is compiled.
 */

class FormatError extends Error {}

interface Clauses<T> {
  string(arg: T): string;
  decimal(arg: T): string;
  fixed(precision: number | undefined): (arg: T) => string;
  scientific(precision: number | undefined): (arg: T) => string;
  binary(arg: T): string;
  hex(upper: boolean): (arg: T) => string;
  octal(arg: T): string;
}

interface Arguments<T> {
  arg(index: number): T;
  readonly size: number;
}

/** Go reads the clause byte by byte: a non-ASCII letter shows as the rune of its first UTF-8 byte. */
function clauseLetter(text: string, at: number): string {
  const byte = new TextEncoder().encode(String.fromCodePoint(text.codePointAt(at)!))[0]!;
  return String.fromCharCode(byte);
}

function parsePrecision(text: string, start: number): { next: number; precision: number | undefined } {
  if (text[start] !== ".") return { next: start, precision: undefined };
  let at = start + 1;
  let digits = "";
  for (;;) {
    if (at >= text.length) {
      throw new FormatError("error while parsing precision: could not find end of precision specifier");
    }
    if (!/[0-9]/.test(text[at]!)) break;
    digits += text[at];
    at++;
  }
  const invalid = digits === "" ? "invalid syntax" : digits.length > 18 ? "value out of range" : undefined;
  if (invalid !== undefined) {
    throw new FormatError(
      `error while parsing precision: error while converting precision to integer: strconv.Atoi: parsing ${goQuote(digits)}: ${invalid}`,
    );
  }
  return { next: at, precision: Number(digits) };
}

/** One clause after its `%`: how many characters it took and the text it makes. */
function formatClause<T>(text: string, start: number, arg: T, clauses: Clauses<T>): [number, string] {
  let parsed: { next: number; format: (arg: T) => string };
  try {
    const { next, precision } = parsePrecision(text, start);
    if (next >= text.length) throw new FormatError(`unrecognized formatting clause ""`);
    const letter = text[next]!;
    const formats: Record<string, (arg: T) => string> = {
      s: (a) => clauses.string(a),
      d: (a) => clauses.decimal(a),
      f: clauses.fixed(precision),
      e: clauses.scientific(precision),
      b: (a) => clauses.binary(a),
      x: clauses.hex(false),
      X: clauses.hex(true),
      o: (a) => clauses.octal(a),
    };
    const format = formats[letter];
    if (format === undefined) {
      throw new FormatError(`unrecognized formatting clause ${goQuote(clauseLetter(text, next))}`);
    }
    parsed = { next: next + 1, format };
  } catch (error) {
    if (error instanceof FormatError)
      throw new FormatError(`could not parse formatting clause: ${error.message}`);
    throw error;
  }
  try {
    return [parsed.next, parsed.format(arg)];
  } catch (error) {
    if (error instanceof FormatError) throw new FormatError(`error during formatting: ${error.message}`);
    throw error;
  }
}

/** cel-go's parseFormatString: `%%` is a percent sign, every other `%` takes the next argument. */
function interpolate<T>(text: string, clauses: Clauses<T>, args: Arguments<T>): string {
  let out = "";
  let argIndex = 0;
  for (let at = 0; at < text.length;) {
    if (text[at] !== "%") {
      out += text[at];
      at++;
      continue;
    }
    if (text[at + 1] === "%") {
      out += "%";
      at += 2;
      continue;
    }
    const arg = args.arg(argIndex);
    if (at + 1 >= text.length) throw new FormatError("unexpected end of string");
    if (argIndex >= args.size) throw new FormatError(`index ${argIndex} out of range`);
    const [next, formatted] = formatClause(text, at + 1, arg, clauses);
    out += formatted;
    at = next;
    argIndex++;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Formatting values (evaluation).

const STRING_CLAUSE =
  "string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, types, durations, and timestamps, was given";

function utf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(
      `could not convert argument ${goQuote("invalid UTF-8 in bytes, cannot convert to string")} to string`,
    );
  }
}

function timestampText(value: Date): string {
  // RFC 3339 with the fraction's trailing zeros dropped (Go's RFC3339Nano); cel-js keeps UTC.
  return value.toISOString().replace(/\.?0*Z$/, "Z");
}

function durationText(value: Duration): string {
  const nanos = value.seconds * 1_000_000_000n + BigInt(value.nanos);
  return `${goFormatShortestFixed(Number(nanos) / 1e9)}s`;
}

function integerText(value: unknown): string | undefined {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof UnsignedInt) return value.valueOf().toString();
  return undefined;
}

class ValueClauses implements Clauses<unknown> {
  constructor(private readonly evaluator: Evaluator) {}

  private typeName(value: unknown): string {
    return typeNameOf(value, this.evaluator);
  }

  /** cel-go's FormatString: the value as text, a list or map as a CEL literal. */
  string(value: unknown): string {
    switch (this.typeName(value)) {
      case "list":
        return this.list(value as unknown[]);
      case "map":
        return this.map(value as object);
      case "null_type":
        return "null";
      case "string":
        return value as string;
      case "bool":
        return String(value);
      case "int":
      case "uint":
        return integerText(value)!;
      case "double":
        return goFormatG(value as number);
      case "bytes":
        return utf8(value as Uint8Array);
      case "google.protobuf.Timestamp":
        return timestampText(value as Date);
      case "google.protobuf.Duration":
        return durationText(value as Duration);
      case "type":
        return typeValueName(value as { name: string });
      default:
        throw new FormatError(`${STRING_CLAUSE} ${this.typeName(value)}`);
    }
  }

  /** A list or map member: text that reads back as the same CEL literal. */
  private member(value: unknown): string {
    const type = this.typeName(value);
    switch (type) {
      case "int":
      case "uint":
        return integerText(value)!;
      case "string":
        return goQuote(value as string);
      case "bytes":
        return `b${goQuote(utf8(value as Uint8Array))}`;
      case "bool":
      case "null_type":
      case "type":
        return this.string(value);
      case "google.protobuf.Timestamp":
        return `timestamp(${goQuote(timestampText(value as Date))})`;
      case "google.protobuf.Duration":
        return `duration(${goQuote(durationText(value as Duration))})`;
      case "list":
        return this.list(value as unknown[]);
      case "map":
        return this.map(value as object);
      case "double": {
        const text = goFixed(value as number, 6);
        return Number.isFinite(value) ? text : goQuote(text);
      }
      default:
        throw new FormatError(`no formatting function for ${type}`);
    }
  }

  private list(value: readonly unknown[] | ReadonlySet<unknown>): string {
    return `[${listItems(value)
      .map((item) => this.member(item))
      .join(", ")}]`;
  }

  private map(value: object): string {
    const pairs = mapEntries(value).map(([key, item]) => {
      const keyType = this.typeName(key);
      let keyText: string;
      if (keyType === "string") keyText = goQuote(key as string);
      else if (keyType === "bool") keyText = String(key);
      else if (keyType === "int" || keyType === "uint") keyText = integerText(key)!;
      else throw new FormatError(`no formatting function for map key of type ${keyType}`);
      return [keyText, this.member(item)] as const;
    });
    pairs.sort((a, b) => compareCodePoints(a[0], b[0]));
    return `{${pairs.map(([key, item]) => `${key}:${item}`).join(", ")}}`;
  }

  decimal(value: unknown): string {
    const text = integerText(value);
    if (text === undefined) {
      throw new FormatError(`decimal clause can only be used on integers, was given ${this.typeName(value)}`);
    }
    return text;
  }

  /** A double, or one of the strings that name the special doubles. */
  private double(value: unknown, clause: string): number {
    if (typeof value === "number") return value;
    if (value === "NaN") return NaN;
    if (value === "Infinity") return Infinity;
    if (value === "-Infinity") return -Infinity;
    throw new FormatError(`${clause} clause can only be used on doubles, was given ${this.typeName(value)}`);
  }

  fixed(precision: number | undefined): (value: unknown) => string {
    return (value) => localizedFixed(this.double(value, "fixed-point"), precision ?? 6);
  }

  scientific(): (value: unknown) => string {
    return (value) => localizedScientific(this.double(value, "scientific"));
  }

  binary(value: unknown): string {
    if (typeof value === "boolean") return value ? "1" : "0";
    if (typeof value === "bigint") return value.toString(2);
    if (value instanceof UnsignedInt) return value.valueOf().toString(2);
    throw new FormatError(
      `only integers and bools can be formatted as binary, was given ${this.typeName(value)}`,
    );
  }

  hex(upper: boolean): (value: unknown) => string {
    return (value) => {
      let text: string;
      if (typeof value === "bigint") text = value.toString(16);
      else if (value instanceof UnsignedInt) text = value.valueOf().toString(16);
      else if (typeof value === "string" || value instanceof Uint8Array) {
        const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
        text = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      } else {
        throw new FormatError(
          `only integers, byte buffers, and strings can be formatted as hex, was given ${this.typeName(value)}`,
        );
      }
      return upper ? text.toUpperCase() : text;
    };
  }

  octal(value: unknown): string {
    if (typeof value === "bigint") return value.toString(8);
    if (value instanceof UnsignedInt) return value.valueOf().toString(8);
    throw new FormatError(`octal clause can only be used on integers, was given ${this.typeName(value)}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Checking a literal format string against a literal list (compilation).

/** The name cel-go's checker gives a static type; `dyn` for what is only known when evaluating. */
function staticTypeName(type: TypeDeclaration): string {
  switch (type.kind) {
    case "dyn":
    case "param":
      return "dyn";
    case "list":
    case "map":
      return type.kind;
    case "optional":
      return "optional_type";
    default:
      return typeValueName(type);
  }
}

const STRING_KINDS = new Set([
  "list",
  "map",
  "int",
  "uint",
  "double",
  "bool",
  "string",
  "google.protobuf.Timestamp",
  "bytes",
  "google.protobuf.Duration",
  "type",
  "null_type",
]);

class TypeClauses implements Clauses<ASTNode> {
  constructor(private readonly typeOf: (node: ASTNode) => TypeDeclaration) {}

  private name(node: ASTNode): string {
    return staticTypeName(this.typeOf(node));
  }

  private oneOf(node: ASTNode, names: readonly string[], error: string): string {
    const name = this.name(node);
    if (name !== "dyn" && !names.includes(name)) throw new FormatError(`${error}, was given ${name}`);
    return "";
  }

  /** The bad node of a `%s` argument, looking into list and map literals as cel-go does. */
  private unprintable(node: ASTNode): ASTNode | undefined {
    const name = this.name(node);
    if (name !== "dyn" && !STRING_KINDS.has(name)) return node;
    if (node.op === "list") {
      for (const item of node.args) {
        const bad = this.unprintable(item);
        if (bad) return bad;
      }
    }
    if (node.op === "map") {
      for (const [key, item] of node.args) {
        const bad = this.unprintable(key) ?? this.unprintable(item);
        if (bad) return bad;
      }
    }
    return undefined;
  }

  string(node: ASTNode): string {
    const bad = this.unprintable(node);
    if (bad) throw new FormatError(`${STRING_CLAUSE} ${this.name(bad)}`);
    return "";
  }

  decimal(node: ASTNode): string {
    return this.oneOf(node, ["int", "uint"], "decimal clause can only be used on integers");
  }

  fixed(): (node: ASTNode) => string {
    return (node) => this.oneOf(node, ["double", "string"], "fixed-point clause can only be used on doubles");
  }

  scientific(): (node: ASTNode) => string {
    return (node) => this.oneOf(node, ["double", "string"], "scientific clause can only be used on doubles");
  }

  binary(node: ASTNode): string {
    return this.oneOf(node, ["int", "uint", "bool"], "only integers and bools can be formatted as binary");
  }

  hex(): (node: ASTNode) => string {
    return (node) =>
      this.oneOf(
        node,
        ["int", "uint", "string", "bytes"],
        "only integers, byte buffers, and strings can be formatted as hex",
      );
  }

  octal(node: ASTNode): string {
    return this.oneOf(node, ["int", "uint"], "octal clause can only be used on integers");
  }
}

/**
 * Checks a format argument; a list or map literal item by item, since the apiserver exempts
 * format's arguments from homogeneous aggregate literals (`'%s: %d'.format([name, count])`, also
 * nested: `[[1, 'a']]`). The literal's own type is then set as cel-js's checker would store it.
 */
function checkExempt(checker: Checker, node: ASTNode, scope: Scope): TypeDeclaration {
  let type: TypeDeclaration;
  if (node.op === "list" && node.args.length > 0) {
    for (const item of node.args) checkExempt(checker, item, scope);
    type = checker.getType("list");
  } else if (node.op === "map" && node.args.length > 0) {
    for (const [key, item] of node.args) {
      checkExempt(checker, key, scope);
      checkExempt(checker, item, scope);
    }
    type = checker.getType("map");
  } else {
    return checker.check(node, scope);
  }
  (node as { checkedType?: TypeDeclaration }).checkedType = type;
  return type;
}

class FormatCall implements Macro {
  readonly async = false;
  readonly #receiver: ASTNode;
  readonly #arg: ASTNode;
  /** The argument's items, when it is a list literal: checked and evaluated one by one. */
  readonly #items: readonly ASTNode[] | undefined;

  constructor(call: MacroCall) {
    this.#receiver = call.receiver!;
    this.#arg = call.args[0]!;
    this.#items = this.#arg.op === "list" ? this.#arg.args : undefined;
  }

  typeCheck(checker: Checker, _macro: this, scope: Scope): TypeDeclaration {
    const receiver = checker.check(this.#receiver, scope);
    for (const item of this.#items ?? []) checkExempt(checker, item, scope);
    const arg = this.#items === undefined ? checker.check(this.#arg, scope) : undefined;
    const receiverOk = receiver.kind === "dyn" || receiver.name === "string";
    const argOk = arg === undefined || arg.kind === "dyn" || arg.kind === "list";
    if (!receiverOk || !argOk) {
      const argName = arg === undefined ? "list" : checker.formatType(arg);
      throw checker.createError(
        "no_matching_overload",
        `found no matching overload for '${checker.formatType(receiver)}.format(${argName})'`,
        this.#receiver,
      );
    }
    const literal = this.#receiver.op === "value" ? this.#receiver.args : undefined;
    if (typeof literal === "string" && this.#items !== undefined) {
      // Checking again only reads the types cel-js stored on each node.
      this.#validate(checker, literal, (node) => checker.check(node, scope));
    }
    return checker.getType("string");
  }

  #validate(checker: Checker, literal: string, typeOf: (node: ASTNode) => TypeDeclaration): void {
    const items = this.#items!;
    let requested = 0;
    const args: Arguments<ASTNode> = {
      arg: (index) => {
        requested++;
        return items[index] ?? this.#arg;
      },
      size: items.length,
    };
    try {
      interpolate(literal, new TypeClauses(typeOf), args);
    } catch (error) {
      if (error instanceof FormatError) throw checker.createError("invalid_format", error.message, this.#arg);
      throw error;
    }
    if (items.length > requested) {
      throw checker.createError(
        "invalid_format",
        `too many arguments supplied to string.format (expected ${requested}, got ${items.length})`,
        this.#arg,
      );
    }
  }

  evaluate(evaluator: Evaluator, _macro: this, scope: Scope): unknown {
    const text = evaluator.run(this.#receiver, scope);
    const values = this.#items
      ? this.#items.map((item) => evaluator.run(item, scope))
      : (evaluator.run(this.#arg, scope) as unknown[] | Set<unknown>);
    if (typeof text !== "string" || !(Array.isArray(values) || values instanceof Set)) {
      throw celError("no such overload: format");
    }
    const items = listItems(values);
    const args: Arguments<unknown> = {
      arg: (index) => {
        if (index >= items.length) throw new FormatError(`index ${index} out of range`);
        return items[index];
      },
      size: items.length,
    };
    try {
      return interpolate(text, new ValueClauses(evaluator), args);
    } catch (error) {
      if (error instanceof FormatError) throw celError(error.message);
      throw error;
    }
  }
}

/** Registers `<string>.format(<list>)`; a macro, so that it sees its arguments before type-checking. */
export function registerFormat(env: Environment): void {
  registerMacro(env, "string.format(ast): string", (call) => new FormatCall(call));
}
