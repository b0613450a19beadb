import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createMetrics } from "../src/metrics.js";
import { PACKAGE_NAME, toolVersion } from "../src/version.js";
import { runTollgate } from "./cli/run.js";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  name: string;
  version: string;
};

describe("tollgate's version", () => {
  it("is package.json's, read at run time, under the scoped package name", () => {
    expect(pkg.name).toBe(PACKAGE_NAME);
    expect(PACKAGE_NAME).toBe("@tollgate-dev/tollgate");
    expect(toolVersion()).toBe(pkg.version);
  });

  it("is what `tollgate --version` prints, alone on its line, exit 0", async () => {
    const ran = await runTollgate(["--version"]);
    expect(ran).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });

  it("labels tollgate_build_info, which is always 1", async () => {
    const exposition = await createMetrics().registry.metrics();
    expect(exposition).toContain(
      `# TYPE tollgate_build_info gauge\ntollgate_build_info{version="${pkg.version}",node="${process.version}"} 1\n`,
    );
  });
});
