import { goQuote } from "./goText.js";

/**
 * Go's net/netip addresses and prefixes, as the apiserver's ip(), cidr() and url() libraries parse
 * and print them: the same accepted forms (no leading zeros in IPv4, zones only on IPv6), the same
 * errors (`ParseAddr("…"): …`), the same canonical text (RFC 5952 for IPv6).
 */

export class AddrError extends Error {}

function addrError(input: string, message: string, at?: string): AddrError {
  return new AddrError(
    `ParseAddr(${goQuote(input)}): ${message}${at === undefined ? "" : ` (at ${goQuote(at)})`}`,
  );
}

/** A netip.Addr: 32 or 128 bits, and an IPv6 zone. */
export class Addr {
  constructor(
    readonly bits: 32 | 128,
    readonly value: bigint,
    readonly zone = "",
  ) {}

  get is4(): boolean {
    return this.bits === 32;
  }

  get is6(): boolean {
    return this.bits === 128;
  }

  get is4In6(): boolean {
    return this.bits === 128 && this.value >> 32n === 0xffffn;
  }

  unmap(): Addr {
    return this.is4In6 ? new Addr(32, this.value & 0xffffffffn) : this;
  }

  #octet(i: number): number {
    return Number((this.value >> BigInt(24 - 8 * i)) & 0xffn);
  }

  #group(i: number): number {
    return Number((this.value >> BigInt(112 - 16 * i)) & 0xffffn);
  }

  equals(other: Addr): boolean {
    return this.bits === other.bits && this.value === other.value && this.zone === other.zone;
  }

  get isUnspecified(): boolean {
    return this.value === 0n && this.zone === "";
  }

  get isLoopback(): boolean {
    const ip = this.unmap();
    return ip.is4 ? ip.#octet(0) === 127 : ip.value === 1n;
  }

  get isMulticast(): boolean {
    const ip = this.unmap();
    return ip.is4 ? (ip.#octet(0) & 0xf0) === 0xe0 : ip.value >> 120n === 0xffn;
  }

  get isLinkLocalMulticast(): boolean {
    const ip = this.unmap();
    return ip.is4
      ? ip.#octet(0) === 224 && ip.#octet(1) === 0 && ip.#octet(2) === 0
      : (ip.#group(0) & 0xff0f) === 0xff02;
  }

  get isLinkLocalUnicast(): boolean {
    const ip = this.unmap();
    return ip.is4 ? ip.#octet(0) === 169 && ip.#octet(1) === 254 : (ip.#group(0) & 0xffc0) === 0xfe80;
  }

  get isGlobalUnicast(): boolean {
    const ip = this.unmap();
    if (ip.is4 && (ip.value === 0n || ip.value === 0xffffffffn)) return false;
    const unspecified6 = ip.is6 && ip.value === 0n && ip.zone === "";
    return !unspecified6 && !ip.isLoopback && !ip.isMulticast && !ip.isLinkLocalUnicast;
  }

  toString(): string {
    if (this.is4) return [0, 1, 2, 3].map((i) => this.#octet(i)).join(".");
    if (this.is4In6) return `::ffff:${this.unmap().toString()}${this.zone ? `%${this.zone}` : ""}`;
    // The longest run of two or more zero groups, the first of equals, becomes `::`.
    let start = -1;
    let end = -1;
    for (let i = 0; i < 8; i++) {
      let j = i;
      while (j < 8 && this.#group(j) === 0) j++;
      if (j - i >= 2 && j - i > end - start) [start, end] = [i, j];
    }
    let out = "";
    for (let i = 0; i < 8; i++) {
      if (i === start) {
        out += "::";
        i = end - 1;
        continue;
      }
      if (i > 0 && i !== end) out += ":";
      out += this.#group(i).toString(16);
    }
    return this.zone ? `${out}%${this.zone}` : out;
  }
}

/** The four octets of `text[from, to)` (netip's parseIPv4Fields); errors name the whole `input`. */
function ipv4Fields(input: string, from: number, to: number): bigint {
  const text = input.slice(from, to);
  let value = 0;
  let digits = 0;
  let position = 0;
  let result = 0n;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char >= "0" && char <= "9") {
      if (digits === 1 && value === 0) throw addrError(input, "IPv4 field has octet with leading zero");
      value = value * 10 + Number(char);
      digits++;
      if (value > 255) throw addrError(input, "IPv4 field has value >255");
    } else if (char === ".") {
      if (i === 0 || i === text.length - 1 || text[i - 1] === ".") {
        throw addrError(input, "IPv4 field must have at least one digit", text.slice(i));
      }
      if (position === 3) throw addrError(input, "IPv4 address too long");
      result = (result << 8n) | BigInt(value);
      position++;
      value = 0;
      digits = 0;
    } else {
      throw addrError(input, "unexpected character", text.slice(i));
    }
  }
  if (position < 3) throw addrError(input, "IPv4 address too short");
  return (result << 8n) | BigInt(value);
}

function parseIPv6(input: string): Addr {
  let text = input;
  let zone = "";
  const percent = text.indexOf("%");
  if (percent >= 0) {
    zone = text.slice(percent + 1);
    text = text.slice(0, percent);
    if (zone === "") throw addrError(input, "zone must be a non-empty string");
  }
  const groups: number[] = [];
  let ellipsis = -1;
  if (text.startsWith("::")) {
    ellipsis = 0;
    text = text.slice(2);
    if (text === "") return new Addr(128, 0n, zone);
  }
  let embedded: bigint | undefined;
  while (groups.length < 8) {
    let at = 0;
    let value = 0;
    for (; at < text.length; at++) {
      const digit = parseInt(text[at]!, 16);
      if (Number.isNaN(digit)) break;
      value = value * 16 + digit;
      if (at > 3) throw addrError(input, "each group must have 4 or less digits", text);
      if (value > 0xffff) throw addrError(input, "IPv6 field has value >=2^16", text);
    }
    if (at === 0) throw addrError(input, "each colon-separated field must have at least one digit", text);
    if (text[at] === ".") {
      if (ellipsis < 0 && groups.length !== 6) {
        throw addrError(input, "embedded IPv4 address must replace the final 2 fields of the address", text);
      }
      if (groups.length + 2 > 8) {
        throw addrError(input, "too many hex fields to fit an embedded IPv4 at the end of the address", text);
      }
      const end = input.length - (zone ? zone.length + 1 : 0);
      embedded = ipv4Fields(input, end - text.length, end);
      groups.push(Number(embedded >> 16n), Number(embedded & 0xffffn));
      text = "";
      break;
    }
    groups.push(value);
    text = text.slice(at);
    if (text === "") break;
    if (text[0] !== ":") throw addrError(input, "unexpected character, want colon", text);
    if (text.length === 1) throw addrError(input, "colon must be followed by more characters", text);
    text = text.slice(1);
    if (text[0] === ":") {
      if (ellipsis >= 0) throw addrError(input, "multiple :: in address", text);
      ellipsis = groups.length;
      text = text.slice(1);
      if (text === "") break;
    }
  }
  if (text !== "") throw addrError(input, "trailing garbage after address", text);
  if (groups.length < 8) {
    if (ellipsis < 0) throw addrError(input, "address string too short");
    groups.splice(ellipsis, 0, ...Array<number>(8 - groups.length).fill(0));
  } else if (ellipsis >= 0) {
    throw addrError(input, "the :: must expand to at least one field of zeros");
  }
  return new Addr(
    128,
    groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n),
    zone,
  );
}

