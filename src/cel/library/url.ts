import type { Environment } from "@marcbachmann/cel-js";
import { goQuote } from "./goText.js";
import { celError } from "./methods.js";
import { AddrError, parseAddr } from "./netip.js";

/**
 * The apiserver's URL library (k8s.io/apiserver/pkg/cel/library/urls.go): url(), isURL() and the
 * get…() accessors, over a port of Go's net/url (Parse and ParseRequestURI, Hostname, Port,
 * EscapedPath, Query, String), since what counts as a URL and how it splits is Go's.
 */

type Mode = "path" | "host" | "zone" | "userPassword" | "queryComponent" | "fragment";

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function isAlphanumeric(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
}

/** net/url's shouldEscape (its encoding table) for one byte. */
function shouldEscape(c: number, mode: Mode): boolean {
  if (isAlphanumeric(c)) return false;
  const char = String.fromCharCode(c);
  if ((mode === "host" || mode === "zone") && "!$&'()*+,;=:[]<>\"".includes(char)) return false;
  if ("-_.~".includes(char)) return false;
  if ("$&+,/:;=?@".includes(char)) {
    switch (mode) {
      case "path":
        return char === "?";
      case "userPassword":
        return "@/?:".includes(char);
      case "queryComponent":
        return true;
      case "fragment":
        return false;
    }
  }
  if (mode === "fragment" && "!()*".includes(char)) return false;
  return true;
}

function isHex(c: number | undefined): boolean {
  return (
    c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))
  );
}

class UrlError extends Error {}

/** net/url's unescape: %XX decoded (and `+` as space in a query), or its EscapeError. */
function unescape(text: string, mode: Mode): string {
  const bytes = utf8.encode(text);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x25) {
      if (i + 2 >= bytes.length || !isHex(bytes[i + 1]) || !isHex(bytes[i + 2])) {
        throw new UrlError(`invalid URL escape ${goQuote(fromUtf8.decode(bytes.slice(i, i + 3)))}`);
      }
      const value = parseInt(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!), 16);
      const escape = fromUtf8.decode(bytes.slice(i, i + 3));
      if (mode === "host" && value < 0x80 && escape !== "%25")
        throw new UrlError(`invalid URL escape ${goQuote(escape)}`);
      if (mode === "zone" && escape !== "%25" && value !== 0x20 && shouldEscape(value, "host")) {
        throw new UrlError(`invalid URL escape ${goQuote(escape)}`);
      }
      out.push(value);
      i += 2;
    } else if (c === 0x2b) {
      out.push(mode === "queryComponent" ? 0x20 : 0x2b);
    } else {
      if ((mode === "host" || mode === "zone") && c < 0x80 && shouldEscape(c, mode)) {
        throw new UrlError(`invalid character ${goQuote(String.fromCharCode(c))} in host name`);
      }
      out.push(c);
    }
  }
  return fromUtf8.decode(Uint8Array.from(out));
}

function escape(text: string, mode: Mode): string {
  let out = "";
  for (const c of utf8.encode(text)) {
    if (c === 0x20 && mode === "queryComponent") out += "+";
    else if (shouldEscape(c, mode)) out += `%${c.toString(16).toUpperCase().padStart(2, "0")}`;
    else out += String.fromCharCode(c);
  }
  return out;
}

function validOptionalPort(port: string): boolean {
  return port === "" || /^:[0-9]*$/.test(port);
}

/** The parts of a net/url.URL that the library reads. */
export interface GoUrl {
  scheme: string;
  opaque: string;
  user: { username: string; password?: string } | undefined;
  host: string;
  path: string;
  rawPath: string;
  omitHost: boolean;
  forceQuery: boolean;
  rawQuery: string;
  fragment: string;
  rawFragment: string;
}

function getScheme(raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return ["", raw];
      continue;
    }
    if (c === ":") {
      if (i === 0) throw new UrlError("missing protocol scheme");
      return [raw.slice(0, i), raw.slice(i + 1)];
    }
    return ["", raw];
  }
  return ["", raw];
}

