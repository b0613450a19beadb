import { CLUSTER, finding } from "./shared.js";
import type { Check } from "./types.js";

/**
 * The newest Kubernetes minor release tollgate knows of (v1.37: the end-to-end tests run v1.37.2).
 * A server newer than this counts as the newest; bump it with each Kubernetes release.
 */
export const NEWEST_KUBERNETES_MINOR = 37;
/** Kubernetes supports the three newest minor releases. */
const SUPPORTED_MINORS = 3;

export const serverVersionUnsupported: Check = {
  id: "server-version-unsupported",
  title: "The cluster runs a supported Kubernetes release",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description: `Kubernetes patches the ${SUPPORTED_MINORS} newest minor releases; an older server gets no security fixes.`,
  remediation: "Upgrade the control plane one minor release at a time, then the nodes.",
  needs: [],
  readsVersion: true,
  namespaceScoped: false,
  run(snapshot, { newestMinor }) {
    const version = snapshot.version;
    if (!version) return [];
    const minor = Number.parseInt(version.minor, 10);
    if (version.major !== "1" || !Number.isInteger(minor)) return [];
    const newest = Math.max(newestMinor, minor);
    const oldest = newest - SUPPORTED_MINORS + 1;
    if (minor >= oldest) return [];
    return [
      finding(
        serverVersionUnsupported,
        CLUSTER,
        "",
        `the server runs Kubernetes ${version.gitVersion}, outside the supported releases 1.${oldest} to 1.${newest}`,
        `upgrade the cluster to 1.${oldest} or newer`,
      ),
    ];
  },
};