/** netip.ParseAddr. */
export function parseAddr(text: string): Addr {
  for (const char of text) {
    if (char === ".") return new Addr(32, ipv4Fields(text, 0, text.length));
    if (char === ":") return parseIPv6(text);
    if (char === "%") throw addrError(text, "missing IPv6 address");
  }
  throw addrError(text, "unable to parse IP");
}

/** A netip.Prefix: an address (its host bits kept, as there) and a prefix length. */
export class Prefix {
  constructor(
    readonly addr: Addr,
    readonly length: number,
  ) {}

  #mask(bits: number): bigint {
    const width = BigInt(this.addr.bits);
    return bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << (width - BigInt(bits));
  }

  masked(): Prefix {
    return new Prefix(new Addr(this.addr.bits, this.addr.value & this.#mask(this.length)), this.length);
  }

  contains(ip: Addr): boolean {
    if (ip.zone !== "" || ip.bits !== this.addr.bits) return false;
    const mask = this.#mask(this.length);
    return (ip.value & mask) === (this.addr.value & mask);
  }

  overlaps(other: Prefix): boolean {
    if (this.equals(other)) return true;
    if (this.addr.is4 !== other.addr.is4) return false;
    const bits = Math.min(this.length, other.length);
    const mask = this.#mask(bits);
    return (this.addr.value & mask) === (other.addr.value & mask);
  }

  equals(other: Prefix): boolean {
    return this.length === other.length && this.addr.equals(other.addr);
  }

  toString(): string {
    return `${this.addr.toString()}/${this.length}`;
  }
}

function prefixError(input: string, message: string): AddrError {
  return new AddrError(`netip.ParsePrefix(${goQuote(input)}): ${message}`);
}

/** netip.ParsePrefix. */
export function parsePrefix(text: string): Prefix {
  const slash = text.lastIndexOf("/");
  if (slash < 0) throw prefixError(text, "no '/'");
  let addr: Addr;
  try {
    addr = parseAddr(text.slice(0, slash));
  } catch (error) {
    if (error instanceof AddrError) throw prefixError(text, error.message);
    throw error;
  }
  if (addr.is6 && addr.zone !== "") throw prefixError(text, "IPv6 zones cannot be present in a prefix");
  const bits = text.slice(slash + 1);
  // strconv.Atoi would take a sign and leading zeros; ParsePrefix does not.
  if ((bits.length > 1 && (bits[0]! < "1" || bits[0]! > "9")) || !/^[+-]?[0-9]+$/.test(bits)) {
    throw prefixError(text, `bad bits after slash: ${goQuote(bits)}`);
  }
  const length = Number(bits);
  if (length < 0 || length > addr.bits) throw prefixError(text, "prefix length out of range");
  return new Prefix(addr, length);
}
