import { describe, expect, it } from "vitest";
import { createMetrics } from "../src/metrics.js";

describe("tollgate's metrics", () => {
  it("bucket admission latency up to and past the 3 s webhook timeout", async () => {
    const metrics = createMetrics();
    metrics.duration.observe({ mode: "enforce" }, 2.9);
    metrics.duration.observe({ mode: "enforce" }, 4);
    const text = await metrics.registry.getSingleMetricAsString("tollgate_admission_duration_seconds");
    const buckets = [...text.matchAll(/_bucket\{le="([^"]+)",mode="enforce"\} (\d+)/g)].map(([, le, n]) => [
      le,
      Number(n),
    ]);
    expect(buckets.slice(-6)).toEqual([
      ["1", 0],
      ["2.5", 0],
      ["3", 1],
      ["5", 2],
      ["10", 2],
      ["+Inf", 2],
    ]);
  });

  it("export the time of the last config load, unset until the server sets it", async () => {
    const metrics = createMetrics();
    const name = "tollgate_config_last_reload_success_timestamp_seconds";
    expect(await metrics.registry.getSingleMetricAsString(name)).toContain(`\n${name} 0`);
    const before = Date.now() / 1000;
    metrics.configLastReload.setToCurrentTime();
    const value = (await metrics.configLastReload.get()).values[0]?.value ?? 0;
    expect(value).toBeGreaterThanOrEqual(Math.floor(before));
    expect(value).toBeLessThanOrEqual(Date.now() / 1000);
  });
});
