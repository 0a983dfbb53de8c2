import { createHash, randomBytes, scrypt as scryptCallback } from 'node:crypto';
import { hash as hashArgon2 } from '@node-rs/argon2';
import { tokenRecord } from '../../test/support/fakes.ts';
import type { TokenRecord } from '../../functions/core/records.ts';

/** The 27 characters Rancher draws its 54-character token secrets from (docs/reference.md, "Token string"). */
const RANCHER_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function rancherSecret(): string {
  return [...randomBytes(54)].map((byte) => RANCHER_ALPHABET[byte % RANCHER_ALPHABET.length]).join('');
}

const rawBase64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

/** `$3:1:<salt>:<sha3-512(salt ‖ secret)>` exactly as Rancher writes it (its default since 2.7.7). */
export function sha3Hash(secret: string): string {
  const salt = randomBytes(8);
  return `$3:1:${rawBase64(salt)}:${rawBase64(createHash('sha3-512').update(salt).update(secret).digest())}`;
}

/** `$1:<salt hex>:15:8:1:<key>`: Rancher's scrypt layout with its parameters (N=2^15, r=8, p=1). */
export async function scryptHash(secret: string): Promise<string> {
  const salt = randomBytes(8);
  const key = await new Promise<Buffer>((resolve, reject) =>
    scryptCallback(secret, salt, 64, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (error, derived) =>
      error ? reject(error) : resolve(derived),
    ),
  );
  return `$1:${salt.toString('hex')}:15:8:1:${rawBase64(key)}`;
}

/** An argon2id PHC string with @node-rs/argon2's defaults (OWASP: m=19456 KiB, t=2, p=1), as tokengate issues. */
export function argon2Hash(secret: string): Promise<string> {
  return hashArgon2(secret);
}

/**
 * A bound ServiceAccount JWT as a pod presents it (the shape of the tokens that flood the webhook):
 * RS256 header with a key id, the usual claims, a 256-byte signature. Never verified by anyone.
 */
export function serviceAccountJwt(namespace = 'cattle-system', name = 'cattle'): string {
  const now = 1_795_000_000;
  const header = { alg: 'RS256', kid: 'Xq3mVbH0a1YtZx9PzR2kLw8nC4dE6fG7hJ5sT1uV0wM' };
  const payload = {
    aud: ['https://kubernetes.default.svc.cluster.local'],
    exp: now + 3600,
    iat: now,
    iss: 'https://kubernetes.default.svc.cluster.local',
    jti: '4f1c2b7e-8d3a-4e5f-9a6b-0c1d2e3f4a5b',
    'kubernetes.io': {
      namespace,
      node: { name: 'worker-1', uid: '9b2f0c4e-1a3d-4b5c-8e7f-6a5b4c3d2e1f' },
      pod: { name: `${name}-7d9f8c6b5-x2k4m`, uid: '1e2d3c4b-5a69-4788-96a5-b4c3d2e1f0a9' },
      serviceaccount: { name, uid: '0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d' },
      warnafter: now + 3000,
    },
    nbf: now,
    sub: `system:serviceaccount:${namespace}:${name}`,
  };
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(payload)}.${randomBytes(256).toString('base64url')}`;
}

/** A Rancher token record as sync writes it (`tokenRecord` of the unit tests), with its name and hash. */
export function benchTokenRow(clusterId: string, name: string, hash: string): TokenRecord {
  return tokenRecord({ clusterId, name, hash, userName: 'u-bench' });
}

export interface SeededToken {
  name: string;
  /** The bearer token the apiserver would send: `name:secret`. */
  token: string;
}

/** Tokens with distinct `$3` hashes, for cache hits (a small pool) or misses (each used once). */
export function sha3Tokens(clusterId: string, prefix: string, count: number): { rows: TokenRecord[]; tokens: SeededToken[] } {
  const rows: TokenRecord[] = [];
  const tokens: SeededToken[] = [];
  for (let index = 0; index < count; index += 1) {
    const name = `${prefix}-${index}`;
    const secret = rancherSecret();
    rows.push(benchTokenRow(clusterId, name, sha3Hash(secret)));
    tokens.push({ name, token: `${name}:${secret}` });
  }
  return { rows, tokens };
}

/**
 * Tokens that share one hash and secret under different names: each name is a distinct cache entry
 * (a cache miss) that costs exactly one verify of that hash, without paying the hashing cost per row
 * when seeding (argon2id and scrypt are deliberately slow).
 */
export function sharedHashTokens(
  clusterId: string,
  prefix: string,
  count: number,
  hash: string,
  secret: string,
): { rows: TokenRecord[]; tokens: SeededToken[] } {
  const rows: TokenRecord[] = [];
  const tokens: SeededToken[] = [];
  for (let index = 0; index < count; index += 1) {
    const name = `${prefix}-${index}`;
    rows.push(benchTokenRow(clusterId, name, hash));
    tokens.push({ name, token: `${name}:${secret}` });
  }
  return { rows, tokens };
}
