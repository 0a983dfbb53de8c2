import { hash } from 'node:crypto';

/**
 * The per-cluster filter of existing token names (SECURITY.md, "Unknown token names"): a sorted set of
 * 32-bit keyed digests of every token name the cluster's table partition holds, kept by every writer of
 * token rows (sync, `import`, `tokens create`) and read by the authenticate path once per cache TTL. A name
 * whose digest is not in the set has no row, so it is refused without a store read; a name whose digest is
 * in it is read. The digests are SHA-256 over a random key of the filter's own and the name, so nobody without
 * the table can compute which made-up names would pass (a false positive costs one read per cache TTL).
 *
 * Pure: no I/O. The only way to lose a name is to remove its digest, which only the writers do, each
 * followed by a fresh listing of the cluster's names (services/mirror/name-filter.ts).
 */
export interface NameFilter {
  clusterId: string;
  /** The key of this filter's digests (random, per filter). */
  key: Buffer;
  /** Sorted, distinct big-endian uint32 digests, 4 bytes each. Empty when `overflow`. */
  digests: Buffer;
  /**
   * More names than one row holds ({@link MAX_FILTER_NAMES}): the filter says nothing, and the
   * authenticate path falls back to its budgeted reads of unknown names for this cluster.
   */
  overflow: boolean;
}

/** Bytes of each digest: false positives ≈ names / 2^32 per made-up name (2 × 10^-5 at the limit). */
export const DIGEST_BYTES = 4;
/**
 * Names one filter row holds: 90,000 × 4 bytes = 360 KB, below DynamoDB's 400 KB item limit with room for
 * the key and attributes. Past it the filter is written as `overflow`.
 */
export const MAX_FILTER_NAMES = 90_000;
/** Bytes of a filter's key. */
export const FILTER_KEY_BYTES = 16;

/**
 * The keyed 32-bit digest of a token name: the first 4 bytes of SHA-256(key ‖ name), the key as a fixed-length
 * prefix. A keyed prefix rather than HMAC because sync digests every name of a cluster (50,000 names: ~35 ms
 * against ~100 ms), and the digests are never shown to anyone, so SHA-256's length extension gains nothing.
 */
export function nameDigest(key: Buffer, name: string): number {
  return digestWith(keyPrefix(key), name);
}

function keyPrefix(key: Buffer): string {
  return `${key.toString('base64')}:`;
}

function digestWith(prefix: string, name: string): number {
  return Number.parseInt(hash('sha256', prefix + name, 'hex').slice(0, 8), 16);
}

/** The distinct digests of names under a key, ascending. */
export function digestsOf(key: Buffer, names: Iterable<string>): number[] {
  const prefix = keyPrefix(key);
  const set = new Set<number>();
  for (const name of names) set.add(digestWith(prefix, name));
  return [...set].sort((a, b) => a - b);
}

function encode(digests: readonly number[]): Buffer {
  const buffer = Buffer.alloc(digests.length * DIGEST_BYTES);
  digests.forEach((digest, index) => buffer.writeUInt32BE(digest, index * DIGEST_BYTES));
  return buffer;
}

/** The digests a filter holds, ascending. */
export function filterDigests(filter: NameFilter): number[] {
  const digests: number[] = [];
  for (let offset = 0; offset + DIGEST_BYTES <= filter.digests.length; offset += DIGEST_BYTES) digests.push(filter.digests.readUInt32BE(offset));
  return digests;
}

/** A filter of exactly these digests under `key`; `overflow` when there are more than {@link MAX_FILTER_NAMES}. */
export function filterOfDigests(clusterId: string, key: Buffer, digests: readonly number[]): NameFilter {
  if (digests.length > MAX_FILTER_NAMES) return { clusterId, key, digests: Buffer.alloc(0), overflow: true };
  const sorted = [...new Set(digests)].sort((a, b) => a - b);
  return { clusterId, key, digests: encode(sorted), overflow: false };
}

/** A filter of exactly these names under `key`. */
export function buildNameFilter(clusterId: string, key: Buffer, names: Iterable<string>): NameFilter {
  return filterOfDigests(clusterId, key, digestsOf(key, names));
}

/** Whether a name may exist: false only when its digest is not in the filter. An `overflow` filter says true. */
export function mayContain(filter: NameFilter, name: string): boolean {
  if (filter.overflow) return true;
  const digest = nameDigest(filter.key, name);
  let low = 0;
  let high = filter.digests.length / DIGEST_BYTES - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = filter.digests.readUInt32BE(middle * DIGEST_BYTES);
    if (value === digest) return true;
    if (value < digest) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

/** The names of `names` the filter does not hold (an `overflow` filter holds every name). */
export function missingNames(filter: NameFilter, names: Iterable<string>): string[] {
  const missing: string[] = [];
  for (const name of names) if (!mayContain(filter, name)) missing.push(name);
  return missing;
}

/**
 * The filter with these names added (the same filter, unchanged, when it holds them all), and how many of the
 * filter's digests are of none of these names (`extra`: names gone, when `names` are all the cluster's names).
 */
export function withNames(filter: NameFilter, names: Iterable<string>): { filter: NameFilter; changed: boolean; extra: number } {
  if (filter.overflow) return { filter, changed: false, extra: 0 };
  const held = filterDigests(filter);
  const wanted = digestsOf(filter.key, names);
  const heldSet = new Set(held);
  const missing = wanted.filter((digest) => !heldSet.has(digest));
  const extra = held.length + missing.length - wanted.length;
  if (missing.length === 0) return { filter, changed: false, extra };
  return { filter: filterOfDigests(filter.clusterId, filter.key, [...held, ...missing]), changed: true, extra };
}
