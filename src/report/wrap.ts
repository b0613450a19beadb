/** Fewer columns than this for a wrapped text would make each word its own line: the indent gives way. */
const MIN_TEXT = 24;

// eslint-disable-next-line no-control-regex -- the colour codes are what it matches
const SGR = /\u001b\[[0-9;]*m/g;

/** How many columns a text takes on screen: its colour codes take none. */
export function visibleLength(text: string): number {
  return text.replace(SGR, "").length;
}

/**
 * `text` broken at spaces into pieces that fit `width` columns when the first is printed from
 * column `start` and the others from column `indent`. A word longer than a whole line (a field
 * path) is cut, so that no line ever passes `width`: a terminal that wraps on its own breaks the
 * columns. Returns the pieces without their indentation.
 */
export function wrap(text: string, width: number, start: number, indent: number): string[] {
  const firstRoom = Math.max(MIN_TEXT, width - start);
  const room = Math.max(MIN_TEXT, width - indent);
  const pieces: string[] = [];
  let current = "";
  const limit = () => (pieces.length === 0 ? firstRoom : room);
  for (const word of text.split(" ")) {
    const joined = current === "" ? word : `${current} ${word}`;
    if (visibleLength(joined) <= limit()) {
      current = joined;
      continue;
    }
    if (current !== "") pieces.push(current);
    current = word;
    // Only a word without colour is cut: the words painted (a severity, a count) are short.
    while (current.length > limit() && visibleLength(current) === current.length) {
      const piece = current.slice(0, limit());
      pieces.push(piece);
      current = current.slice(piece.length);
    }
  }
  pieces.push(current);
  return pieces;
}

/**
 * `text` wrapped (as `wrap`) and laid out as lines: `prefix` (which may hold colour codes)
 * before the first piece, `indent` spaces before the others.
 */
export function wrapLines(text: string, width: number, prefix: string, indent: number): string[] {
  const pad = " ".repeat(Math.min(indent, Math.max(0, width - MIN_TEXT)));
  return wrap(text, width, visibleLength(prefix), pad.length).map(
    (piece, i) => (i === 0 ? prefix : pad) + piece,
  );
}
