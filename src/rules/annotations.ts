import { isRecord } from "./visit.js";

/** The namespace label that picks the webhook entry, and so the mode. */
export const MODE_LABEL = "tollgate.dev/mode";
export const EXEMPT_ANNOTATION = "tollgate.dev/exempt";
export const EXEMPT_REASON_ANNOTATION = "tollgate.dev/exempt-reason";
export const EXEMPT_UNTIL_ANNOTATION = "tollgate.dev/exempt-until";
export const EXEMPTION_ANNOTATIONS = [
  EXEMPT_ANNOTATION,
  EXEMPT_REASON_ANNOTATION,
  EXEMPT_UNTIL_ANNOTATION,
] as const;

const NO_STRINGS: Readonly<Record<string, unknown>> = {};

/** `metadata.labels` or `metadata.annotations` of a raw object, or an empty map. */
export function metadataMap(
  object: Readonly<Record<string, unknown>> | undefined,
  field: "labels" | "annotations",
): Readonly<Record<string, unknown>> {
  const meta = object?.metadata;
  if (!isRecord(meta)) return NO_STRINGS;
  const map = meta[field];
  return isRecord(map) ? map : NO_STRINGS;
}

/** A label or annotation value; absent when missing or not a string. */
export function stringAt(map: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = map[key];
  return typeof value === "string" ? value : undefined;
}

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
  if (current !== NO_STRINGS) {
    const previous = metadataMap(oldObject, "annotations");
    for (const key of EXEMPTION_ANNOTATIONS) {
      const value = stringAt(current, key);
      if (value !== undefined && value !== stringAt(previous, key)) annotations.push(key);
    }
  }
  return { modeLabel, annotations };
}
