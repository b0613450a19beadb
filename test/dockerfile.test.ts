import { spawnSync } from "node:child_process";
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

const TEXT = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8");
const stages = parseDockerfile(TEXT);
const PACKAGE = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
  description: string;
  license: string;
};

/** `key="value"` pairs of the final stage's LABEL instructions, `${ARG}` replaced by the ARG's default. */
function labels(): Record<string, string> {
  const defaults = new Map(
    final.instructions
      .filter((i) => i.keyword === "ARG")
      .map((i) => i.args.split("=") as [string, string | undefined]),
  );
  const pairs = final.instructions
    .filter((i) => i.keyword === "LABEL")
    .flatMap((i) => [...i.args.matchAll(/(\S+?)="([^"]*)"/g)]);
  return Object.fromEntries(
    pairs.map(([, key, value]) => [
      key!,
      value!.replace(/\$\{(\w+)\}/g, (_all, name: string) => defaults.get(name) ?? ""),
    ]),
  );
}
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
    // The unit tests run on this major too: scripts/node.sh fetches it for `npm run test:image-node`.
    const tested = /TOLLGATE_IMAGE_NODE:-(\d+)\./.exec(
      readFileSync(new URL("../scripts/node.sh", import.meta.url), "utf8"),
    );
    expect(Number(tested?.[1])).toBe(major);
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

  it("labels the image with the OCI keys, its version and licence from package.json", () => {
    expect(labels()).toEqual({
      "org.opencontainers.image.title": "tollgate",
      "org.opencontainers.image.description": PACKAGE.description,
      "org.opencontainers.image.licenses": PACKAGE.license,
      "org.opencontainers.image.version": PACKAGE.version,
      "org.opencontainers.image.revision": "unknown",
      "org.opencontainers.image.created": "unknown",
      "org.opencontainers.image.base.name": final.from,
    });
  });

  it("pins every base image by digest, or says in the Dockerfile why not and how to", () => {
    const unpinned = stages.filter((stage) => !/@sha256:[0-9a-f]{64}$/.test(stage.from));
    if (unpinned.length > 0) {
      expect(TEXT).toContain("# Not pinned by digest:");
      for (const stage of unpinned) expect(TEXT).toContain(`imagetools inspect ${stage.from.split("@")[0]}`);
    }
  });

  it("runs no dependency's install script, in any stage", () => {
    const installs = stages.flatMap((stage) =>
      stage.instructions.filter((i) => i.keyword === "RUN" && /\bnpm (ci|install)\b/.test(i.args)),
    );
    expect(installs.length).toBeGreaterThan(0);
    for (const install of installs) expect(install.args).toMatch(/--ignore-scripts\b/);
  });

  it("leaves the application owned by root, so that the user it runs as cannot change it, and declares no volume", () => {
    const copies = final.instructions.filter((i) => i.keyword === "COPY");
    expect(copies.filter((i) => i.args.includes("--chown"))).toEqual([]);
    expect(final.instructions.filter((i) => i.keyword === "VOLUME")).toEqual([]);
  });

  it("says which Node.js the tests run on: the machine's, and the unit tests again on the image's", () => {
    const imageMajor = nodeMajor(final.from);
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8").replace(/\s+/g, " ");
    expect(readme).toContain(`the unit tests again on Node.js ${imageMajor}, which the container image runs`);
    expect(TEXT).toContain(
      `# Node.js ${imageMajor}, the active LTS line, in every stage. The unit tests run on it too`,
    );
  });

  it("starts `tollgate serve` in exec form", () => {
    const entrypoint = final.instructions.filter((i) => i.keyword === "ENTRYPOINT").at(-1)!;
    const argv = JSON.parse(entrypoint.args) as string[];
    expect(argv).toEqual(["/nodejs/bin/node", "--max-semi-space-size=16", "/app/dist/src/main.js", "serve"]);
    expect(final.instructions.some((i) => i.keyword === "CMD")).toBe(false);
    // The flags are ones this Node takes (the suite runs again on the image's major, test:image-node).
    const flags = argv.slice(1, argv.indexOf("/app/dist/src/main.js"));
    expect(spawnSync(process.execPath, [...flags, "-e", "0"], { encoding: "utf8" })).toMatchObject({
      status: 0,
      stderr: "",
    });
  });
});
