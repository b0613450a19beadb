import type { PodSpecTarget, RawFinding, Rule } from "./types.js";
import { quote } from "./visit.js";
import { POD_SPEC_KINDS } from "../objects/kinds.js";

export const hostPathVolume: Rule<PodSpecTarget> = {
  id: "host-path-volume",
  title: "Pods mount no hostPath volume",
  category: "security",
  defaultSeverity: "deny",
  targets: ["podSpec"],
  kinds: POD_SPEC_KINDS,
  description:
    "A hostPath volume exposes the node's filesystem to the pod: the container runtime socket, kubelet credentials, other pods' data. It also ties the pod to one node's disk. The Pod Security Standards forbid hostPath volumes from the baseline profile up.",
  remediation: `Use a PersistentVolumeClaim for data, an emptyDir for scratch space:

\`\`\`yaml
volumes:
  - name: data
    persistentVolumeClaim:
      claimName: web-data
  - name: tmp
    emptyDir: {}
\`\`\``,
  check(target) {
    const findings: RawFinding[] = [];
    target.spec.volumes?.forEach((volume, index) => {
      if (volume.hostPath === undefined) return;
      const name = volume.name || `#${index}`;
      const hostPath = volume.hostPath.path === undefined ? "" : ` (${volume.hostPath.path})`;
      findings.push({
        path: `${target.specPath}.volumes${volume.name ? `[name=${name}]` : `[${index}]`}.hostPath`,
        message: `volume ${quote(name)} mounts the node's filesystem${hostPath}`,
        fix: `replace hostPath volume ${quote(name)} with a persistentVolumeClaim, emptyDir, configMap or secret`,
      });
    });
    return findings;
  },
};
