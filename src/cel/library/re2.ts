import { RE2JS, RE2JSSyntaxException } from "re2js";

/**
 * Go's regular expressions (RE2 syntax, regexp.Compile), run by re2js, a port of RE2: the same
 * syntax, the same meaning (`\s` is ASCII space only, `.` stops only at `\n`, inline flags, POSIX
 * and Unicode classes), the same error messages, and, unlike JavaScript's backtracking RegExp, time
 * linear in the text. The text is written by the requester, so a pattern with nested quantifiers
 * (`^(a+)+$`) must not be able to hold the webhook for the time a backtracking engine would take.
 */

export class RegexSyntaxError extends Error {}

export interface Regex {
  /** Unanchored test, as Go's MatchString. */
  matches(text: string): boolean;
  /** The leftmost match, as Go's FindString; undefined when there is none. */
  first(text: string): string | undefined;
  /** The pattern, for successive matches (findAll). */
  readonly engine: RE2JS;
}

const cache = new Map<string, Regex | RegexSyntaxError>();
const CACHE_SIZE = 1000;

function build(pattern: string): Regex {
  let engine: RE2JS;
  try {
    engine = RE2JS.compile(pattern);
  } catch (error) {
    // re2js words its errors as Go's regexp package: `error parsing regexp: <what>: \`<where>\``.
    if (error instanceof RE2JSSyntaxException) throw new RegexSyntaxError(error.message);
    throw error;
  }
  return {
    engine,
    matches: (text) => engine.test(text),
    first: (text) => engine.exec(text)?.[0] as string | undefined,
  };
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
  const matcher = regex.engine.matcher(text);
  let position = 0;
  let previousEnd = -1;
  while (position <= text.length && (limit < 0 || out.length < limit)) {
    if (!matcher.find(position)) break;
    const start = matcher.start();
    const end = matcher.end();
    let accept = true;
    if (end === start) {
      if (start === previousEnd) accept = false;
      const point = text.codePointAt(end);
      position = end + (point === undefined ? 1 : point > 0xffff ? 2 : 1);
    } else {
      position = end;
    }
    previousEnd = end;
    if (accept) out.push(text.slice(start, end));
  }
  return out;
}