function parseHost(scheme: string, host: string): string {
  const open = host.lastIndexOf("[");
  if (open > 0) throw new UrlError("invalid IP-literal");
  if (open === 0) {
    const close = host.lastIndexOf("]");
    if (close < 0) throw new UrlError("missing ']' in host");
    const colonPort = host.slice(close + 1);
    if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${goQuote(colonPort)} after host`);
    const port = unescape(colonPort, "host");
    const name = host.slice(1, close);
    const zoneAt = name.indexOf("%25");
    const unescaped =
      zoneAt >= 0
        ? unescape(name.slice(0, zoneAt), "host") + unescape(name.slice(zoneAt), "zone")
        : unescape(name, "host");
    let addr;
    try {
      addr = parseAddr(unescaped);
    } catch (error) {
      if (error instanceof AddrError) throw new UrlError(`invalid host: ${error.message}`);
      throw error;
    }
    if (addr.is4) throw new UrlError("invalid IP-literal");
    return `[${unescaped}]${port}`;
  }
  let colon = host.indexOf(":");
  if (colon >= 0) {
    const last = host.lastIndexOf(":");
    // Go 1.26 refuses a second colon in the host of an http(s) URL, and takes the last elsewhere.
    if (last !== colon && scheme !== "http" && scheme !== "https") colon = last;
    const colonPort = host.slice(colon);
    if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${goQuote(colonPort)} after host`);
  }
  return unescape(host, "host");
}

function validUserinfo(text: string): boolean {
  return /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(text);
}

function parseAuthority(scheme: string, authority: string): Pick<GoUrl, "user" | "host"> {
  const at = authority.lastIndexOf("@");
  const host = parseHost(scheme, at < 0 ? authority : authority.slice(at + 1));
  if (at < 0) return { user: undefined, host };
  const userinfo = authority.slice(0, at);
  if (!validUserinfo(userinfo)) throw new UrlError("net/url: invalid userinfo");
  const colon = userinfo.indexOf(":");
  if (colon < 0) return { user: { username: unescape(userinfo, "userPassword") }, host };
  return {
    user: {
      username: unescape(userinfo.slice(0, colon), "userPassword"),
      password: unescape(userinfo.slice(colon + 1), "userPassword"),
    },
    host,
  };
}

/** net/url's parse; viaRequest: ParseRequestURI's stricter reading. */
function parse(raw: string, viaRequest: boolean): GoUrl {
  if ([...raw].some((c) => c < " " || c === "\x7f"))
    throw new UrlError("net/url: invalid control character in URL");
  if (raw === "" && viaRequest) throw new UrlError("empty url");
  const url: GoUrl = {
    scheme: "",
    opaque: "",
    user: undefined,
    host: "",
    path: "",
    rawPath: "",
    omitHost: false,
    forceQuery: false,
    rawQuery: "",
    fragment: "",
    rawFragment: "",
  };
  if (raw === "*") return { ...url, path: "*" };
  let [scheme, rest] = getScheme(raw);
  url.scheme = scheme.toLowerCase();
  scheme = url.scheme;
  if (rest.endsWith("?") && rest.split("?").length === 2) {
    url.forceQuery = true;
    rest = rest.slice(0, -1);
  } else {
    const question = rest.indexOf("?");
    if (question >= 0) {
      url.rawQuery = rest.slice(question + 1);
      rest = rest.slice(0, question);
    }
  }
  if (!rest.startsWith("/")) {
    if (scheme !== "") return { ...url, opaque: rest };
    if (viaRequest) throw new UrlError("invalid URI for request");
    if (rest.split("/")[0]!.includes(":"))
      throw new UrlError("first path segment in URL cannot contain colon");
  }
  if ((scheme !== "" || (!viaRequest && !rest.startsWith("///"))) && rest.startsWith("//")) {
    let authority = rest.slice(2);
    rest = "";
    const slash = authority.indexOf("/");
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    Object.assign(url, parseAuthority(scheme, authority));
  } else if (scheme !== "" && rest.startsWith("/")) {
    url.omitHost = true;
  }
  url.path = unescape(rest, "path");
  url.rawPath = escape(url.path, "path") === rest ? "" : rest;
  return url;
}

function urlError(raw: string, error: UrlError): UrlError {
  return new UrlError(`parse ${goQuote(raw)}: ${error.message}`);
}

/** url.ParseRequestURI. */
export function parseRequestUri(raw: string): GoUrl {
  try {
    return parse(raw, true);
  } catch (error) {
    if (error instanceof UrlError) throw urlError(raw, error);
    throw error;
  }
}

/** url.Parse: the fragment cut off first. */
export function parseUrl(raw: string): GoUrl {
  const hash = raw.indexOf("#");
  const main = hash < 0 ? raw : raw.slice(0, hash);
  let url: GoUrl;
  try {
    url = parse(main, false);
  } catch (error) {
    if (error instanceof UrlError) throw urlError(main, error);
    throw error;
  }
  if (hash < 0) return url;
  const fragment = raw.slice(hash + 1);
  if (fragment === "") return url;
  try {
    url.fragment = unescape(fragment, "fragment");
  } catch (error) {
    if (error instanceof UrlError) throw urlError(raw, error);
    throw error;
  }
  url.rawFragment = escape(url.fragment, "fragment") === fragment ? "" : fragment;
  return url;
}

