import { createHash, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { verify as verifyArgon2 } from '@node-rs/argon2';

/** Which of Rancher's (or our own) hash layouts a stored hash uses. */
export type HashFormat = 'scrypt' | 'sha256' | 'sha3-512' | 'argon2id';

export type HashCheck = 'match' | 'mismatch' | 'unsupported';

/** scrypt needs 128·r·(N+2)+128·r·p bytes; Rancher's N=2^15, r=8 needs 32 MiB. Allow up to 64 MiB. */
const SCRYPT_MAX_MEMORY = 64 * 1024 * 1024;
/** Refuse parameters that would let a forged row make one verify cost seconds of CPU. */
const SCRYPT_MAX_LOG_N = 20;

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
        return (await verifyArgon2(hash, secret)) ? 'match' : 'mismatch';
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
    [logN, r, p].every((n) => Number.isInteger(n) && n > 0) && logN <= SCRYPT_MAX_LOG_N && r <= 32 && p <= 16;
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
