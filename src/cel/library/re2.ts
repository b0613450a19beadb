/**
 * Go's regular expressions (RE2 syntax, regexp.Compile) translated to JavaScript RegExps, so that a
 * pattern means in tollgate what it means in the apiserver: what Go refuses is refused with Go's
 * message, `\s` is ASCII space only, `.` stops only at `\n`, inline flags `(?i)`, `(?s)`, `(?m)`,
 * `(?U)` work in any group, POSIX classes `[[:alpha:]]`, Unicode classes `\pL`, `\p{Greek}`, `\Q…\E`
 * and octal escapes are understood. Backreferences and lookarounds, which RE2 does not have, are
 * errors, as there.
 *
 * What stays different: JavaScript matches by backtracking, so a pattern with nested quantifiers can
 * take exponential time where RE2 takes linear time (see docs/policies-cel.md).
 */

export class RegexSyntaxError extends Error {}

interface Flags {
  /** Case-insensitive. */
  i: boolean;
  /** `^` and `$` match at line breaks. */
  m: boolean;
  /** `.` matches `\n`. */
  s: boolean;
  /** Ungreedy: `x*` is lazy and `x*?` greedy. */
  U: boolean;
}

/** The class items (inside `[...]`) of Go's POSIX classes, all ASCII. */
const POSIX: Readonly<Record<string, string>> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\u{0}-\\u{7f}",
  blank: "\\t ",
  cntrl: "\\u{0}-\\u{1f}\\u{7f}",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

/** The code point ranges of an ASCII class, for its complement (JavaScript has no nested classes). */
const POSIX_RANGES: Readonly<Record<string, readonly [number, number][]>> = {
  alnum: [
    [48, 57],
    [65, 90],
    [97, 122],
  ],
  alpha: [
    [65, 90],
    [97, 122],
  ],
  ascii: [[0, 127]],
  blank: [
    [9, 9],
    [32, 32],
  ],
  cntrl: [
    [0, 31],
    [127, 127],
  ],
  digit: [[48, 57]],
  graph: [[33, 126]],
  lower: [[97, 122]],
  print: [[32, 126]],
  punct: [
    [33, 47],
    [58, 64],
    [91, 96],
    [123, 126],
  ],
  space: [
    [9, 13],
    [32, 32],
  ],
  upper: [[65, 90]],
  word: [
    [48, 57],
    [65, 90],
    [95, 95],
    [97, 122],
  ],
  xdigit: [
    [48, 57],
    [65, 70],
    [97, 102],
  ],
};

const PERL_RANGES: Readonly<Record<string, readonly [number, number][]>> = {
  d: POSIX_RANGES.digit!,
  s: [
    [9, 10],
    [12, 13],
    [32, 32],
  ],
  w: POSIX_RANGES.word!,
};

function hex(code: number): string {
  return `\\u{${code.toString(16)}}`;
}

function complement(ranges: readonly [number, number][]): string {
  let out = "";
  let next = 0;
  for (const [low, high] of ranges) {
    if (low > next) out += `${hex(next)}-${hex(low - 1)}`;
    next = high + 1;
  }
  return next <= 0x10ffff ? `${out}${hex(next)}-${hex(0x10ffff)}` : out;
}

function rangesText(ranges: readonly [number, number][]): string {
  return ranges.map(([low, high]) => (low === high ? hex(low) : `${hex(low)}-${hex(high)}`)).join("");
}

const GENERAL_CATEGORIES = new Set(
  "C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs".split(
    " ",
  ),
);

/** The JavaScript property escape for a Go Unicode class name, or undefined if there is none. */
function unicodeProperty(name: string, negated: boolean): string | undefined {
  const letter = negated ? "P" : "p";
  if (name === "Any") return negated ? "" : `${hex(0)}-${hex(0x10ffff)}`;
  if (GENERAL_CATEGORIES.has(name)) return `\\${letter}{${name}}`;
  try {
    new RegExp(`\\p{Script=${name}}`, "u");
  } catch {
    return undefined;
  }
  return `\\${letter}{Script=${name}}`;
}

