import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { runCheck } from "../../src/cli/check.js";
import {
  EXPIRES_SOON_DAYS,
  escapeHtml,
  MAX_NAMESPACE_GROUPS,
  MAX_ROWS_PER_GROUP,
  MAX_TEXT,
  renderHtml,
} from "../../src/report/html.js";
import { CONTENT_SECURITY_POLICY } from "../../src/report/htmlPage.js";
import type { Report, ReportFinding, ReportObject, RuleDescriptor } from "../../src/report/model.js";
import { namespaceStandings } from "../../src/report/namespaces.js";
import { captureIO } from "../cli/helpers.js";

const NOW = new Date("2026-12-03T12:00:00Z");

const RULES: RuleDescriptor[] = [
  {
    id: "run-as-root",
    title: "Containers run as a non-root user",
    category: "security",
    defaultSeverity: "deny",
    description: "",
    remediation: "Run as a non-root user:\n\n```yaml\nsecurityContext:\n  runAsNonRoot: true\n```",
  },
];

function finding(over: Partial<ReportFinding> = {}): ReportFinding {
  return {
    rule: "run-as-root",
    severity: "deny",
    kind: "Deployment",
    namespace: "shop",
    name: "web",
    file: "deploy/web.yaml",
    line: 18,
    path: "spec.template.spec.containers[name=web].securityContext.runAsNonRoot",
    container: "web",
    message: 'container "web" must set securityContext.runAsNonRoot=true',
    fix: 'set securityContext.runAsNonRoot: true on container "web" or on the pod',
    ...over,
  };
}

function object(findings: ReportFinding[], over: Partial<ReportObject> = {}): ReportObject {
  const first = findings[0] ?? finding();
  return {
    kind: first.kind,
    namespace: first.namespace,
    name: first.name,
    file: first.file,
    line: 1,
    rules: ["run-as-root", "image-tag-mutable"],
    findings,
    ...over,
  };
}

function report(objects: ReportObject[], over: Partial<Report> = {}): Report {
  return {
    command: "check",
    mode: "enforce",
    objects,
    errors: [],
    notes: [],
    files: 1,
    documents: 1,
    ...over,
  };
}

/** The rows of the by-rule section (each finding appears once there). */
function ruleRows(html: string): string[] {
  const section = html.slice(
    html.indexOf('<section id="by-rule">'),
    html.indexOf('<section id="by-namespace">'),
  );
  return section.match(/<tr data-ns=.*<\/tr>/g) ?? [];
}

