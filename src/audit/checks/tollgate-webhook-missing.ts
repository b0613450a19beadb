import { refOf } from "../../objects/object.js";
import { finding, list } from "./shared.js";
import type { Check } from "./types.js";

export const tollgateWebhookMissing: Check = {
  id: "tollgate-webhook-missing",
  title: "tollgate's webhook is registered",
  category: "cluster",
  defaultSeverity: "warn",
  sources: ["audit"],
  description:
    "Without its ValidatingWebhookConfiguration the apiserver never asks tollgate, and nothing is checked at admission.",
  remediation: "`tollgate manifests | kubectl apply -f -`",
  needs: ["ValidatingWebhookConfiguration"],
  namespaceScoped: false,
  run(snapshot, { config }) {
    const name = config.webhook.name;
    if (list(snapshot, "ValidatingWebhookConfiguration").some((w) => refOf(w).name === name)) return [];
    return [
      finding(
        tollgateWebhookMissing,
        { kind: "ValidatingWebhookConfiguration", namespace: "", name },
        "",
        `the ValidatingWebhookConfiguration ${name} does not exist: admission is not checked`,
        "install tollgate: tollgate manifests | kubectl apply -f -",
      ),
    ];
  },
};