/** The other cases of a code point, as Go's simple case folding relates them. */
function caseVariants(char: string): string[] {
  const variants = new Set([char, char.toLowerCase(), char.toUpperCase()]);
  const extra: Record<string, string[]> = { k: ["\u212a"], s: ["\u017f"], "\u00e5": ["\u212b"] };
  for (const more of extra[char.toLowerCase()] ?? []) variants.add(more);
  for (const [base, more] of Object.entries(extra)) {
    if (more.includes(char)) for (const v of [base, base.toUpperCase()]) variants.add(v);
  }
  return [...variants].filter((v) => [...v].length === 1);
}

const SYNTAX = new Set([..."^$\\.*+?()[]{}|/"]);

function literalText(char: string): string {
  const code = char.codePointAt(0)!;
  if (SYNTAX.has(char)) return `\\${char}`;
  return code < 0x20 || code === 0x7f ? hex(code) : char;
}

function classLiteral(char: string): string {
  const code = char.codePointAt(0)!;
  if ("\\]-^[".includes(char) || code < 0x20 || code === 0x7f) return hex(code);
  return char;
}

const MAX_REPEAT = 1000;

class Translator {
  readonly #points: string[];
  #at = 0;
  /** Fold case by hand (a part of the pattern is case-sensitive) or leave it to the `i` flag. */
  readonly #manualFold: boolean;
  foldedSome = false;
  sensitiveSome = false;

  constructor(
    readonly pattern: string,
    manualFold: boolean,
  ) {
    this.#points = [...pattern];
    this.#manualFold = manualFold;
  }

