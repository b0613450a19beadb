import type { Finding } from "../rules/types.js";

function keyOf(finding: Finding): string {
  return `${finding.rule}\u0000${finding.path}\u0000${finding.message}`;
}

/**
 * The ratchet: deny findings the old object already had (same rule, field path and message)
 * become warnings, so a team can still patch a legacy workload while it fixes it. Returns the
 * findings with severities resolved and how many were downgraded. `oldFindings` is only asked
 * for when there is something to downgrade, and only for the rules that deny: an UPDATE then
 * costs a few rules on the old object instead of the whole catalog.
 */
export function applyRatchet(
  findings: readonly Finding[],
  oldFindings: (rules: ReadonlySet<string>) => readonly Finding[],
  exempt: (finding: Finding) => boolean,
): { findings: Finding[]; downgraded: number } {
  const denying = new Set<string>();
  for (const f of findings) if (f.severity === "deny" && !exempt(f)) denying.add(f.rule);
  if (denying.size === 0) return { findings: findings as Finding[], downgraded: 0 };
  const before = new Set(oldFindings(denying).map(keyOf));
  let downgraded = 0;
  const resolved = findings.map((finding) => {
    if (finding.severity !== "deny" || exempt(finding) || !before.has(keyOf(finding))) return finding;
    downgraded++;
    return { ...finding, severity: "warn" as const, ratcheted: true };
  });
  return { findings: resolved, downgraded };
}
