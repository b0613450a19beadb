import { renderHtml } from "./html.js";
import { jsonChunks } from "./json.js";
import { renderJunit } from "./junit.js";
import type { Report, RuleDescriptor } from "./model.js";
import { sarifChunks } from "./sarif.js";
import { renderText, type TextOptions } from "./text.js";
import { toolVersion } from "../version.js";

export const OUTPUTS = ["text", "json", "sarif", "junit", "html"] as const;
export type Output = (typeof OUTPUTS)[number];

/**
 * A report in the chosen format, as chunks to write out one after the other (several for JSON
 * and SARIF, whose reports are the largest); `text` is how the text is laid out, `rules` the catalog SARIF and
 * HTML describe; `now` decides which exemptions the HTML report flags as expiring soon.
 */
export function render(
  report: Report,
  output: Output,
  text: TextOptions,
  rules: readonly RuleDescriptor[],
  now: Date = new Date(),
): Iterable<string> {
  switch (output) {
    case "json":
      return jsonChunks(report);
    case "sarif":
      return sarifChunks(report, rules, toolVersion());
    case "junit":
      return [renderJunit(report)];
    case "html":
      return [renderHtml(report, rules, now)];
    default:
      return [renderText(report, text)];
  }
}
