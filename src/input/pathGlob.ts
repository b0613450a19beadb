import { sep } from "node:path";

/** A glob as a RegExp body: `**` spans folders, `*` and `?` stay within one name. */
function globBody(glob: string): string {
  let body = "";
  let i = 0;
  while (i < glob.length) {
    if (glob.startsWith("**/", i)) {
      body += "(?:.*/)?";
      i += 3;
    } else if (glob.startsWith("/**", i) && i + 3 === glob.length) {
      body += "(?:/.*)?";
      i += 3;
    } else if (glob.startsWith("**", i)) {
      body += ".*";
      i += 2;
    } else {
      const char = glob[i]!;
      body += char === "*" ? "[^/]*" : char === "?" ? "[^/]" : char.replace(/[.+^${}()|[\]\\]/, "\\$&");
      i += 1;
    }
  }
  return body;
}

/**
 * A matcher for `--exclude` globs, as .gitignore reads them, over paths relative to the folder
 * walked (`/` between folders, whatever the platform): `*` and `?` stay within one folder name,
 * `**` spans any number of folders, a leading `./` and a trailing `/` are dropped, and a glob
 * without a `/` matches a file or folder of that name at any depth (`tests`, `*.test.yaml`).
 * Returns whether a relative path is excluded.
 */
export function pathMatcher(globs: readonly string[]): (relativePath: string) => boolean {
  if (globs.length === 0) return () => false;
  const expressions = globs.map((raw) => {
    const glob = raw.replace(/^\.\//, "").replace(/\/+$/, "");
    const anchored = glob.includes("/");
    return new RegExp(anchored ? `^${globBody(glob)}$` : `(?:^|/)${globBody(glob)}$`);
  });
  return (relativePath) => {
    const path = sep === "/" ? relativePath : relativePath.split(sep).join("/");
    return expressions.some((expression) => expression.test(path));
  };
}
