import { EXEMPTION_ANNOTATIONS, MODE_LABEL } from "../objects/labels.js";
import { metadataMap, stringAt } from "../objects/object.js";

/**
 * The policy metadata this change sets: the mode label (on a Namespace) when it differs from the old
 * object's, and every exemption annotation that is added or changed. Removing an exemption is not
 * listed: it can only make the policy stricter.
 */
export function policyMetadataChanges(
  object: Readonly<Record<string, unknown>>,
  oldObject: Readonly<Record<string, unknown>> | undefined,
): { modeLabel: boolean; annotations: string[] } {
  let modeLabel = false;
  if (object.kind === "Namespace") {
    const now = stringAt(metadataMap(object, "labels"), MODE_LABEL);
    const before = stringAt(metadataMap(oldObject, "labels"), MODE_LABEL);
    modeLabel = now !== before;
  }
  const annotations: string[] = [];
  const current = metadataMap(object, "annotations");
  const previous = metadataMap(oldObject, "annotations");
  for (const key of EXEMPTION_ANNOTATIONS) {
    const value = stringAt(current, key);
    if (value !== undefined && value !== stringAt(previous, key)) annotations.push(key);
  }
  return { modeLabel, annotations };
}
