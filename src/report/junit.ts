import { objectLabel, type Report, type ReportObject } from "./model.js";

export function escapeXml(text: string): string {
  return (
    text
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      // XML 1.0 cannot carry most control characters, even escaped.
      // eslint-disable-next-line no-control-regex -- XML 1.0 forbids these characters; they must be dropped
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "")
  );
}

export function attrs(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => ` ${key}="${escapeXml(String(value))}"`)
    .join("");
}

interface Case {
  xml: string;
  failed: boolean;
  errored: boolean;
  skipped: boolean;
}

function casesOf(object: ReportObject): Case[] {
  const classname = objectLabel(object);
  const file = { file: object.file ?? undefined };
  if (object.skipped !== undefined) {
    return [
      {
        xml: `    <testcase${attrs({ name: "tollgate", classname, ...file })}>\n      <skipped${attrs({ message: object.skipped })}/>\n    </testcase>`,
        failed: false,
        errored: false,
        skipped: true,
      },
    ];
  }
  const ids = [...new Set([...object.rules, ...object.findings.map((f) => f.rule)])];
  return ids.map((rule) => {
    const findings = object.findings.filter((f) => f.rule === rule);
    const denials = findings.filter((f) => f.severity === "deny");
    const warnings = findings.filter((f) => f.severity === "warn");
    const line = findings[0]?.line ?? object.line;
    const head = `    <testcase${attrs({ name: rule, classname, ...file, line: line ?? undefined })}`;
    const body: string[] = [];
    if (denials.length > 0) {
      const text = denials.map(
        (f) => `${f.file ?? ""}:${f.line ?? ""} ${f.path}: ${f.message}\nfix: ${f.fix}`,
      );
      body.push(
        `      <failure${attrs({ message: denials[0]!.message, type: "deny" })}>${escapeXml(text.join("\n"))}</failure>`,
      );
    }
    if (warnings.length > 0) {
      // Warnings do not fail the build (exit 0), so they pass, with the text where CI shows it.
      const text = warnings.map((f) => `warn ${f.rule} ${f.path}: ${f.message} (fix: ${f.fix})`);
      body.push(`      <system-out>${escapeXml(text.join("\n"))}</system-out>`);
    }
    return {
      xml: body.length === 0 ? `${head}/>` : `${head}>\n${body.join("\n")}\n    </testcase>`,
      failed: denials.length > 0,
      errored: false,
      skipped: false,
    };
  });
}

/**
 * JUnit XML: one test suite per file (or one for the cluster), one test case per object and rule,
 * a `<failure>` for deny findings; input errors are `<error>` cases of an `input` suite.
 */
export function renderJunit(report: Report): string {
  const suites = new Map<string, Case[]>();
  for (const object of report.objects) {
    const suite = object.file ?? "cluster";
    const list = suites.get(suite) ?? [];
    list.push(...casesOf(object));
    suites.set(suite, list);
  }
  if (report.errors.length > 0) {
    suites.set(
      "input errors",
      report.errors.map((error) => {
        const where =
          error.file === null ? "" : error.line === null ? error.file : `${error.file}:${error.line}`;
        return {
          xml: `    <testcase${attrs({ name: "input-error", classname: where || "input" })}>\n      <error${attrs({ message: error.message, type: "input" })}>${escapeXml(`${where} ${error.message}`.trim())}</error>\n    </testcase>`,
          failed: false,
          errored: true,
          skipped: false,
        };
      }),
    );
  }
  const count = (cases: Case[], key: "failed" | "errored" | "skipped") => cases.filter((c) => c[key]).length;
  const all = [...suites.values()].flat();
  const body = [...suites.entries()].map(([name, cases]) => {
    const head = `  <testsuite${attrs({ name, tests: cases.length, failures: count(cases, "failed"), errors: count(cases, "errored"), skipped: count(cases, "skipped") })}`;
    return cases.length === 0
      ? `${head}/>`
      : `${head}>\n${cases.map((c) => c.xml).join("\n")}\n  </testsuite>`;
  });
  const head = `<testsuites${attrs({ name: `tollgate ${report.command}`, tests: all.length, failures: count(all, "failed"), errors: count(all, "errored"), skipped: count(all, "skipped") })}`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${head}>\n${body.join("\n")}\n</testsuites>\n`;
}
