import type { Finding } from "../rules/types.js";

function keyOf(finding: Finding): string {
  return `${finding.rule}\u0000${finding.path}\u0000${finding.message}`;
}

/**
 * The ratchet: deny findings the old object already had (same rule, field path and message)
 * become warnings, so a team can still patch a legacy workload while it fixes it. Returns the
 * findings with severities resolved and how many were downgraded. `oldFindings` is only asked
 * for when there is something to downgrade.
 */
export function applyRatchet(
  findings: readonly Finding[],
  oldFindings: () => readonly Finding[],
  exempt: (finding: Finding) => boolean,
): { findings: Finding[]; downgraded: number } {
  if (!findings.some((f) => f.severity === "deny" && !exempt(f))) {
    return { findings: findings as Finding[], downgraded: 0 };
  }
  const before = new Set(oldFindings().map(keyOf));
  let downgraded = 0;
  const resolved = findings.map((finding) => {
    if (finding.severity !== "deny" || exempt(finding) || !before.has(keyOf(finding))) return finding;
    downgraded++;
    return { ...finding, severity: "warn" as const, ratcheted: true };
  });
  return { findings: resolved, downgraded };
}
