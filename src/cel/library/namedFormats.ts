import { type Environment, Optional } from "@marcbachmann/cel-js";
import { registerNamespace } from "./methods.js";
import { parseRequestUri } from "./url.js";

/**
 * The apiserver's format library (k8s.io/apiserver/pkg/cel/library/format.go, in the base environment
 * since 1.31): format.named(name) and the format.<name>() constants, whose validate(value) gives
 * optional.none() for a valid value, else the list of what is wrong, with apimachinery's own
 * messages (DNS labels and subdomains, qualified names, label values) and kube-openapi's checks
 * (uuid, byte, date, datetime), and net/url's for uri.
 */

const LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const SUBDOMAIN = `${LABEL}(\\.${LABEL})*`;
const DNS1035 = "[a-z]([-a-z0-9]*[a-z0-9])?";
const LABEL_KEY = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE = `(${LABEL_KEY})?`;

const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const LABEL_KEY_MESSAGE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

function whole(pattern: string): RegExp {
  return new RegExp(`^${pattern}$`);
}

function regexError(message: string, pattern: string, ...examples: string[]): string {
  if (examples.length === 0) return `${message} (regex used for validation is '${pattern}')`;
  return `${message} (e.g. ${examples.map((e) => `'${e}', `).join(" or ")}regex used for validation is '${pattern}')`;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text);
}

/** util/validation's checks say "characters"; api/validate/content's (label keys, values) "bytes". */
function tooLong(text: string, max: number, unit: "characters" | "bytes"): string[] {
  return byteLength(text) > max ? [`must be no more than ${max} ${unit}`] : [];
}

function dns1123Label(text: string): string[] {
  const errors = tooLong(text, 63, "characters");
  if (!whole(LABEL).test(text)) {
    errors.push(
      whole(SUBDOMAIN).test(text)
        ? "must not contain dots"
        : regexError(LABEL_MESSAGE, LABEL, "my-name", "123-abc"),
    );
  }
  return errors;
}

function dns1123Subdomain(text: string, unit: "characters" | "bytes" = "characters"): string[] {
  const errors = tooLong(text, 253, unit);
  if (!whole(SUBDOMAIN).test(text)) errors.push(regexError(SUBDOMAIN_MESSAGE, SUBDOMAIN, "example.com"));
  return errors;
}

function dns1035Label(text: string): string[] {
  const errors = tooLong(text, 63, "characters");
  if (!whole(DNS1035).test(text)) errors.push(regexError(DNS1035_MESSAGE, DNS1035, "my-name", "abc-123"));
  return errors;
}

/** content.IsLabelKey (what IsQualifiedName is now). */
function qualifiedName(text: string): string[] {
  const errors: string[] = [];
  const parts = text.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix === "") errors.push("prefix part must be non-empty");
    else errors.push(...dns1123Subdomain(prefix, "bytes").map((m) => `prefix part ${m}`));
  } else {
    return [
      `a valid label key ${regexError(LABEL_KEY_MESSAGE, LABEL_KEY, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name === "") errors.push("name part must be non-empty");
  else if (byteLength(name) > 63) errors.push("name part must be no more than 63 bytes");
  if (!whole(LABEL_KEY).test(name)) {
    errors.push(`name part ${regexError(LABEL_KEY_MESSAGE, LABEL_KEY, "MyName", "my.name", "123-abc")}`);
  }
  return errors;
}

function labelValue(text: string): string[] {
  const errors = tooLong(text, 63, "bytes");
  if (!whole(LABEL_VALUE).test(text))
    errors.push(regexError(LABEL_VALUE_MESSAGE, LABEL_VALUE, "MyValue", "my_value", "12345"));
  return errors;
}

/** apimachinery's maskTrailingDash: a generateName prefix may end in '-'. */
function maskTrailingDash(text: string): string {
  return text.length > 1 && text.endsWith("-") ? `${text.slice(0, -2)}a` : text;
}

/** Go's time.Parse("2006-01-02", text): four-digit year, two-digit month and day, a real day. */
function isDate(text: string): boolean {
  const match = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

/** kube-openapi's strfmt.IsDateTime. */
function isDateTime(text: string): boolean {
  if (text.length < 4) return false;
  const parts = text.toLowerCase().split("t");
  if (parts.length < 2 || !isDate(parts[0]!)) return false;
  const match = /^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$/u.exec(parts[1]!);
  return match !== null && match[1]! <= "23" && match[2]! <= "59" && match[3]! <= "59";
}

/** A named format (cel-go's kubernetes.NamedFormat). */
export class NamedFormat {
  constructor(
    readonly name: string,
    readonly check: (text: string) => string[],
  ) {}

  equals(other: NamedFormat): boolean {
    return this.name === other.name;
  }
}

const FORMATS: Readonly<Record<string, NamedFormat>> = {
  dns1123Label: new NamedFormat("DNS1123Label", dns1123Label),
  dns1123Subdomain: new NamedFormat("DNS1123Subdomain", (t) => dns1123Subdomain(t)),
  dns1035Label: new NamedFormat("DNS1035Label", dns1035Label),
  qualifiedName: new NamedFormat("QualifiedName", qualifiedName),
  dns1123LabelPrefix: new NamedFormat("DNS1123LabelPrefix", (t) => dns1123Label(maskTrailingDash(t))),
  dns1123SubdomainPrefix: new NamedFormat("DNS1123SubdomainPrefix", (t) =>
    dns1123Subdomain(maskTrailingDash(t)),
  ),
  dns1035LabelPrefix: new NamedFormat("DNS1035LabelPrefix", (t) => dns1035Label(maskTrailingDash(t))),
  labelValue: new NamedFormat("LabelValue", labelValue),
  uri: new NamedFormat("URI", (t) => {
    try {
      parseRequestUri(t);
      return [];
    } catch (error) {
      return [(error as Error).message];
    }
  }),
  uuid: new NamedFormat("uuid", (t) =>
    /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(t)
      ? []
      : ["does not match the UUID format"],
  ),
  byte: new NamedFormat("byte", (t) =>
    /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(t)
      ? []
      : ["invalid base64"],
  ),
  date: new NamedFormat("date", (t) => (isDate(t) ? [] : ["invalid date"])),
  datetime: new NamedFormat("datetime", (t) => (isDateTime(t) ? [] : ["invalid datetime"])),
};

export function registerNamedFormats(env: Environment): void {
  env.registerType("kubernetes.NamedFormat", NamedFormat);
  const namespace = registerNamespace(env, "format");
  for (const [name, format] of Object.entries(FORMATS)) {
    env.registerFunction(`${namespace}.${name}(): kubernetes.NamedFormat`, () => format);
  }
  env.registerFunction(
    `${namespace}.named(string): optional<kubernetes.NamedFormat>`,
    (_: unknown, name: string) => {
      const format = Object.hasOwn(FORMATS, name) ? FORMATS[name] : undefined;
      return format === undefined ? Optional.none() : Optional.of(format);
    },
  );
  env.registerFunction(
    "kubernetes.NamedFormat.validate(string): optional<list<string>>",
    (format: NamedFormat, text: string) => {
      const errors = format.check(text);
      return errors.length === 0 ? Optional.none() : Optional.of(errors);
    },
  );
  env.registerOperator("kubernetes.NamedFormat == kubernetes.NamedFormat", (a: NamedFormat, b: NamedFormat) =>
    a.equals(b),
  );
}
