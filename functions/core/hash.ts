import { createHash, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { argon2 } from './argon2.ts';

/** Which of Rancher's (or our own) hash layouts a stored hash uses. */
export type HashFormat = 'scrypt' | 'sha256' | 'sha3-512' | 'argon2id';

export type HashCheck = 'match' | 'mismatch' | 'unsupported';

/** scrypt needs 128·r·(N+2)+128·r·p bytes; Rancher's N=2^15, r=8 needs 32 MiB. Allow up to 64 MiB. */
const SCRYPT_MAX_MEMORY = 64 * 1024 * 1024;
/**
 * The scrypt parameters Rancher writes (N=2^15, r=8, p=1) are also the most we verify: a row with
 * costlier ones (a hostile cluster's r=15, p=16 costs ~2 s per verify) is `unsupported`, never hashed.
 */
const SCRYPT_MAX = { logN: 15, r: 8, p: 1 } as const;

/**
 * A fast verifier of a token's secret, kept beside a slow source hash (`$1` scrypt, `$argon2id$`) once
 * the secret verified against it: `hash` is a `$3` SHA3-512 of the secret with a random salt (as strong
 * as the `$3` hashes Rancher itself writes), `source` a digest of the source hash it was derived
 * from, so a changed source hash makes a stale verifier simply not apply.
 */
export interface SecretVerifier {
  source: string;
  hash: string;
}

/** Digest of a stored hash, naming which source a verifier belongs to. */
export function sourceDigestOf(hash: string): string {
  return createHash('sha256').update(hash, 'utf8').digest('base64url');
}

/** Whether a hash costs milliseconds to verify (scrypt, argon2id) rather than microseconds. */
export function isSlowHash(hash: string): boolean {
  const format = hashFormat(hash);
  return format === 'scrypt' || format === 'argon2id';
}

/** The verifier hash of a record if it belongs to the record's current source hash. */
export function applicableVerifier(sourceHash: string, verifier: SecretVerifier | undefined): string | undefined {
  return verifier !== undefined && verifier.source === sourceDigestOf(sourceHash) ? verifier.hash : undefined;
}

/** Go's base64.RawStdEncoding, as Rancher's `$2`/`$3` hashes spell salt and digest. */
function toRawBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** A `$3` verifier of a secret that just matched `sourceHash`; `randomBytes` gives its salt. */
export function issueVerifier(sourceHash: string, secret: string, randomBytes: (size: number) => Buffer): SecretVerifier {
  const salt = randomBytes(16);
  const digest = createHash('sha3-512').update(salt).update(secret, 'utf8').digest();
  return { source: sourceDigestOf(sourceHash), hash: `$3:1:${toRawBase64(salt)}:${toRawBase64(digest)}` };
}

function scrypt(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(secret, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** Decodes Go's base64.RawStdEncoding (no padding); undefined when the text is not that encoding. */
function rawBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64');
}

function sameDigest(actual: Buffer, expected: Buffer): boolean {
  return actual.length === expected.length && expected.length > 0 && timingSafeEqual(actual, expected);
}

/** Names the layout of a stored hash, or undefined for one we cannot verify. */
export function hashFormat(hash: string): HashFormat | undefined {
  if (hash.startsWith('$argon2id$')) return 'argon2id';
  if (hash.startsWith('$1:')) return 'scrypt';
  if (hash.startsWith('$2:')) return 'sha256';
  if (hash.startsWith('$3:')) return 'sha3-512';
  return undefined;
}

/**
 * Checks a token secret against a stored hash in any layout Rancher writes (`$1` scrypt, `$2` SHA-256,
 * `$3` SHA3-512; docs/reference.md, "Hash formats") or that tokengate issues (`$argon2id$`). Digests are compared in constant time.
 * A hash that is malformed or of an unknown layout is `unsupported`, never a match.
 */
export async function verifySecret(hash: string, secret: string): Promise<HashCheck> {
  switch (hashFormat(hash)) {
    case 'sha256':
      return verifySaltedDigest('sha256', hash.split(':'), 3, secret);
    case 'sha3-512': {
      const parts = hash.split(':');
      if (parts[1] !== '1') return 'unsupported';
      return verifySaltedDigest('sha3-512', parts, 4, secret);
    }
    case 'scrypt':
      return verifyScrypt(hash, secret);
    case 'argon2id':
      try {
        return (await (await argon2()).verify(hash, secret)) ? 'match' : 'mismatch';
      } catch {
        return 'unsupported';
      }
    default:
      return 'unsupported';
  }
}

function verifySaltedDigest(
  algorithm: 'sha256' | 'sha3-512',
  parts: string[],
  expectedParts: number,
  secret: string,
): HashCheck {
  if (parts.length !== expectedParts) return 'unsupported';
  const salt = rawBase64(parts[expectedParts - 2] ?? '');
  const expected = rawBase64(parts[expectedParts - 1] ?? '');
  if (!salt || !expected || expected.length === 0) return 'unsupported';
  const actual = createHash(algorithm).update(salt).update(secret, 'utf8').digest();
  return sameDigest(actual, expected) ? 'match' : 'mismatch';
}

async function verifyScrypt(hash: string, secret: string): Promise<HashCheck> {
  const [, saltHex, logNText, rText, pText, keyText, ...rest] = hash.split(':');
  if (rest.length > 0 || !saltHex || !/^([0-9a-f]{2})+$/i.test(saltHex)) return 'unsupported';
  const logN = Number(logNText);
  const r = Number(rText);
  const p = Number(pText);
  const expected = rawBase64(keyText ?? '');
  const validParameters =
    [logN, r, p].every((n) => Number.isInteger(n) && n > 0) && logN <= SCRYPT_MAX.logN && r <= SCRYPT_MAX.r && p <= SCRYPT_MAX.p;
  if (!validParameters || !expected || expected.length === 0) return 'unsupported';
  try {
    const actual = await scrypt(secret, Buffer.from(saltHex, 'hex'), expected.length, {
      N: 2 ** logN,
      r,
      p,
      maxmem: SCRYPT_MAX_MEMORY,
    });
    return sameDigest(actual, expected) ? 'match' : 'mismatch';
  } catch {
    return 'unsupported';
  }
}