function validEncoded(text: string, mode: Mode): boolean {
  for (const c of utf8.encode(text)) {
    if ("!$&'()*+,;=:@[]%".includes(String.fromCharCode(c))) continue;
    if (shouldEscape(c, mode)) return false;
  }
  return true;
}

function escapedRaw(raw: string, decoded: string, mode: Mode): string | undefined {
  if (raw === "" || !validEncoded(raw, mode)) return undefined;
  try {
    return unescape(raw, mode) === decoded ? raw : undefined;
  } catch {
    return undefined;
  }
}

export function escapedPath(url: GoUrl): string {
  return escapedRaw(url.rawPath, url.path, "path") ?? (url.path === "*" ? "*" : escape(url.path, "path"));
}

function splitHostPort(hostPort: string): [string, string] {
  let host = hostPort;
  let port = "";
  const colon = host.lastIndexOf(":");
  if (colon >= 0 && validOptionalPort(host.slice(colon))) {
    port = host.slice(colon + 1);
    host = host.slice(0, colon);
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return [host, port];
}

/** URL.Query: the values of each key in order; pairs that do not decode are left out. */
function query(url: GoUrl): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const pair of url.rawQuery.split("&")) {
    if (pair === "" || pair.includes(";")) continue;
    const equals = pair.indexOf("=");
    const [rawKey, rawValue] = equals < 0 ? [pair, ""] : [pair.slice(0, equals), pair.slice(equals + 1)];
    let key: string;
    let value: string;
    try {
      key = unescape(rawKey, "queryComponent");
      value = unescape(rawValue, "queryComponent");
    } catch {
      continue;
    }
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return values;
}

/** URL.String: the URL put back together, which is what the apiserver compares URLs by. */
export function urlString(url: GoUrl): string {
  let out = url.scheme === "" ? "" : `${url.scheme}:`;
  if (url.opaque !== "") {
    out += url.opaque;
  } else {
    if (url.scheme !== "" || url.host !== "" || url.user !== undefined) {
      if (!(url.omitHost && url.host === "" && url.user === undefined)) {
        if (url.host !== "" || url.path !== "" || url.user !== undefined) out += "//";
        if (url.user !== undefined) {
          out += escape(url.user.username, "userPassword");
          if (url.user.password !== undefined) out += `:${escape(url.user.password, "userPassword")}`;
          out += "@";
        }
        if (url.host !== "") out += escape(url.host, "host");
      }
    }
    const path = escapedPath(url);
    if (path !== "" && path[0] !== "/" && url.host !== "") out += "/";
    if (out === "" && path.split("/")[0]!.includes(":")) out += "./";
    out += path;
  }
  if (url.forceQuery || url.rawQuery !== "") out += `?${url.rawQuery}`;
  if (url.fragment !== "") {
    out += `#${escapedRaw(url.rawFragment, url.fragment, "fragment") ?? escape(url.fragment, "fragment")}`;
  }
  return out;
}

/** A URL value (cel-go's kubernetes.URL). */
export class CelUrl {
  constructor(readonly url: GoUrl) {}

  equals(other: CelUrl): boolean {
    return urlString(this.url) === urlString(other.url);
  }
}

function toUrl(text: string): CelUrl {
  try {
    parseRequestUri(text);
    return new CelUrl(parseUrl(text));
  } catch (error) {
    if (error instanceof UrlError)
      throw celError(`URL parse error during conversion from string: ${error.message}`);
    throw error;
  }
}

export function registerUrls(env: Environment): void {
  env.registerType("kubernetes.URL", CelUrl);
  env.registerFunction("url(string): kubernetes.URL", toUrl);
  env.registerFunction("isURL(string): bool", (text: string) => {
    try {
      parseRequestUri(text);
      return true;
    } catch (error) {
      if (error instanceof UrlError) return false;
      throw error;
    }
  });
  env.registerFunction("kubernetes.URL.getScheme(): string", (u: CelUrl) => u.url.scheme);
  env.registerFunction("kubernetes.URL.getHost(): string", (u: CelUrl) => u.url.host);
  env.registerFunction("kubernetes.URL.getHostname(): string", (u: CelUrl) => splitHostPort(u.url.host)[0]);
  env.registerFunction("kubernetes.URL.getPort(): string", (u: CelUrl) => splitHostPort(u.url.host)[1]);
  env.registerFunction("kubernetes.URL.getEscapedPath(): string", (u: CelUrl) => escapedPath(u.url));
  env.registerFunction("kubernetes.URL.getQuery(): map<string, list<string>>", (u: CelUrl) =>
    Object.fromEntries(query(u.url)),
  );
  env.registerOperator("kubernetes.URL == kubernetes.URL", (a: CelUrl, b: CelUrl) => a.equals(b));
}
