/**
 * Token expiry as Rancher writes it: an RFC 3339 string, empty for "never" (docs/reference.md,
 * "Rancher's objects"). A value that does not parse refuses the token rather than letting it live forever.
 */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch, undefined for "never expires" (empty or absent), or 'unparseable'. */
export function expiryOf(expiresAt: string | undefined): number | undefined | 'unparseable' {
  if (expiresAt === undefined || expiresAt === '') return undefined;
  if (!RFC3339.test(expiresAt)) return 'unparseable';
  const millis = Date.parse(expiresAt);
  return Number.isNaN(millis) ? 'unparseable' : millis;
}
