import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { FastifyBaseLogger } from "fastify";
import {
  clipLogFields,
  type DecisionFields,
  decisionWriter,
  logError,
  loggerOptions,
  logText,
  MAX_LOG_ERROR,
  MAX_LOG_FIELD,
} from "../src/log.js";

/** A logger made as `tollgate serve` makes its own, writing parsed lines to `lines`. */
function capture(level = "info"): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(loggerOptions(level), { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe("tollgate's logger", () => {
  it("writes the level as a word, names the service, and honours the level", () => {
    const { log, lines } = capture("info");
    log.debug("not written");
    log.info("one");
    log.warn("two");
    log.error("three");
    expect(lines.map(({ level, service, msg }) => ({ level, service, msg }))).toEqual([
      { level: "info", service: "tollgate", msg: "one" },
      { level: "warn", service: "tollgate", msg: "two" },
      { level: "error", service: "tollgate", msg: "three" },
    ]);
  });

  it("clips every string field of a line, on a child logger too: a 7 MiB name is not a 7 MB line", () => {
    const { log, lines } = capture();
    const huge = "n".repeat(7 * 1024 * 1024);
    log.child({ reqId: "req-1" }).info({ name: huge, kind: "Pod", count: 3, err: huge }, "decision");
    const [line] = lines;
    expect(line?.name).toBe(`${"n".repeat(MAX_LOG_FIELD - 1)}…`);
    expect(line?.err).toBe(`${"n".repeat(MAX_LOG_ERROR - 1)}…`);
    expect(line).toMatchObject({ kind: "Pod", count: 3, reqId: "req-1", msg: "decision", level: "info" });
    expect(JSON.stringify(line).length).toBeLessThan(MAX_LOG_FIELD + MAX_LOG_ERROR + 200);
  });

  it("writes an Error as its clipped text", () => {
    const { log, lines } = capture();
    log.warn({ err: new Error(`boom ${"x".repeat(10_000)}`) }, "failed");
    expect(lines[0]?.err).toBe(`Error: boom ${"x".repeat(MAX_LOG_ERROR - 13)}…`);
  });
});

describe("clipLogFields", () => {
  it("returns the same object when nothing needs clipping, a copy when something does", () => {
    const fields = { name: "web", n: 1 };
    expect(clipLogFields(fields)).toBe(fields);
    const long = { name: "a".repeat(300) };
    const clipped = clipLogFields(long);
    expect(clipped).not.toBe(long);
    expect(clipped.name).toBe(`${"a".repeat(MAX_LOG_FIELD - 1)}…`);
    expect(long.name).toHaveLength(300);
  });
});

describe("logText and logError", () => {
  it("clip to their bounds, and logText makes an absent field empty", () => {
    expect(logText(undefined)).toBe("");
    expect(logText("a".repeat(MAX_LOG_FIELD))).toBe("a".repeat(MAX_LOG_FIELD));
    expect(logText("a".repeat(MAX_LOG_FIELD + 1))).toBe(`${"a".repeat(MAX_LOG_FIELD - 1)}…`);
    expect(logError(new Error("refused"))).toBe("Error: refused");
    expect(logError("e".repeat(MAX_LOG_ERROR + 1))).toBe(`${"e".repeat(MAX_LOG_ERROR - 1)}…`);
  });
});

describe("the decision line", () => {
  const base = {
    uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
    operation: "CREATE",
    kind: "Pod",
    namespace: "team-a",
    name: "web",
    user: "alice",
    mode: "enforce",
    dryRun: false,
    verdict: "denied",
    rules: ["run-as-root", "host-port"],
    skipped: undefined,
    durationMs: 0.123,
  };
  const odd = {
    ...base,
    uid: 'quote " backslash \\ newline \n tab \t nul \u0000 del \u007f',
    name: "ünïcödé ✓ 🚀",
    user: "</script><script>",
    dryRun: true,
    verdict: "skipped",
    rules: [],
    skipped: 'namespace "kube-system" is excluded',
    durationMs: 12,
  };

  /** The text pino writes for `logger.info(fields, "decision")` and the text decisionWriter writes, time aside. */
  function both(fields: DecisionFields, bindings?: Record<string, string>) {
    const written: string[] = [];
    const root = pino(loggerOptions("info"), { write: (line: string) => written.push(line) });
    const log = bindings ? root.child(bindings) : root;
    log.info(fields, "decision");
    decisionWriter(log)(fields);
    return written.map((line) => line.replace(/"time":\d+/, '"time":0'));
  }

  it("is exactly the line pino writes, on odd text, a skipped request and a child's bindings", () => {
    for (const [fields, bindings] of [
      [base, undefined],
      [odd, undefined],
      [base, { reqId: "req-7" }],
    ] as const) {
      const [fromPino, fromWriter] = both(fields, bindings);
      expect(fromWriter).toBe(fromPino);
      expect(fromWriter?.endsWith('"msg":"decision"}\n')).toBe(true);
    }
  });

  it("escapes a lone surrogate, which pino writes raw (not UTF-8 once encoded), so the line reads back", () => {
    const fields = { ...base, name: "lone \ud800 surrogate" };
    const [fromPino, fromWriter] = both(fields);
    expect(fromWriter).toBe(fromPino?.replace("lone \ud800", "lone \\ud800"));
    expect((JSON.parse(fromWriter ?? "") as { name: string }).name).toBe(fields.name);
  });

  it("honours the level, and a logger that is not pino's gets info()", () => {
    const written: string[] = [];
    decisionWriter(pino(loggerOptions("warn"), { write: (line: string) => written.push(line) }))(base);
    expect(written).toEqual([]);
    const calls: unknown[][] = [];
    const other = { info: (...args: unknown[]) => calls.push(args) } as unknown as FastifyBaseLogger;
    decisionWriter(other)(base);
    expect(calls).toEqual([[base, "decision"]]);
  });
});
