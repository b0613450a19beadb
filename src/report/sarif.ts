import { pathToFileURL } from "node:url";
import { arrayChunks, quote } from "./chunks.js";
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

/**
 * The catalog's page, which `helpUri` points into: SARIF wants an absolute URI, and a rule's
 * section there has the rule's id as its anchor (`## run-as-root`).
 */
export const RULES_DOC_URL = "https://github.com/tollgate-dev/tollgate/blob/main/docs/rules.md";

/**
 * How GitHub code scanning ranks a rule (`properties.security-severity`, 0.0 to 10.0: 9.0 and up
 * critical, 7.0 high, 4.0 medium, below low). A rule that denies by default is high: 8.0 where it
 * opens the node or the cluster (security, rbac), 7.5 for the others (resources, policy, the
 * checklist); a warning is medium: 5.0 for security, rbac, secrets and identity, 4.0 for the rest
 * (probes, images, availability, namespaces); a rule off by default is low, 3.0.
 */
export function securitySeverityOf(descriptor: RuleDescriptor): string {
  const exposing = ["security", "rbac"].includes(descriptor.category);
  switch (descriptor.defaultSeverity) {
    case "deny":
      return exposing ? "8.0" : "7.5";
    case "warn":
      return exposing || ["secrets", "identity"].includes(descriptor.category) ? "5.0" : "4.0";
    default:
      return "3.0";
  }
}

function ruleOf(descriptor: RuleDescriptor) {
  // A team's own policy has no section in the catalog's page.
  const documented = descriptor.category !== "custom";
  return {
    id: descriptor.id,
    name: descriptor.title,
    shortDescription: { text: descriptor.title },
    fullDescription: { text: descriptor.description },
    help: {
      text: `${descriptor.description}\n\nFix: ${descriptor.remediation}`,
      markdown: `${descriptor.description}\n\n**Fix**\n\n${descriptor.remediation}`,
    },
    ...(documented ? { helpUri: `${RULES_DOC_URL}#${descriptor.id}` } : {}),
    defaultConfiguration: {
      level: levelOf(descriptor.defaultSeverity),
      enabled: descriptor.defaultSeverity !== "off",
    },
    properties: {
      category: descriptor.category,
      // Code scanning ranks by security-severity only the rules tagged security.
      tags: [...new Set(["kubernetes", "security", descriptor.category])],
      "security-severity": securitySeverityOf(descriptor),
    },
  };
}

function objectName(finding: ReportFinding): string {
  const scope = finding.namespace === "" ? "" : `${finding.namespace}/`;
  return `${finding.kind}/${scope}${finding.name}`;
}

/**
 * One result as the text `JSON.stringify(log, null, 2)` gives it at its depth in the log
 * (`runs[0].results[i]`, 8 spaces in). Written out rather than built as objects and stringified:
 * a run over 10,000 documents has some 70,000 results, and the objects (a dozen per result) and
 * the indenting serialiser were most of the SARIF output's cost. `uri` is the file's artifact URI
 * as JSON, or null when the finding has no file (audit).
 */
function resultText(finding: ReportFinding, ruleIndex: number | undefined, uri: string | null): string {
  const name = objectName(finding);
  // The object (`Kind/namespace/name`) is where an audit result is, having no file.
  const logical = `"logicalLocations": [
                {
                  "name": ${quote(name)},
                  "fullyQualifiedName": ${quote(finding.path === "" ? name : `${name}:${finding.path}`)},
                  "kind": "resource"
                }
              ]`;
  const location =
    uri === null
      ? logical
      : `"physicalLocation": {
                "artifactLocation": {
                  "uri": ${uri}
                },
                "region": {
                  "startLine": ${finding.line ?? 1}
                }
              },
              ${logical}`;
  const index = ruleIndex === undefined ? "" : `\n          "ruleIndex": ${ruleIndex},`;
  const container = finding.container === null ? "null" : quote(finding.container);
  // Stable across line moves, so code scanning tracks one alert per object, rule and field.
  const fingerprint = quote(`${finding.rule}|${name}|${finding.path}`);
  return `        {
          "ruleId": ${quote(finding.rule)},${index}
          "level": "${finding.severity === "deny" ? "error" : "warning"}",
          "message": {
            "text": ${quote(`${name}: ${finding.message}. Fix: ${finding.fix}`)}
          },
          "locations": [
            {
              ${location}
            }
          ],
          "partialFingerprints": {
            "tollgate/v1": ${fingerprint}
          },
          "properties": {
            "container": ${container},
            "path": ${quote(finding.path)}
          }
        }`;
}

/** How the log's text ends while its results are still empty: `results` is the last key of the run. */
const EMPTY_RESULTS_END = `"results": []
    }
  ]
}`;

/**
 * A SARIF 2.1.0 log for code scanning: one run, the rule catalog as the driver's rules, one
 * result per finding, input errors as tool execution notifications. The chunks, joined, are
 * exactly `JSON.stringify(log, null, 2)` plus a newline. The results come a thousand to a chunk,
 * so that a writer that sends each chunk out at once never holds the whole log (90 MB for
 * 10,000 documents) and its pieces die young instead of being copied into the old generation.
 */
export function* sarifChunks(
  report: Report,
  rules: readonly RuleDescriptor[],
  version: string,
): Generator<string, void, undefined> {
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
        results: [],
      },
    ],
  };
  const text = JSON.stringify(log, null, 2);
  const findings = findingsOf(report);
  if (findings.length === 0) {
    yield `${text}\n`;
    return;
  }
  yield `${text.slice(0, -EMPTY_RESULTS_END.length)}"results": [\n`;
  const index = new Map(rules.map((rule, i) => [rule.id, i]));
  const uris = new Map<string, string>();
  yield* arrayChunks(findings, (finding) => {
    let uri: string | null = null;
    if (finding.file !== null) {
      uri = uris.get(finding.file) ?? null;
      if (uri === null) {
        uri = quote(uriOf(finding.file));
        uris.set(finding.file, uri);
      }
    }
    return resultText(finding, index.get(finding.rule), uri);
  });
  yield `
      ]
    }
  ]
}
`;
}
