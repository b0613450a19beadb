import { refOf } from "../../objects/object.js";
import { CLUSTER, finding, list } from "./shared.js";
import type { Check } from "./types.js";

export const backupScheduleMissing: Check = {
  id: "backup-schedule-missing",
  title: "Backups are scheduled",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "A cluster without a scheduled backup (a Velero Schedule, or a CronJob that snapshots etcd) cannot be restored after a failed upgrade or a deleted namespace.",
  remediation:
    "Install Velero and create a Schedule (`velero schedule create daily --schedule='0 3 * * *'`).",
  needs: ["CronJob"],
  optional: ["Schedule"],
  namespaceScoped: false,
  run(snapshot) {
    if (list(snapshot, "Schedule").length > 0) return [];
    const etcdBackup = list(snapshot, "CronJob").some((job) => {
      const text = JSON.stringify([refOf(job).name, job.spec ?? {}]);
      return /etcd/i.test(text) && /backup|snapshot/i.test(text);
    });
    if (etcdBackup) return [];
    const velero =
      snapshot.unavailable.Schedule === "not served"
        ? "Velero is not installed (velero.io/v1 Schedule is not served)"
        : "no Velero Schedule exists";
    return [
      finding(
        backupScheduleMissing,
        CLUSTER,
        "",
        `no backup is scheduled: ${velero} and no CronJob backs up etcd`,
        "install Velero and create a Schedule, or run an etcd snapshot CronJob",
      ),
    ];
  },
};
