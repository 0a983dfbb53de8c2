import { createHash, timingSafeEqual } from 'node:crypto';
import { argon2 } from './argon2.ts';
import type { CallerCredential, ClusterRecord } from './records.ts';

/**
 * A cluster's webhook caller credential: `tgc_<id>_<secret>`. The id names which stored credential to
 * check (so a rotation's old and new credentials cost one verify, not two), the secret is 32 random
 * bytes. Only a salted hash of it is stored.
 */
const CREDENTIAL = /^tgc_([a-z0-9]{10})_([A-Za-z0-9_-]{43})$/;

export type RandomBytes = (size: number) => Buffer;

export interface ParsedCredential {
  id: string;
  secret: string;
}

/** Splits a presented credential; undefined when it is not shaped like one we issue. */
export function parseCredential(text: string): ParsedCredential | undefined {
  const match = CREDENTIAL.exec(text);
  return match ? { id: match[1] as string, secret: match[2] as string } : undefined;
}

/** Takes the credential out of an `Authorization: Bearer …` header value. */
export function bearerCredential(header: string | undefined): string | undefined {
  const match = header ? /^Bearer +(\S+) *$/i.exec(header) : null;
  return match?.[1];
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * How an issued credential's secret is stored: `$tgc-sha256$<salt>$<digest>` (base64url), the SHA-256 of a
 * 16-byte random salt followed by the secret. A slow hash (argon2id, scrypt) protects low-entropy
 * passwords from guessing; this secret is 256 random bits, which no hash cost makes easier or harder to
 * guess from a leaked table, so a fast hash is as strong here and verifies in microseconds: no native
 * module to load on a cold start, and no CPU for a flood of wrong credentials to burn (docs/reference.md,
 * the hash formats). Credentials issued before are argon2id hashes, and still verify.
 */
const SHA256_PREFIX = '$tgc-sha256$';
const SALT_BYTES = 16;

function sha256Of(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret, 'utf8').digest();
}

/** Whether a stored hash is one of the argon2id hashes credentials were issued with before. */
export function isArgon2Hash(hash: string): boolean {
  return hash.startsWith('$argon2');
}

/** Issues a new credential: the text to hand to the apiserver once, and the record to store. */
export function issueCredential(
  randomBytes: RandomBytes,
  now: Date,
): { credential: string; record: CallerCredential } {
  const id = [...randomBytes(10)].map((byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
  const secret = randomBytes(32).toString('base64url');
  return {
    credential: `tgc_${id}_${secret}`,
    record: { id, hash: hashSecret(secret, randomBytes(SALT_BYTES)), createdAt: now.toISOString() },
  };
}

/** The stored credential the presented one names by its id, if the cluster has it. */
export function credentialRecordOf(cluster: ClusterRecord, presented: ParsedCredential): CallerCredential | undefined {
  return cluster.credentials.find((candidate) => candidate.id === presented.id);
}

/**
 * When a stored credential stops counting, in epoch milliseconds: undefined for one without an end, NaN
 * for an unreadable `notAfter` (which never counts: a credential is never valid forever by accident).
 */
export function credentialEndMs(record: CallerCredential): number | undefined {
  return record.notAfter === undefined ? undefined : Date.parse(record.notAfter);
}

/** Whether a stored credential still counts at `now` (before the end of a rotation's grace period). */
export function credentialUsable(record: CallerCredential, now: Date): boolean {
  const end = credentialEndMs(record);
  return end === undefined || end > now.getTime();
}

/**
 * Whether the presented credential is one of the cluster's current ones: its id names a stored
 * credential that still counts, and its secret matches that one's hash.
 */
export async function credentialMatches(presented: ParsedCredential, cluster: ClusterRecord, now: Date): Promise<boolean> {
  const record = credentialRecordOf(cluster, presented);
  if (!record || !credentialUsable(record, now)) return false;
  return secretMatches(record, presented.secret);
}

/** The stored form of a secret under `salt`. */
function hashSecret(secret: string, salt: Buffer): string {
  return `${SHA256_PREFIX}${salt.toString('base64url')}$${sha256Of(salt, secret).toString('base64url')}`;
}

/** Whether a secret matches one stored credential's hash, compared in constant time (an unreadable hash never matches). */
export async function secretMatches(record: CallerCredential, secret: string): Promise<boolean> {
  if (record.hash.startsWith(SHA256_PREFIX)) {
    const [salt, digest] = record.hash.slice(SHA256_PREFIX.length).split('$');
    if (salt === undefined || digest === undefined) return false;
    const expected = Buffer.from(digest, 'base64url');
    const actual = sha256Of(Buffer.from(salt, 'base64url'), secret);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
  if (!isArgon2Hash(record.hash)) return false;
  try {
    return await (await argon2()).verify(record.hash, secret);
  } catch {
    return false;
  }
}
