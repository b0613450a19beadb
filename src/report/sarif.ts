import { pathToFileURL } from "node:url";
import { findingsOf, type Report, type ReportFinding, type RuleDescriptor } from "./model.js";

const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

type Level = "error" | "warning" | "note" | "none";

function levelOf(severity: RuleDescriptor["defaultSeverity"]): Level {
  return severity === "deny" ? "error" : severity === "warn" ? "warning" : "none";
}

/** A path as a SARIF artifact URI: relative paths stay relative (code scanning wants repo-relative). */
function uriOf(file: string): string {
  if (file.startsWith("/")) return pathToFileURL(file).href;
  return file
    .replace(/^\.\//, "")
    .split("/")
    .map((part) => encodeURIComponent(part))
    .join("/");
}

function ruleOf(descriptor: RuleDescriptor) {
  return {
    id: descriptor.id,
    name: descriptor.title,
    shortDescription: { text: descriptor.title },
    fullDescription: { text: descriptor.description },
    help: { text: descriptor.remediation, markdown: descriptor.remediation },
    defaultConfiguration: {
      level: levelOf(descriptor.defaultSeverity),
      enabled: descriptor.defaultSeverity !== "off",
    },
    properties: { category: descriptor.category, tags: ["kubernetes", descriptor.category] },
  };
}

function objectName(finding: ReportFinding): string {
  const scope = finding.namespace === "" ? "" : `${finding.namespace}/`;
  return `${finding.kind}/${scope}${finding.name}`;
}

function resultOf(finding: ReportFinding, ruleIndex: number) {
  const logical = {
    name: finding.name,
    fullyQualifiedName: finding.path === "" ? objectName(finding) : `${objectName(finding)}:${finding.path}`,
    kind: "object",
  };
  const location =
    finding.file === null
      ? { logicalLocations: [logical] }
      : {
          physicalLocation: {
            artifactLocation: { uri: uriOf(finding.file) },
            region: { startLine: finding.line ?? 1 },
          },
          logicalLocations: [logical],
        };
  return {
    ruleId: finding.rule,
    ...(ruleIndex >= 0 ? { ruleIndex } : {}),
    level: finding.severity === "deny" ? "error" : "warning",
    message: { text: `${objectName(finding)}: ${finding.message}. Fix: ${finding.fix}` },
    locations: [location],
    partialFingerprints: {
      // Stable across line moves, so code scanning tracks one alert per object, rule and field.
      "tollgate/v1": `${finding.rule}|${objectName(finding)}|${finding.path}`,
    },
    properties: { container: finding.container, path: finding.path },
  };
}

/**
 * A SARIF 2.1.0 log for code scanning: one run, the rule catalog as the driver's rules, one
 * result per finding, input errors as tool execution notifications.
 */
export function renderSarif(report: Report, rules: readonly RuleDescriptor[], version: string): string {
  const index = new Map(rules.map((rule, i) => [rule.id, i]));
  const log = {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "tollgate",
            version,
            rules: rules.map(ruleOf),
          },
        },
        invocations: [
          {
            executionSuccessful: report.errors.length === 0,
            toolExecutionNotifications: report.errors.map((error) => ({
              level: "error",
              message: { text: error.message },
              ...(error.file === null
                ? {}
                : {
                    locations: [
                      {
                        physicalLocation: {
                          artifactLocation: { uri: uriOf(error.file) },
                          ...(error.line === null ? {} : { region: { startLine: error.line } }),
                        },
                      },
                    ],
                  }),
            })),
            toolConfigurationNotifications: report.notes.map((note) => ({
              level: "note",
              message: { text: note },
            })),
          },
        ],
        results: findingsOf(report).map((finding) => resultOf(finding, index.get(finding.rule) ?? -1)),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
