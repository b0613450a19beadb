import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runCheck } from "../../src/cli/check.js";
import { captureIO } from "../cli/helpers.js";

/**
 * The HTML report in a real browser: Debian's Chromium (scripts/chromium.sh installs it; .ci/run
 * passes its path as TOLLGATE_CHROMIUM), headless, driven by playwright-core. A TOLLGATE_CHROMIUM
 * that does not exist fails the test; without it, a machine with no chromium on PATH skips it.
 */
function findChromium(): string | undefined {
  const given = process.env.TOLLGATE_CHROMIUM;
  if (given !== undefined && given !== "") {
    if (!existsSync(given)) throw new Error(`TOLLGATE_CHROMIUM=${given} does not exist`);
    return given;
  }
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const CHROMIUM = findChromium();
if (CHROMIUM === undefined) {
  console.warn(
    "test/browser skipped: no chromium on PATH and TOLLGATE_CHROMIUM unset (run scripts/chromium.sh, which installs Debian's chromium)",
  );
}

let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tollgate-html-"));
  if (CHROMIUM !== undefined) browser = await chromium.launch({ executablePath: CHROMIUM });
});

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `tollgate check ARGS --output html` through the CLI code, written to a file in the temp folder. */
async function checkToFile(args: string[], name: string): Promise<{ code: number; url: string }> {
  const captured = captureIO();
  const code = await runCheck([...args, "--output", "html"], captured.io);
  expect(captured.stderr()).toBe("");
  const file = join(dir, name);
  writeFileSync(file, captured.stdout());
  return { code, url: pathToFileURL(file).href };
}

interface Opened {
  page: Page;
  requests: string[];
  problems: string[];
  dialogs: string[];
}

/** The page at `url`, with every request, console error, page error and dialog it made recorded. */
async function open(url: string): Promise<Opened> {
  const page = await browser.newPage();
  const opened: Opened = { page, requests: [], problems: [], dialogs: [] };
  page.on("request", (request) => opened.requests.push(request.url()));
  page.on("console", (message) => {
    if (message.type() === "error") opened.problems.push(message.text());
  });
  page.on("pageerror", (error) => opened.problems.push(error.message));
  page.on("dialog", (dialog) => {
    opened.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(url);
  return opened;
}

const visibleRuleRows = (page: Page) => page.locator("#by-rule tr[data-rule]:visible");

describe.skipIf(CHROMIUM === undefined)("the HTML report in headless Chromium", () => {
  test("shows the fixtures' numbers, messages and scores, and loads nothing but itself", async () => {
    const { code, url } = await checkToFile(["test/fixtures/check/tree"], "tree.html");
    expect(code).toBe(1);
    const { page, requests, problems } = await open(url);
    expect(await page.title()).toBe("tollgate check report");
    expect(await page.locator("#summary-objects").textContent()).toBe("4");
    expect(await page.locator("#summary-findings").textContent()).toBe("5");
    expect(await page.locator("#summary-deny").textContent()).toBe("5");
    expect(await page.locator("#summary-warn").textContent()).toBe("0");
    expect(await page.locator("#summary-exempted").textContent()).toBe("0");
    const shop = page.locator('#namespaces tr[data-namespace="ns:shop"] td');
    expect(await shop.allTextContents()).toEqual(["shop", "3", "2", "4", "33", "no"]);
    await expect
      .poll(() => page.getByText('container "db" has no limits.cpu or limits.memory').first().isVisible())
      .toBe(true);
    // The script ran (it rewrites the count on load): the CSP lets the page's own script through.
    expect(await page.locator("#filter-shown").textContent()).toBe("5 of 5 finding rows shown");
    expect(requests).toEqual([url]);
    expect(problems).toEqual([]);
    await page.close();
  });

  test("choosing a rule in the filter hides the other rows; choosing all again shows them", async () => {
    const { url } = await checkToFile(["test/fixtures/check/tree"], "filter.html");
    const { page, requests, problems } = await open(url);
    expect(await visibleRuleRows(page).count()).toBe(5);
    expect(await page.locator("#by-namespace tr[data-rule]:visible").count()).toBe(5);

    await page.selectOption("#filter-rule", "run-as-root");
    expect(await visibleRuleRows(page).count()).toBe(1);
    expect(await visibleRuleRows(page).locator("td").allTextContents()).toEqual([
      "deny",
      "Pod",
      "shop",
      "debug",
      "test/fixtures/check/tree/apps/web.yaml:65",
      'container "shell" must set securityContext.runAsNonRoot=truespec.containers[name=shell].securityContext.runAsNonRoot',
      'set securityContext.runAsNonRoot: true on container "shell" or on the pod',
    ]);
    expect(await page.locator("#filter-shown").textContent()).toBe("1 of 5 finding rows shown");
    // The sections of other rules, and of the namespace with no such finding, are hidden whole.
    expect(await page.locator('[data-rule-group="rbac-wildcard"]').isVisible()).toBe(false);
    expect(await page.locator('[data-namespace-group="ns:"]').isVisible()).toBe(false);
    expect(await page.locator('[data-namespace-group="ns:shop"]').isVisible()).toBe(true);

    await page.selectOption("#filter-rule", "");
    await page.selectOption("#filter-namespace", "ns:");
    expect(await visibleRuleRows(page).count()).toBe(1);
    expect(await visibleRuleRows(page).getAttribute("data-rule")).toBe("rbac-wildcard");

    await page.selectOption("#filter-namespace", "");
    await page.selectOption("#filter-severity", "warn");
    expect(await visibleRuleRows(page).count()).toBe(0);
    await page.selectOption("#filter-severity", "");
    expect(await visibleRuleRows(page).count()).toBe(5);
    expect(requests).toEqual([url]);
    expect(problems).toEqual([]);
    await page.close();
  });

  test("an object named <script>alert(1)</script> is shown as text and runs nothing", async () => {
    const manifest = join(dir, "evil.yaml");
    writeFileSync(
      manifest,
      [
        "apiVersion: v1",
        "kind: Pod",
        "metadata:",
        '  name: "<script>alert(1)</script>"',
        '  namespace: "<img src=x onerror=alert(2)>"',
        "spec:",
        "  containers:",
        '    - name: "<b>c</b>"',
        "      image: registry.example.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "      securityContext: {privileged: true}",
        "",
      ].join("\n"),
    );
    const { code, url } = await checkToFile([manifest], "evil.html");
    expect(code).toBe(1);
    const { page, requests, problems, dialogs } = await open(url);
    const name = page.locator('#by-rule [data-rule-group="privileged-container"] td').nth(3);
    expect(await name.textContent()).toBe("<script>alert(1)</script>");
    expect(await page.locator("#by-rule img, #by-rule b").count()).toBe(0);
    expect(await page.locator("script").count()).toBe(1);
    expect(dialogs).toEqual([]);
    expect(requests).toEqual([url]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
