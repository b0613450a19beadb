import type { Environment } from "@marcbachmann/cel-js";

/**
 * What the apiserver's strings extension (cel-go ext.Strings, version 2) has beyond cel-js's own
 * string functions. Indexes count code points, as cel-go's do, not UTF-16 units.
 */
export function registerStrings(env: Environment): void {
  env.registerFunction("string.charAt(int): string", (text: string, index: bigint) => {
    const points = [...text];
    if (index < 0n || index > BigInt(points.length)) {
      throw new Error(`index out of range: ${index}`);
    }
    return points[Number(index)] ?? "";
  });
  env.registerFunction("string.replace(string, string): string", (text: string, from: string, to: string) =>
    text.split(from).join(to),
  );
  env.registerFunction(
    "string.replace(string, string, int): string",
    (text: string, from: string, to: string, limit: bigint) => {
      if (limit < 0n) return text.split(from).join(to);
      const parts = text.split(from);
      const replaced = Number(limit) + 1;
      return (
        parts.slice(0, replaced).join(to) +
        (parts.length > replaced ? from + parts.slice(replaced).join(from) : "")
      );
    },
  );
}
