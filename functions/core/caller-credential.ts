import { argon2 } from './argon2.ts';
import type { CallerCredential, ClusterRecord } from './records.ts';

/**
 * A cluster's webhook caller credential: `tgc_<id>_<secret>`. The id names which stored credential to
 * check (so a rotation's old and new credentials cost one argon2 verify, not two), the secret is 32
 * random bytes. Only its argon2id hash is stored.
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
 * argon2id parameters for caller credentials. OWASP's (m=19 MiB, t=2) are for passwords; a credential's
 * secret is 256 random bits, which no hash cost makes easier or harder to guess from a leaked table. A
 * light hash keeps a verify near 1 ms, which shortens a cold start's first answer and leaves a flood of
 * wrong credentials little CPU to burn. Stored hashes carry their parameters, so older ones still verify.
 */
const CREDENTIAL_HASH_OPTIONS = { memoryCost: 4096, timeCost: 1, parallelism: 1 } as const;

/** Issues a new credential: the text to hand to the apiserver once, and the record to store. */
export async function issueCredential(
  randomBytes: RandomBytes,
  now: Date,
): Promise<{ credential: string; record: CallerCredential }> {
  const id = [...randomBytes(10)].map((byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
  const secret = randomBytes(32).toString('base64url');
  return {
    credential: `tgc_${id}_${secret}`,
    record: { id, hash: await (await argon2()).hash(secret, CREDENTIAL_HASH_OPTIONS), createdAt: now.toISOString() },
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
 * credential that still counts, and its secret matches that one's argon2id hash.
 */
export async function credentialMatches(presented: ParsedCredential, cluster: ClusterRecord, now: Date): Promise<boolean> {
  const record = credentialRecordOf(cluster, presented);
  if (!record || !credentialUsable(record, now)) return false;
  return secretMatches(record, presented.secret);
}

/** Whether a secret matches one stored credential's argon2id hash (an unreadable hash never matches). */
export async function secretMatches(record: CallerCredential, secret: string): Promise<boolean> {
  try {
    return await (await argon2()).verify(record.hash, secret);
  } catch {
    return false;
  }
}