describe("renderHtml", () => {
  const shop = report(
    [
      object([finding()]),
      object(
        [
          finding({
            rule: "image-tag-mutable",
            severity: "warn",
            name: "api",
            line: 30,
            path: "spec.template.spec.containers[name=api].image",
            message: 'container "api" image "api:latest" has a mutable tag',
            fix: "pin the image by digest",
          }),
        ],
        { name: "api" },
      ),
      object([], { name: "db", kind: "StatefulSet" }),
      object([], { kind: "Rollout", apiVersion: "argoproj.io/v1alpha1", name: "canary", rules: [] }),
      object([], { kind: "Pod", name: "web-1", rules: [], skipped: "controlled by a workload" }),
    ],
    { files: 2, documents: 5 },
  );
  const html = renderHtml(shop, RULES, NOW);

  test("the summary counts objects, findings by severity, exempted and not covered", () => {
    for (const [id, value] of [
      ["objects", 5],
      ["findings", 2],
      ["deny", 1],
      ["warn", 1],
      ["exempted", 0],
      ["not-covered", 1],
      ["skipped", 1],
      ["errors", 0],
    ] as const) {
      expect(html).toContain(`<dd id="summary-${id}">${value}</dd>`);
    }
    expect(html).toContain(
      '<p id="not-covered">Not covered (no rule checks them): Rollout (argoproj.io/v1alpha1)</p>',
    );
    expect(html).toContain('<p class="meta">enforce mode · 2 files, 5 documents · tollgate ');
  });

  test("a namespace's score counts the judged objects without a deny finding; one deny makes it not ready", () => {
    // web (deny), api (warn only), db (clean) are judged; the Rollout and the owned Pod are not.
    expect(html).toContain(
      '<tr data-namespace="ns:shop"><td>shop</td><td class="num">3</td><td class="num">1</td>' +
        '<td class="num">2</td><td class="num score">67</td><td class="ready"><span class="no">no</span></td></tr>',
    );
  });

  test("a finding row names the object, its file and line, the message with its path, and the fix", () => {
    expect(ruleRows(html)).toEqual([
      '<tr data-ns="ns:shop" data-rule="run-as-root" data-sev="deny"><td class="sev-deny">deny</td>' +
        "<td>Deployment</td><td>shop</td><td>web</td><td>deploy/web.yaml:18</td>" +
        "<td>container &quot;web&quot; must set securityContext.runAsNonRoot=true" +
        '<div class="path">spec.template.spec.containers[name=web].securityContext.runAsNonRoot</div></td>' +
        "<td>set securityContext.runAsNonRoot: true on container &quot;web&quot; or on the pod</td></tr>",
      '<tr data-ns="ns:shop" data-rule="image-tag-mutable" data-sev="warn"><td class="sev-warn">warn</td>' +
        "<td>Deployment</td><td>shop</td><td>api</td><td>deploy/web.yaml:30</td>" +
        "<td>container &quot;api&quot; image &quot;api:latest&quot; has a mutable tag" +
        '<div class="path">spec.template.spec.containers[name=api].image</div></td>' +
        "<td>pin the image by digest</td></tr>",
    ]);
  });

  test("a rule's section has its title and its remediation, the YAML as preformatted code", () => {
    expect(html).toContain(
      '<h3><code>run-as-root</code> — Containers run as a non-root user <span class="count">1 finding (1 deny, 0 warn)</span></h3>\n' +
        "<details><summary>How to fix</summary><p>Run as a non-root user:</p>" +
        "<pre><code>securityContext:\n  runAsNonRoot: true</code></pre></details>",
    );
  });

  test("the filter offers the namespaces, rules and severities of the findings", () => {
    expect(html).toContain(
      '<select id="filter-namespace"><option value="">all</option><option value="ns:shop">shop</option></select>',
    );
    expect(html).toContain(
      '<select id="filter-rule"><option value="">all</option><option value="image-tag-mutable">image-tag-mutable</option>' +
        '<option value="run-as-root">run-as-root</option></select>',
    );
    expect(html).toContain('<output id="filter-shown" data-total="2">2 of 2 finding rows shown</output>');
  });

  test("the page loads nothing: a CSP forbids every load and allows only its own style and script", () => {
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">`,
    );
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
    expect(CONTENT_SECURITY_POLICY).toBe(
      `default-src 'none'; style-src ${hash(style)}; script-src ${hash(script)}; base-uri 'none'; form-action 'none'`,
    );
    expect(html).not.toMatch(/\b(src|href)=/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  test("a report in warn mode shows no score or readiness, and says why", () => {
    const warned = renderHtml({ ...shop, mode: "warn" }, RULES, NOW);
    expect(warned).toContain("This report was made in warn mode, where nothing denies");
    expect(warned).toContain('<td class="num score">—</td><td class="ready">—</td>');
  });

  test("an empty report says there is nothing, instead of empty tables", () => {
    const empty = renderHtml(report([]), RULES, NOW);
    expect(empty).toContain("<p>No object was judged.</p>");
    expect(empty).toContain('<section id="by-rule"><h2>Findings by rule</h2>\n<p>No findings.</p>');
    expect(empty).toContain("<p>No finding is exempted.</p>");
    expect(empty).toContain("<p>No notices.</p>");
  });
});

describe("renderHtml escapes what the input wrote", () => {
  const evil = "<script>alert(1)</script>";
  const html = renderHtml(
    report(
      [
        object(
          [
            finding({
              name: evil,
              namespace: '"><img src=x onerror=alert(2)>',
              message: `container "${evil}" must set securityContext.runAsNonRoot=true`,
              file: "a&b.yaml",
            }),
          ],
          {
            name: evil,
            namespace: '"><img src=x onerror=alert(2)>',
            notices: [`exemption ignored: ${evil}`],
          },
        ),
      ],
      { errors: [{ file: "<b>.yaml", line: 3, message: evil }], notes: [evil] },
    ),
    RULES,
    NOW,
  );

  test("as text, in cells, attributes, options, notices, errors and notes", () => {
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html).not.toContain("<img");
    expect(html).toContain("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>");
    expect(html).toContain('data-ns="ns:&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"');
    expect(html).toContain(
      '<option value="ns:&quot;&gt;&lt;img src=x onerror=alert(2)&gt;">&quot;&gt;&lt;img src=x onerror=alert(2)&gt;</option>',
    );
    expect(html).toContain(
      "<li><b>Deployment &quot;&gt;&lt;img src=x onerror=alert(2)&gt;/&lt;script&gt;alert(1)&lt;/script&gt;</b>: " +
        "exemption ignored: &lt;script&gt;alert(1)&lt;/script&gt;</li>",
    );
    expect(html).toContain("<li>&lt;b&gt;.yaml:3: &lt;script&gt;alert(1)&lt;/script&gt;</li>");
    expect(html).toContain("<td>a&amp;b.yaml:18</td>");
  });

  test("escapeHtml replaces the five characters that end text or an attribute", () => {
    expect(escapeHtml(`<a href='x' title="y">&amp;</a>`)).toBe(
      "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;amp;&lt;/a&gt;",
    );
  });

  test("a string longer than MAX_TEXT is cut", () => {
    const long = renderHtml(report([object([finding({ name: "n".repeat(MAX_TEXT + 500) })])]), RULES, NOW);
    expect(long).toContain(`<td>${"n".repeat(MAX_TEXT)}…</td>`);
    expect(long).not.toContain("n".repeat(MAX_TEXT + 1));
  });
});

describe("exempted findings", () => {
  const exempted = (until: string, name: string) =>
    finding({ name, exemption: { source: "annotation", reason: "legacy image", until } });
  const html = renderHtml(
    report([
      object([], { name: "later", exempted: [exempted("2027-01-31", "later")] }),
      object([], { name: "soon", exempted: [exempted("2026-12-10", "soon")] }),
      object([], { name: "edge", exempted: [exempted("2026-12-17", "edge")] }),
    ]),
    RULES,
    NOW,
  );
  const rows = html.slice(html.indexOf('<section id="exempted">')).match(/<tr data-ns=.*<\/tr>/g) ?? [];

  test("are listed soonest expiry first, with the exemption's source and reason", () => {
    expect(rows.map((row) => /<td>(soon|edge|later)<\/td>/.exec(row)![1])).toEqual(["soon", "edge", "later"]);
    expect(rows[0]).toContain("<td>annotation: legacy image</td>");
  });

  test(`are flagged "expires soon" within ${EXPIRES_SOON_DAYS} days of now`, () => {
    expect(rows[0]).toContain(
      '<td class="expiry"><span class="soon">expires soon</span>: last day 2026-12-10, in 7 days</td>',
    );
    expect(rows[1]).toContain(
      '<td class="expiry"><span class="soon">expires soon</span>: last day 2026-12-17, in 14 days</td>',
    );
    expect(rows[2]).toContain('<td class="expiry">last day 2027-01-31, in 59 days</td>');
  });

  test("are counted in the summary and offered by the filter", () => {
    expect(html).toContain('<dd id="summary-exempted">3</dd>');
    expect(html).toContain('<option value="ns:shop">shop</option>');
  });
});

describe("a report of 10,000 objects stays a page a browser opens", () => {
  const RULE_IDS = ["run-as-root", "image-tag-mutable", "liveness-probe-missing", "seccomp-profile-missing"];
  const objects: ReportObject[] = [];
  for (let i = 0; i < 10_000; i++) {
    const namespace = `team-${i % 200}`;
    const findings = RULE_IDS.map((rule) =>
      finding({ rule, namespace, name: `app-${i}`, severity: rule === "run-as-root" ? "deny" : "warn" }),
    );
    objects.push(object(findings, { namespace, name: `app-${i}` }));
  }
  const big = report(objects, { files: 10_000, documents: 10_000 });
  const started = performance.now();
  const html = renderHtml(big, RULES, NOW);
  const ms = performance.now() - started;

  test("at most MAX_ROWS_PER_GROUP rows per rule, the rest counted", () => {
    expect(ruleRows(html)).toHaveLength(RULE_IDS.length * MAX_ROWS_PER_GROUP);
    expect(html.match(/9975 more findings not shown \(the JSON output lists them all\)/g)).toHaveLength(
      RULE_IDS.length,
    );
  });

  test("at most MAX_NAMESPACE_GROUPS namespace sections, the rest counted", () => {
    expect(html.match(/data-namespace-group=/g)).toHaveLength(MAX_NAMESPACE_GROUPS);
    expect(html).toContain(
      `<p class="more">${200 - MAX_NAMESPACE_GROUPS} more namespaces with findings not shown</p>`,
    );
    // Each namespace holds 50 objects with 4 findings each: 200 findings, 25 shown.
    expect(html).toContain(
      '<p class="more">175 more findings not shown (the JSON output lists them all)</p>',
    );
  });

  test("the summary still counts everything, and the page is small and quick", () => {
    expect(html).toContain('<dd id="summary-findings">40000</dd>');
    expect(html).toContain('<dd id="summary-deny">10000</dd>');
    expect(html.length).toBeLessThan(1_500_000);
    expect(ms).toBeLessThan(2_000);
  });
});

describe("namespaceStandings", () => {
  test("counts judged objects only, cluster-scoped ones as the namespace ''", () => {
    const standings = namespaceStandings(
      report([
        object([finding({ namespace: "", kind: "ClusterRole", name: "all", rule: "rbac-wildcard" })]),
        object([finding({ namespace: "b" })]),
        object([], { namespace: "b", name: "ok" }),
        object([], { namespace: "b", name: "crd", rules: [] }),
        object([], { namespace: "a", name: "owned", rules: [], skipped: "owned" }),
        object([finding({ namespace: "a", severity: "warn" })]),
      ]),
    );
    expect(standings).toEqual([
      { namespace: "", judged: 1, denied: 1, findings: 1, score: 0, ready: false },
      { namespace: "a", judged: 1, denied: 0, findings: 1, score: 100, ready: true },
      { namespace: "b", judged: 2, denied: 1, findings: 1, score: 50, ready: false },
    ]);
  });
});

describe("tollgate check --output html", () => {
  test("writes the page for the fixtures, with the exit code of the findings", async () => {
    const captured = captureIO();
    const code = await runCheck(["test/fixtures/check/tree", "--output", "html"], captured.io);
    expect(code).toBe(1);
    const html = captured.stdout();
    expect(html.startsWith("<!doctype html>\n")).toBe(true);
    expect(html).toContain('<dd id="summary-deny">5</dd>');
    expect(html).toContain('<td class="num score">33</td>');
    expect(captured.stderr()).toBe("");
  });
});
