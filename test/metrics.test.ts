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

  it("count decisions and findings as counters: read at any time, each one counted once", async () => {
    const metrics = createMetrics();
    metrics.countDecision("denied", "Pod", "enforce");
    metrics.countFinding("run-as-root", "enforce", "deny");
    metrics.countFinding("run-as-root", "enforce", "deny");
    metrics.countFinding("host-port", "warn", "warn");
    const decisions = async () =>
      (await metrics.decisions.get()).values.map(({ labels, value }) => ({ ...labels, value }));
    const findings = async () =>
      (await metrics.findings.get()).values.map(({ labels, value }) => ({ ...labels, value }));
    expect(await decisions()).toEqual([{ verdict: "denied", kind: "Pod", mode: "enforce", value: 1 }]);
    expect(await findings()).toEqual([
      { rule: "run-as-root", mode: "enforce", severity: "deny", value: 2 },
      { rule: "host-port", mode: "warn", severity: "warn", value: 1 },
    ]);
    // Read again with nothing new: the same totals, not counted twice.
    expect(await decisions()).toEqual([{ verdict: "denied", kind: "Pod", mode: "enforce", value: 1 }]);
    metrics.countDecision("denied", "Pod", "enforce");
    metrics.countDecision("allowed", "other", "warn");
    const text = await metrics.registry.metrics();
    expect(text).toContain('tollgate_decisions_total{verdict="denied",kind="Pod",mode="enforce"} 2');
    expect(text).toContain('tollgate_decisions_total{verdict="allowed",kind="other",mode="warn"} 1');
    expect(text).toContain('tollgate_findings_total{rule="run-as-root",mode="enforce",severity="deny"} 2');
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
