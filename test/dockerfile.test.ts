import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile stages with their instructions; continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (keyword.toUpperCase() === "FROM") {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: match?.[1] ?? args, name: match?.[2], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(new URL("../Dockerfile", import.meta.url), "utf8"));
const final = stages.at(-1)!;
const nodeMajor = (image: string) => Number(/node(?:js)?:?(\d+)/.exec(image)?.[1]);

describe("Dockerfile", () => {
  it("is multi-stage, building on one Node LTS line and running on the same line", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const majors = new Set(stages.map((stage) => nodeMajor(stage.from)));
    expect(majors.size).toBe(1);
    const [major] = [...majors];
    // LTS lines are the even majors; 24 is the newest one in Active LTS.
    expect(major! % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(24);
  });

  it("ships production dependencies only, installed from the lock file", () => {
    const copies = final.instructions.filter((i) => i.keyword === "COPY").map((i) => i.args);
    const nodeModules = copies.find((args) => args.includes("node_modules"));
    const from = /--from=(\S+)/.exec(nodeModules ?? "")?.[1];
    const depsStage = stages.find((stage) => stage.name === from);
    expect(
      depsStage?.instructions.some((i) => i.keyword === "RUN" && /npm ci\b.*--omit=dev/.test(i.args)),
    ).toBe(true);
    // Nothing reaches the runtime image from the build context but package.json (the sources stay behind).
    expect(copies.filter((args) => !args.startsWith("--from="))).toEqual(["package.json ./"]);
  });

  it("runs as a non-root user with no shell: a distroless nonroot base and no RUN in the final stage", () => {
    expect(final.from).toMatch(/^gcr\.io\/distroless\/nodejs\d+-debian\d+:nonroot$/);
    expect(final.instructions.filter((i) => i.keyword === "RUN")).toEqual([]);
    const user = final.instructions.filter((i) => i.keyword === "USER").at(-1)?.args ?? "";
    expect(user).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
  });

  it("starts `tollgate serve` in exec form", () => {
    const entrypoint = final.instructions.filter((i) => i.keyword === "ENTRYPOINT").at(-1)!;
    expect(JSON.parse(entrypoint.args)).toEqual(["/nodejs/bin/node", "/app/dist/src/main.js", "serve"]);
    expect(final.instructions.some((i) => i.keyword === "CMD")).toBe(false);
  });
});
