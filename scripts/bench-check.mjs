#!/usr/bin/env node
// Measures `tollgate check` on 10,000 documents, end to end (node start-up included):
//   npm run build && node scripts/bench-check.mjs [documents] [runs]
// Writes the manifests to .bench/ (gitignored) and prints the median wall time per output format.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const count = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 5);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(runs) || runs < 1) {
  console.error(
    "usage: node scripts/bench-check.mjs [documents (10000)] [runs (5)], both whole numbers from 1",
  );
  process.exit(2);
}

/**
 * Document `i` of a realistic mix: workloads with and without findings, RBAC, namespaces, and kinds
 * no rule reads.
 * @param {number} i
 */
function document(i) {
  switch (i % 4) {
    case 0:
      return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-${i}
  namespace: team-${i % 50}
  labels: {app: web-${i}}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web-${i}}
  template:
    metadata:
      labels: {app: web-${i}}
    spec:
      serviceAccountName: web
      securityContext:
        runAsNonRoot: true
      containers:
        - name: web
          image: registry.example.com/web:1.2.${i}
          ports:
            - containerPort: 8080
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 256Mi}
`;
    case 1:
      return `apiVersion: v1
kind: Pod
metadata:
  name: job-${i}
  namespace: team-${i % 50}
spec:
  containers:
    - name: main
      image: busybox
      command: ["sh", "-c", "echo ${i}"]
      securityContext:
        privileged: true
    - name: sidecar
      image: envoy:1.30
      resources:
        requests:
          cpu: 10m
          memory: 16Mi
`;
    case 2:
      return `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: role-${i}
  namespace: team-${i % 50}
rules:
  - apiGroups: [""]
    resources: ["configmaps", "pods"]
    verbs: ["get", "list", "watch"]
  - apiGroups: ["apps"]
    resources: ["*"]
    verbs: ["get"]
`;
    default:
      return `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-${i}
  namespace: team-${i % 50}
data:
  key: value-${i}
  other: |
    multi
    line
`;
  }
}

mkdirSync(".bench", { recursive: true });
const file = join(".bench", `check-${count}.yaml`);
writeFileSync(file, Array.from({ length: count }, (_, i) => document(i)).join("---\n"));

for (const output of ["json", "text", "sarif"]) {
  /** @type {number[]} */
  const times = [];
  /** @type {number | null} */
  let status = null;
  for (let run = 0; run < runs; run++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, ["dist/src/main.js", "check", file, "--output", output], {
      maxBuffer: 1 << 30,
      encoding: "utf8",
    });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    status = result.status;
    if (result.status !== 0 && result.status !== 1) {
      process.stderr.write(result.stderr);
      process.exit(1);
    }
  }
  times.sort((a, b) => a - b);
  // `runs` is at least 1, so both exist.
  const median = /** @type {number} */ (times[Math.floor(times.length / 2)]);
  const best = /** @type {number} */ (times[0]);
  console.log(
    `${count} documents, --output ${output}: median ${median.toFixed(0)} ms, best ${best.toFixed(0)} ms over ${runs} runs (exit ${status})`,
  );
}
