import { test } from "vitest";
import { runCheck } from "../src/cli/check.js";
test("x", async () => {
  for (const o of ["text", "json", "junit"]) {
  const out: string[] = [];
  const code = await runCheck(["/tmp/m", "--output", o], { stdin: [], stdout: { write: (t: string) => out.push(t), isTTY: false }, stderr: { write: (t: string) => out.push(t) }, env: {} });
  process.stderr.write(out.join("") + "\nexit " + code + "\n");
  }
});
