import type { Environment } from "@marcbachmann/cel-js";
import { goQuote } from "./goText.js";
import { accepts, IP, parseIP } from "./ip.js";
import { celError, type Overrides } from "./methods.js";
import { AddrError, parsePrefix, type Prefix } from "./netip.js";

/**
 * The apiserver's CIDR library (k8s.io/apiserver/pkg/cel/library/cidr.go, in the base environment
 * since 1.30): cidr(), isCIDR(), containsIP(), containsCIDR(), ip(), masked(), prefixLength() and
 * string(), over Go's netip.Prefix, which keeps the host bits (`cidr('10.0.0.5/8').ip()` is 10.0.0.5).
 */

export class CIDR {
  constructor(readonly prefix: Prefix) {}

  equals(other: CIDR): boolean {
    return this.prefix.equals(other.prefix);
  }
}

const PARSE_ERROR = "network address parse error during conversion from string";

/** The library's parseCIDR, with the message stringToCIDR wraps it in. */
function parseCIDR(text: string): Prefix {
  let prefix: Prefix;
  try {
    prefix = parsePrefix(text);
  } catch (error) {
    if (error instanceof AddrError) throw celError(`${PARSE_ERROR}: ${PARSE_ERROR}: ${error.message}`);
    throw error;
  }
  if (prefix.addr.is4In6)
    throw celError(`${PARSE_ERROR}: IPv4-mapped IPv6 address ${goQuote(text)} is not allowed`);
  return prefix;
}

function containsCIDR(cidr: CIDR, other: CIDR): boolean {
  return cidr.prefix.overlaps(other.prefix) && cidr.prefix.length <= other.prefix.length;
}

/** string(cidr), beside the other string() overloads (conversions.ts). */
export const CIDR_OVERRIDES: Overrides = {
  functions: {
    string: [{ args: ["net.CIDR"], returns: "string", run: (cidr: CIDR) => cidr.prefix.toString() }],
  },
};

export function registerCIDR(env: Environment): void {
  env.registerType("net.CIDR", CIDR);
  env.registerFunction("cidr(string): net.CIDR", (text: string) => new CIDR(parseCIDR(text)));
  env.registerFunction("isCIDR(string): bool", accepts(parseCIDR));
  env.registerFunction("net.CIDR.containsIP(string): bool", (cidr: CIDR, text: string) =>
    cidr.prefix.contains(parseIP(text)),
  );
  env.registerFunction("net.CIDR.containsIP(net.IP): bool", (cidr: CIDR, ip: IP) =>
    cidr.prefix.contains(ip.addr),
  );
  env.registerFunction("net.CIDR.containsCIDR(string): bool", (cidr: CIDR, text: string) =>
    containsCIDR(cidr, new CIDR(parseCIDR(text))),
  );
  env.registerFunction("net.CIDR.containsCIDR(net.CIDR): bool", containsCIDR);
  env.registerFunction("net.CIDR.ip(): net.IP", (cidr: CIDR) => new IP(cidr.prefix.addr));
  env.registerFunction("net.CIDR.masked(): net.CIDR", (cidr: CIDR) => new CIDR(cidr.prefix.masked()));
  env.registerFunction("net.CIDR.prefixLength(): int", (cidr: CIDR) => BigInt(cidr.prefix.length));
  env.registerOperator("net.CIDR == net.CIDR", (a: CIDR, b: CIDR) => a.equals(b));
}
