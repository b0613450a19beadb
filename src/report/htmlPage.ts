import { createHash } from "node:crypto";

/**
 * The HTML report's fixed parts: its style sheet, its filter script, and a Content-Security-Policy
 * that allows exactly these two (by hash) and no load at all. The page must work from a file
 * opened offline, and the CSP is the second wall behind escaping: were an object's name ever to
 * reach the page as markup, a script in it would not run and nothing could be fetched.
 */

const STYLE = `
:root { color-scheme: light dark; --deny: #b42318; --warn: #a15c07; --ok: #067647; --line: #8884; }
[hidden] { display: none !important; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1400px; padding: 1rem 2rem 4rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid var(--line); margin-top: 2.2rem; padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin: 1.6rem 0 0.4rem; }
.meta, .more, .count { color: #888; }
dl.summary { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 0; }
dl.summary div { border: 1px solid var(--line); border-radius: 6px; min-width: 7rem; padding: 0.5rem 0.9rem; }
dl.summary dt { color: #888; font-size: 0.85rem; }
dl.summary dd { font-size: 1.5rem; font-weight: 600; margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { font-size: 0.85rem; }
td.num, th.num { text-align: right; }
code, pre { font: 12px/1.4 ui-monospace, monospace; }
pre { background: #8881; border-radius: 4px; overflow-x: auto; padding: 0.6rem; }
.path { color: #888; font: 12px ui-monospace, monospace; word-break: break-all; }
.sev-deny, .no { color: var(--deny); font-weight: 600; }
.sev-warn, .soon { color: var(--warn); font-weight: 600; }
.yes { color: var(--ok); font-weight: 600; }
#filter { background: Canvas; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 1rem;
  align-items: center; padding: 0.6rem 0; position: sticky; top: 0; }
`;

const SCRIPT = `
(function () {
  var ns = document.getElementById("filter-namespace");
  var rule = document.getElementById("filter-rule");
  var sev = document.getElementById("filter-severity");
  var shown = document.getElementById("filter-shown");
  function apply() {
    var rows = document.querySelectorAll("tr[data-rule]");
    var visible = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var keep = (ns.value === "" || row.getAttribute("data-ns") === ns.value) &&
        (rule.value === "" || row.getAttribute("data-rule") === rule.value) &&
        (sev.value === "" || row.getAttribute("data-sev") === sev.value);
      row.hidden = !keep;
      if (keep && row.closest("#by-rule")) visible++;
    }
    var groups = document.querySelectorAll(".group");
    for (var j = 0; j < groups.length; j++) {
      groups[j].hidden = groups[j].querySelector("tr[data-rule]:not([hidden])") === null;
    }
    shown.textContent = visible + " of " + shown.getAttribute("data-total") + " finding rows shown";
  }
  [ns, rule, sev].forEach(function (select) { select.addEventListener("change", apply); });
  apply();
})();
`;

function sha256(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/** The `<meta>` CSP: nothing may load (no fetch, image, font, frame, form target); only our style and script run. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${sha256(STYLE)}`,
  `script-src ${sha256(SCRIPT)}`,
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

/** The page around `body` (already escaped markup), with `title` (already escaped). */
export function htmlPage(title: string, body: string): string {
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${title}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    body,
    `<script>${SCRIPT}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