  #error(code: string, text: string): never {
    throw new RegexSyntaxError(`error parsing regexp: ${code}: \`${text}\``);
  }

  #peek(offset = 0): string | undefined {
    return this.#points[this.#at + offset];
  }

  #rest(from = this.#at): string {
    return this.#points.slice(from).join("");
  }

  translate(): string {
    const out = this.#alternation({ i: false, m: false, s: false, U: false }, 0);
    if (this.#at < this.#points.length) this.#error("unexpected )", this.pattern);
    return out;
  }

  #alternation(flags: Flags, depth: number): string {
    if (depth > 1000) this.#error("expression nests too deeply", this.pattern);
    const branches: string[] = [];
    const current = { ...flags };
    for (;;) {
      branches.push(this.#concatenation(current, depth));
      if (this.#peek() !== "|") return branches.join("|");
      this.#at++;
    }
  }

  #concatenation(flags: Flags, depth: number): string {
    let out = "";
    for (;;) {
      const char = this.#peek();
      if (char === undefined || char === "|" || char === ")") return out;
      const atom = this.#atom(flags, depth);
      if (atom === undefined) continue; // a flag group: it changed `flags`, it matches nothing
      out += this.#repeats(atom, flags);
    }
  }

  #repeats(atom: string, flags: Flags): string {
    let out = atom;
    let previous: number | undefined;
    for (;;) {
      const opStart = this.#at;
      const char = this.#peek();
      let quantifier: string | undefined;
      if (char === "*" || char === "+" || char === "?") {
        this.#at++;
        quantifier = char;
      } else if (char === "{") {
        quantifier = this.#repeatCount();
        if (quantifier === undefined) return out;
      } else {
        return out;
      }
      let lazy = false;
      if (this.#peek() === "?") {
        this.#at++;
        lazy = true;
      }
      // RE2 does not stack repetitions: `a**` is an error, not a doubled star.
      if (previous !== undefined) {
        this.#error("invalid nested repetition operator", this.#points.slice(previous, this.#at).join(""));
      }
      if (flags.U) lazy = !lazy;
      out = `(?:${out})${quantifier}${lazy ? "?" : ""}`;
      previous = opStart;
    }
  }

  /** `{n}`, `{n,}` or `{n,m}` as a JavaScript quantifier; undefined (a literal `{`) otherwise. */
  #repeatCount(): string | undefined {
    const match = /^\{(\d+)(,(\d*))?\}/.exec(this.#rest());
    if (!match) return undefined;
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : match[3] === "" ? undefined : Number(match[3]);
    if (low > MAX_REPEAT || (high !== undefined && (high > MAX_REPEAT || high < low))) {
      this.#error("invalid repeat count", match[0]);
    }
    this.#at += [...match[0]].length;
    return match[0];
  }

  /** One atom as JavaScript, or undefined for a flag group `(?i)`, which changes `flags` in place. */
  #atom(flags: Flags, depth: number): string | undefined {
    const char = this.#peek()!;
    switch (char) {
      case "(":
        return this.#group(flags, depth);
      case "[":
        return this.#class(flags);
      case ".":
        this.#at++;
        return flags.s ? `[${hex(0)}-${hex(0x10ffff)}]` : "[^\\n]";
      case "^":
        this.#at++;
        return flags.m ? "(?:^|(?<=\\n))" : "(?:^)";
      case "$":
        this.#at++;
        return flags.m ? "(?:$|(?=\\n))" : "(?:$)";
      case "*":
      case "+":
      case "?":
        this.#error("missing argument to repetition operator", char);
        break;
      case "{": {
        const repeat = /^\{(\d+)(,(\d*))?\}/.exec(this.#rest());
        if (repeat) this.#error("missing argument to repetition operator", repeat[0]);
        this.#at++;
        return this.#literal("{", flags);
      }
      case "\\":
        return this.#escape(flags);
    }
    this.#at++;
    return this.#literal(char, flags);
  }

  #literal(char: string, flags: Flags): string {
    if (!flags.i) {
      this.sensitiveSome = true;
      return literalText(char);
    }
    this.foldedSome = true;
    if (!this.#manualFold) return literalText(char);
    const variants = caseVariants(char);
    return variants.length === 1 ? literalText(char) : `[${variants.map(classLiteral).join("")}]`;
  }

  #group(flags: Flags, depth: number): string | undefined {
    const start = this.#at;
    this.#at++;
    let prefix = "(";
    let inner = flags;
    if (this.#peek() === "?") {
      const rest = this.#rest(this.#at + 1);
      const named = /^P?<([^>]*)>/.exec(rest);
      if (named) {
        if (!/^\w+$/.test(named[1]!)) this.#error("invalid named capture", `(?${named[0]}`);
        this.#at += 1 + [...named[0]].length;
      } else {
        const flagged = /^([imsU]*)(-([imsU]*))?([:)])/.exec(rest);
        if (!flagged || (flagged[2] !== undefined && flagged[3] === "")) {
          const bad = /^[imsU-]*./.exec(rest)?.[0] ?? rest;
          this.#error("invalid or unsupported Perl syntax", `(?${bad}`);
        }
        inner = { ...flags };
        for (const f of flagged[1]!) inner[f as keyof Flags] = true;
        for (const f of flagged[3] ?? "") inner[f as keyof Flags] = false;
        this.#at += 1 + [...flagged[0]].length;
        if (flagged[4] === ")") {
          Object.assign(flags, inner);
          return undefined;
        }
        prefix = "(?:";
      }
    }
    const body = this.#alternation(inner, depth + 1);
    if (this.#peek() !== ")") this.#error("missing closing )", this.#rest(start));
    this.#at++;
    return `${prefix}${body})`;
  }

  /** An escape outside a class: assertions, Perl and Unicode classes, \Q…\E, or a literal. */
  #escape(flags: Flags): string {
    const start = this.#at;
    const next = this.#peek(1);
    if (next === undefined) this.#error("trailing backslash at end of expression", "");
    switch (next) {
      case "A":
        this.#at += 2;
        return "(?:^)";
      case "z":
        this.#at += 2;
        return "(?:$)";
      case "b":
      case "B":
        this.#at += 2;
        return `(?:\\${next})`;
      case "d":
      case "w":
      case "s":
      case "D":
      case "W":
      case "S": {
        this.#at += 2;
        const ranges = PERL_RANGES[next.toLowerCase()]!;
        return next === next.toLowerCase() ? `[${rangesText(ranges)}]` : `[${complement(ranges)}]`;
      }
      case "p":
      case "P":
        return `[${this.#unicodeClass()}]`;
      case "Q": {
        this.#at += 2;
        const end = this.#rest().indexOf("\\E");
        const text = end < 0 ? this.#rest() : this.#rest().slice(0, end);
        this.#at += [...text].length + (end < 0 ? 0 : 2);
        return [...text].map((c) => this.#literal(c, flags)).join("");
      }
    }
    const char = this.#escapedChar(start);
    return this.#literal(char, flags);
  }

  /** `\pL`, `\p{Greek}`, `\P{L}`, `\p{^L}` as class items; the cursor is on the backslash. */
  #unicodeClass(): string {
    const start = this.#at;
    let negated = this.#peek(1) === "P";
    this.#at += 2;
    let name: string;
    if (this.#peek() === "{") {
      const end = this.#rest().indexOf("}");
      if (end < 0) this.#error("invalid character class range", this.#rest(start));
      name = this.#rest().slice(1, end);
      this.#at += [...name].length + 2;
    } else {
      name = this.#peek() ?? "";
      if (name === "") this.#error("invalid character class range", this.#rest(start));
      this.#at++;
    }
    const text = this.#points.slice(start, this.#at).join("");
    if (name.startsWith("^")) {
      negated = !negated;
      name = name.slice(1);
    }
    const property = unicodeProperty(name, negated);
    if (property === undefined) this.#error("invalid character class range", text);
    return property;
  }

  /** The character an escape stands for (Go's parseEscape); the cursor is on the backslash. */
  #escapedChar(start: number): string {
    this.#at++;
    const char = this.#peek()!;
    this.#at++;
    const code = char.codePointAt(0)!;
    if (code < 0x80 && !/[0-9A-Za-z]/.test(char)) return char;
    const simple: Record<string, string> = { a: "\x07", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };
    if (simple[char] !== undefined) return simple[char];
    if (/[0-7]/.test(char)) {
      // A single non-zero digit would be a backreference, which RE2 does not have.
      if (char !== "0" && !/[0-7]/.test(this.#peek() ?? "")) {
        this.#error("invalid escape sequence", this.#points.slice(start, this.#at).join(""));
      }
      let value = Number(char);
      for (let i = 1; i < 3 && /[0-7]/.test(this.#peek() ?? ""); i++) {
        value = value * 8 + Number(this.#peek());
        this.#at++;
      }
      return String.fromCodePoint(value);
    }
    if (char === "x") {
      const braced = /^\{([0-9A-Fa-f]+)\}/.exec(this.#rest());
      const plain = /^[0-9A-Fa-f]{2}/.exec(this.#rest());
      const digits = braced ? braced[1]! : plain ? plain[0] : undefined;
      const value = digits === undefined ? NaN : parseInt(digits, 16);
      if (digits === undefined || value > 0x10ffff) {
        this.#error(
          "invalid escape sequence",
          this.#points.slice(start, this.#at + (braced ? braced[0].length : 0)).join(""),
        );
      }
      this.#at += braced ? braced[0].length : 2;
      return String.fromCodePoint(value);
    }
    return this.#error("invalid escape sequence", this.#points.slice(start, this.#at).join(""));
  }

  /** A class `[...]` as a JavaScript class; the cursor is on the `[`. */
  #class(flags: Flags): string {
    const start = this.#at;
    this.#at++;
    let negated = false;
    if (this.#peek() === "^") {
      negated = true;
      this.#at++;
    }
    let items = "";
    let first = true;
    for (;;) {
      const char = this.#peek();
      if (char === undefined) this.#error("missing closing ]", this.#rest(start));
      if (char === "]" && !first) break;
      first = false;
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.#rest());
      if (posix) {
        const name = posix[2]!;
        if (POSIX[name] === undefined) this.#error("invalid character class range", posix[0]);
        items += posix[1] ? complement(POSIX_RANGES[name]!) : POSIX[name];
        this.#at += posix[0].length;
        continue;
      }
      if (char === "\\" && /[dswDSW]/.test(this.#peek(1) ?? "")) {
        const letter = this.#peek(1)!;
        const ranges = PERL_RANGES[letter.toLowerCase()]!;
        items += letter === letter.toLowerCase() ? rangesText(ranges) : complement(ranges);
        this.#at += 2;
        continue;
      }
      if (char === "\\" && (this.#peek(1) === "p" || this.#peek(1) === "P")) {
        items += this.#unicodeClass();
        continue;
      }
      const rangeStart = this.#at;
      const low = this.#classChar();
      if (this.#peek() === "-" && this.#peek(1) !== "]" && this.#peek(1) !== undefined) {
        this.#at++;
        const high = this.#classChar();
        if (high.codePointAt(0)! < low.codePointAt(0)!) {
          this.#error("invalid character class range", this.#points.slice(rangeStart, this.#at).join(""));
        }
        items += this.#classRange(low, high, flags);
      } else {
        items += this.#classRange(low, low, flags);
      }
    }
    this.#at++;
    return `[${negated ? "^" : ""}${items}]`;
  }

  #classChar(): string {
    const char = this.#peek()!;
    if (char !== "\\") {
      this.#at++;
      return char;
    }
    if (this.#peek(1) === undefined) this.#error("trailing backslash at end of expression", "");
    return this.#escapedChar(this.#at);
  }

  #classRange(low: string, high: string, flags: Flags): string {
    const text = low === high ? classLiteral(low) : `${classLiteral(low)}-${classLiteral(high)}`;
    if (!flags.i) {
      this.sensitiveSome = true;
      return text;
    }
    this.foldedSome = true;
    if (!this.#manualFold) return text;
    // The other case of the ASCII letters in the range; Go folds all of Unicode, this only ASCII.
    let extra = "";
    for (const [from, to, shift] of [
      [97, 122, -32],
      [65, 90, 32],
    ] as const) {
      const a = Math.max(from, low.codePointAt(0)!);
      const b = Math.min(to, high.codePointAt(0)!);
      if (a <= b) extra += `${hex(a + shift)}-${hex(b + shift)}`;
    }
    return text + extra;
  }
}

export interface Regex {
  /** Unanchored test, as Go's MatchString. */
  readonly test: RegExp;
  /** The same pattern with the `g` flag, for successive matches. */
  readonly global: RegExp;
}

const cache = new Map<string, Regex | RegexSyntaxError>();
const CACHE_SIZE = 1000;

function build(pattern: string): Regex {
  let translator = new Translator(pattern, true);
  let source = translator.translate();
  let flags = "u";
  if (translator.foldedSome && !translator.sensitiveSome) {
    // Case-insensitive throughout: leave folding to the engine, which knows all of Unicode.
    translator = new Translator(pattern, false);
    source = translator.translate();
    flags = "iu";
  }
  try {
    return { test: new RegExp(source, flags), global: new RegExp(source, `${flags}g`) };
  } catch (error) {
    throw new RegexSyntaxError(`error parsing regexp: ${(error as Error).message}: \`${pattern}\``);
  }
}

/** The pattern compiled once (and remembered), or the RegexSyntaxError Go would give. */
export function compileRe2(pattern: string): Regex {
  let entry = cache.get(pattern);
  if (entry === undefined) {
    try {
      entry = build(pattern);
    } catch (error) {
      if (!(error instanceof RegexSyntaxError)) throw error;
      entry = error;
    }
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(pattern, entry);
  }
  if (entry instanceof RegexSyntaxError) throw entry;
  return entry;
}

/** Go's FindAllString: at most `limit` matches (all when negative), no empty match right after one. */
export function findAll(regex: Regex, text: string, limit: number): string[] {
  const out: string[] = [];
  if (limit === 0) return out;
  const pattern = regex.global;
  let position = 0;
  let previousEnd = -1;
  while (position <= text.length && (limit < 0 || out.length < limit)) {
    pattern.lastIndex = position;
    const match = pattern.exec(text);
    if (match === null) break;
    const end = match.index + match[0].length;
    let accept = true;
    if (end === position || match[0] === "") {
      if (match.index === previousEnd) accept = false;
      const point = text.codePointAt(end);
      position = end + (point === undefined ? 1 : point > 0xffff ? 2 : 1);
    } else {
      position = end;
    }
    previousEnd = end;
    if (accept) out.push(match[0]);
  }
  return out;
}
