import { UnauthorizedError } from '../../core/errors.ts';

/** One attribute of a relative distinguished name: `CN=c-abc12` is `{ type: 'CN', value: 'c-abc12' }`. */
export interface DnAttribute {
  type: string;
  value: string;
}

const HEX_PAIR = /^[0-9a-fA-F]{2}$/;

/**
 * Parses the string form of a distinguished name (RFC 4514, which RFC 2253 strings also satisfy):
 * RDNs separated by `,` (or `;`, RFC 2253's legacy separator), multi-valued RDNs by `+`, each
 * attribute `type=value`, where a value may escape any special character (`\,`, `\+`, `\\`, `\"`…)
 * or any byte as two hex digits (`\2C`), be a quoted string, or be `#` and hex (BER, kept as written).
 * Also OpenSSL's legacy `/type=value/type=value` form, where `/` separates RDNs. Undefined when the
 * text is not a well-formed DN: a subject we cannot read is never matched.
 */
export function parseDistinguishedName(text: string): DnAttribute[][] | undefined {
  const slashForm = text.startsWith('/');
  const rdnSeparators = slashForm ? '/' : ',;';
  const rdns: DnAttribute[][] = [];
  let rdn: DnAttribute[] = [];
  let i = slashForm ? 1 : 0;
  if (text.trim() === '') return [];
  for (;;) {
    // attribute type
    const equals = text.indexOf('=', i);
    if (equals < 0) return undefined;
    const type = text.slice(i, equals).trim();
    if (!/^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)*)$/.test(type)) return undefined;
    i = equals + 1;
    // attribute value
    const bytes: number[] = [];
    const push = (s: string) => bytes.push(...Buffer.from(s, 'utf8'));
    while (i < text.length && text[i] === ' ') i += 1;
    if (text[i] === '"') {
      i += 1;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') i += 1;
        if (i >= text.length) return undefined;
        push(text[i] as string);
        i += 1;
      }
      if (text[i] !== '"') return undefined;
      i += 1;
      while (i < text.length && text[i] === ' ') i += 1;
    } else {
      let trailingSpaces = 0;
      while (i < text.length && !rdnSeparators.includes(text[i] as string) && text[i] !== '+') {
        const char = text[i] as string;
        if (char === '\\') {
          const pair = text.slice(i + 1, i + 3);
          if (HEX_PAIR.test(pair)) {
            bytes.push(Number.parseInt(pair, 16));
            i += 3;
          } else if (i + 1 < text.length) {
            push(text[i + 1] as string);
            i += 2;
          } else return undefined;
          trailingSpaces = 0;
          continue;
        }
        trailingSpaces = char === ' ' ? trailingSpaces + 1 : 0;
        push(char);
        i += 1;
      }
      bytes.splice(bytes.length - trailingSpaces, trailingSpaces); // unescaped trailing spaces are not part of the value
    }
    const value = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.from(bytes));
    rdn.push({ type, value });
    if (i >= text.length) {
      rdns.push(rdn);
      return rdns;
    }
    const separator = text[i] as string;
    i += 1;
    if (separator !== '+') {
      rdns.push(rdn);
      rdn = [];
    }
  }
}

/**
 * The common names of an X.509 subject DN as API Gateway reports it. AWS's documentation shows only a
 * placeholder for `subjectDN`; the string form in practice is RFC 2253-style (`CN=c-abc12,O=tokengate`),
 * so it is parsed as RFC 4514 (escapes, quotes and multi-valued RDNs included) — an escaped comma is
 * part of a value, never a separator. Empty for an unreadable DN.
 */
export function commonNames(subjectDN: string): string[] {
  const rdns = parseDistinguishedName(subjectDN) ?? [];
  return rdns.flat().filter((attribute) => /^(CN|commonName|2\.5\.4\.3)$/i.test(attribute.type)).map((attribute) => attribute.value.trim());
}

/**
 * With mutual TLS, API Gateway proves that the client certificate chains to the truststore, not that it
 * belongs to the cluster named in the path: that binding is ours. A request for cluster X must present a
 * certificate whose only common name is X, so one cluster's certificate cannot speak for another.
 */
export function checkClientCertificate(clusterId: string, subjectDN: string | undefined): void {
  if (subjectDN === undefined) throw new UnauthorizedError('client certificate required');
  const names = commonNames(subjectDN);
  if (names.length !== 1 || names[0] !== clusterId) {
    throw new UnauthorizedError('client certificate does not name this cluster');
  }
}
