import { readFileSync } from "node:fs";
import { loadAll } from "js-yaml";
import { parseYamlDocuments } from "./dist/src/input/positions.js";

const text = readFileSync("/tmp/bench/10k.yaml", "utf8");
for (let i = 0; i < 4; i++) {
  let t0 = performance.now();
  loadAll(text);
  const a = performance.now() - t0;
  t0 = performance.now();
  parseYamlDocuments(text, 1);
  const b = performance.now() - t0;
  console.log(a.toFixed(0), b.toFixed(0));
}
