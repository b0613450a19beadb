import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { clipLogFields, logError, loggerOptions, logText, MAX_LOG_ERROR, MAX_LOG_FIELD } from "../src/log.js";

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
