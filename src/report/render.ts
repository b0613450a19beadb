import { renderJson } from "./json.js";
import { renderJunit } from "./junit.js";
import type { Report, RuleDescriptor } from "./model.js";
import { sarifChunks } from "./sarif.js";
import { renderText, type TextOptions } from "./text.js";
import { toolVersion } from "../version.js";

export const OUTPUTS = ["text", "json", "sarif", "junit"] as const;
export type Output = (typeof OUTPUTS)[number];

/**
 * A report in the chosen format, as chunks to write out one after the other (several for SARIF,
 * whose logs are the largest); `rules` is the catalog SARIF describes, `text` how the text is laid out.
 */
export function render(
  report: Report,
  output: Output,
  text: TextOptions,
  rules: readonly RuleDescriptor[],
): Iterable<string> {
  switch (output) {
    case "json":
      return [renderJson(report)];
    case "sarif":
      return sarifChunks(report, rules, toolVersion());
    case "junit":
      return [renderJunit(report)];
    default:
      return [renderText(report, text)];
  }
}
