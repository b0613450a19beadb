/** Items written out per chunk: about half a megabyte to a megabyte of report text. */
export const ITEMS_PER_CHUNK = 1000;

/** A string as JSON, quotes and escapes included. */
export const quote: (text: string) => string = JSON.stringify;

/**
 * The texts of `items`, as the elements of a JSON array laid out by hand (each text already
 * indented for its depth), joined by `,\n` and yielded ITEMS_PER_CHUNK at a time: the JSON and
 * SARIF reports write some 70,000 findings for 10,000 documents, and a writer that sends each
 * chunk out at once never holds the whole text.
 */
export function* arrayChunks<T>(
  items: readonly T[],
  text: (item: T) => string,
): Generator<string, void, undefined> {
  for (let start = 0; start < items.length; start += ITEMS_PER_CHUNK) {
    yield `${start === 0 ? "" : ",\n"}${items
      .slice(start, start + ITEMS_PER_CHUNK)
      .map(text)
      .join(",\n")}`;
  }
}
