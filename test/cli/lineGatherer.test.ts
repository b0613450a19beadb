/**
 * The gatherer in front of sonic-boom (src/cli/serving.ts): lines reach the sink in order, a
 * buffer's worth at a time, on the interval, and on flush before the sink's own flush.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { LineGatherer } from "../../src/cli/serving.js";

function sink() {
  const chunks: string[] = [];
  const flushed: number[] = [];
  return {
    chunks,
    flushed,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    flush(done: (error?: Error) => void) {
      flushed.push(chunks.length);
      done();
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("LineGatherer", () => {
  it("hands the lines on joined, in order, once they reach the limit", () => {
    const into = sink();
    const gatherer = new LineGatherer(into, 10, 60_000);
    expect(gatherer.write("aaaa\n")).toBe(true);
    expect(into.chunks).toEqual([]);
    gatherer.write("bbbb\n");
    expect(into.chunks).toEqual(["aaaa\nbbbb\n"]);
    gatherer.write("c\n");
    gatherer.write("dddddddddd\n");
    expect(into.chunks).toEqual(["aaaa\nbbbb\n", "c\ndddddddddd\n"]);
  });

  it("hands on what waits every interval, and nothing when nothing waits", () => {
    vi.useFakeTimers();
    const into = sink();
    const gatherer = new LineGatherer(into, 1024, 1_000);
    gatherer.write("one\n");
    vi.advanceTimersByTime(999);
    expect(into.chunks).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(into.chunks).toEqual(["one\n"]);
    vi.advanceTimersByTime(5_000);
    expect(into.chunks).toEqual(["one\n"]);
    gatherer.write("two\n");
    vi.advanceTimersByTime(1_000);
    expect(into.chunks).toEqual(["one\n", "two\n"]);
  });

  it("on flush hands on what waits before the sink flushes", () => {
    const into = sink();
    const gatherer = new LineGatherer(into, 1024, 60_000);
    gatherer.write("one\n");
    gatherer.write("two\n");
    const done = vi.fn();
    gatherer.flush(done);
    expect(into.chunks).toEqual(["one\ntwo\n"]);
    expect(into.flushed).toEqual([1]);
    expect(done).toHaveBeenCalledOnce();
    gatherer.flush(done);
    expect(into.chunks).toEqual(["one\ntwo\n"]);
    expect(into.flushed).toEqual([1, 1]);
  });
});
