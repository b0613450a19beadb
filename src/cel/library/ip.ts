import type { Environment } from "@marcbachmann/cel-js";
import { goQuote } from "./goText.js";
import { celError, type Overrides, registerNamespace } from "./methods.js";
import { type Addr, AddrError, parseAddr } from "./netip.js";

/**
 * The apiserver's IP library (k8s.io/apiserver/pkg/cel/library/ip.go, in the base environment since
 * 1.30): ip(), isIP(), ip.isCanonical(), family(), the is…() tests and string(), over Go's netip
 * (netip.ts). Zones and IPv4-mapped IPv6 addresses are refused, as there.
 */

/** An IP address value (cel-go's net.IP). */
export class IP {
  constructor(readonly addr: Addr) {}

  equals(other: IP): boolean {
    return this.addr.equals(other.addr);
  }
}

/** The library's parseIPAddr. */
export function parseIP(text: string): Addr {
  let addr: Addr;
  try {
    addr = parseAddr(text);
  } catch (error) {
    if (error instanceof AddrError) {
      throw celError(
        `IP Address ${goQuote(text)} parse error during conversion from string: ${error.message}`,
      );
    }
    throw error;
  }
  if (addr.zone !== "") throw celError(`IP address ${goQuote(text)} with zone value is not allowed`);
  if (addr.is4In6) throw celError(`IPv4-mapped IPv6 address ${goQuote(text)} is not allowed`);
  return addr;
}

export function accepts(parse: (text: string) => unknown): (text: string) => boolean {
  return (text) => {
    try {
      parse(text);
      return true;
    } catch {
      return false;
    }
  };
}

/** string(ip), beside the other string() overloads (conversions.ts). */
export const IP_OVERRIDES: Overrides = {
  functions: { string: [{ args: ["net.IP"], returns: "string", run: (ip: IP) => ip.addr.toString() }] },
};

export function registerIP(env: Environment): void {
  env.registerType("net.IP", IP);
  env.registerFunction("ip(string): net.IP", (text: string) => new IP(parseIP(text)));
  env.registerFunction("isIP(string): bool", accepts(parseIP));
  const namespace = registerNamespace(env, "ip");
  env.registerFunction(
    `${namespace}.isCanonical(string): bool`,
    (_: unknown, text: string) => parseIP(text).toString() === text,
  );
  env.registerFunction("net.IP.family(): int", (ip: IP) => (ip.addr.is4 ? 4n : 6n));
  env.registerFunction("net.IP.isUnspecified(): bool", (ip: IP) => ip.addr.isUnspecified);
  env.registerFunction("net.IP.isLoopback(): bool", (ip: IP) => ip.addr.isLoopback);
  env.registerFunction("net.IP.isLinkLocalMulticast(): bool", (ip: IP) => ip.addr.isLinkLocalMulticast);
  env.registerFunction("net.IP.isLinkLocalUnicast(): bool", (ip: IP) => ip.addr.isLinkLocalUnicast);
  env.registerFunction("net.IP.isGlobalUnicast(): bool", (ip: IP) => ip.addr.isGlobalUnicast);
  env.registerOperator("net.IP == net.IP", (a: IP, b: IP) => a.equals(b));
}
