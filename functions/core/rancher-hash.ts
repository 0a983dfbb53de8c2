import { createHash, timingSafeEqual } from 'node:crypto';
import type { TokenSecret } from './management-objects.ts';

/**
 * Rancher's `$3` (SHA3-512) token hash, created the way Rancher's hasher creates it
 * (`$3:1:<base64raw salt>:<base64raw SHA3-512(salt ‖ secret)>`, 8 random salt bytes; docs/rancher.md,
 * "Hashes"). Pure: the salt is the caller's. Verifying lives in `hash.ts`.
 */
export function createSha3Hash(secret: string, salt: Uint8Array): string {
  const digest = createHash('sha3-512').update(salt).update(secret, 'utf8').digest();
  return `$3:1:${rawBase64(salt)}:${rawBase64(digest)}`;
}

/** Go's base64.RawStdEncoding. */
function rawBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/** Whether `hash` is a well-formed `$3` hash of `secret` (constant-time compare). */
function isSha3HashOf(hash: string, secret: string): boolean {
  const parts = hash.split(':');
  if (parts.length !== 4 || parts[0] !== '$3' || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const expected = Buffer.from(parts[3] ?? '', 'base64');
  if (salt.length === 0 || expected.length !== 64) return false;
  const actual = createHash('sha3-512').update(salt).update(secret, 'utf8').digest();
  return timingSafeEqual(actual, expected);
}

export interface V3SecretField {
  /** The v3 object's `token` field: a hash when hashed, else the plaintext secret. */
  token: string;
  /** The `authn.management.cattle.io/token-hashed` annotation is "true". */
  hashedAnnotation: boolean;
  /** Rancher's `token-hashing` feature is on (then an unannotated token is not hashed *yet*). */
  hashingOn: boolean;
}

/**
 * Turns a v3 token's `token` field into what may be kept, following Rancher's ACE controller (docs/rancher.md,
 * "Which hash"): annotated `$3` → used as is; annotated `$1`/`$2` → skipped (Rancher never syncs them);
 * hashing on but not annotated yet → not ready; hashing off → the field is the plaintext secret and is hashed
 * here with `$3`. The plaintext is read only inside this function and returned in no form but a hash:
 * `previousHash` (the hash kept from an earlier run for this token) is reused when it matches, so an
 * unchanged token does not get a new salt — and a new row — on every listing; otherwise a salt is drawn
 * from `randomSalt` (8 bytes, as Rancher's).
 */
export function ingestV3Secret(field: V3SecretField, previousHash: string | undefined, randomSalt: () => Uint8Array): TokenSecret {
  const { token } = field;
  if (field.hashedAnnotation) {
    if (token.startsWith('$3:')) return { kind: 'hash', hash: token, hashedOnIngest: false };
    if (token.startsWith('$1:')) return { kind: 'legacy-hash', version: '1' };
    if (token.startsWith('$2:')) return { kind: 'legacy-hash', version: '2' };
    return { kind: 'not-ready', why: 'marked hashed but the hash format is unknown' };
  }
  if (field.hashingOn) return { kind: 'not-ready', why: 'token hashing is on and Rancher has not hashed this token yet' };
  if (token === '') return { kind: 'not-ready', why: 'the token has no secret' };
  if (previousHash !== undefined && isSha3HashOf(previousHash, token)) return { kind: 'hash', hash: previousHash, hashedOnIngest: true };
  return { kind: 'hash', hash: createSha3Hash(token, randomSalt()), hashedOnIngest: true };
}
