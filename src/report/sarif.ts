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

/** A string as JSON, quotes and escapes included. */
const quote: (text: string) => string = JSON.stringify;

/**
 * One result as the text `JSON.stringify(log, null, 2)` gives it at its depth in the log
 * (`runs[0].results[i]`, 8 spaces in). Written out rather than built as objects and stringified:
 * a run over 10,000 documents has some 70,000 results, and the objects (a dozen per result) and
 * the indenting serialiser were most of the SARIF output's cost. `uri` is the file's artifact URI
 * as JSON, or null when the finding has no file (audit).
 */
function resultText(finding: ReportFinding, ruleIndex: number | undefined, uri: string | null): string {
  const name = objectName(finding);
  const logical = `"logicalLocations": [
                {
                  "name": ${quote(finding.name)},
                  "fullyQualifiedName": ${quote(finding.path === "" ? name : `${name}:${finding.path}`)},
                  "kind": "object"
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

/** About a megabyte of text per chunk. */
const RESULTS_PER_CHUNK = 1000;

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
  for (let start = 0; start < findings.length; start += RESULTS_PER_CHUNK) {
    const results = findings.slice(start, start + RESULTS_PER_CHUNK).map((finding) => {
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
    yield `${start === 0 ? "" : ",\n"}${results.join(",\n")}`;
  }
  yield `
      ]
    }
  ]
}
`;
}
