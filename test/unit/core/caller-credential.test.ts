import { randomBytes } from 'node:crypto';
import { hash as argon2Hash } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { credentialMatches, issueCredential, parseCredential, secretMatches } from '../../../functions/core/caller-credential.ts';
import { newCluster } from '../../../functions/core/records.ts';

const NOW = new Date('2026-12-06T00:00:00Z');

describe('issued caller credentials', () => {
  it('are stored as a salted SHA-256 of their 256-bit secret, never the secret itself', () => {
    const { credential, record } = issueCredential(randomBytes, NOW);
    const secret = parseCredential(credential)!.secret;
    expect(record.hash).toMatch(/^\$tgc-sha256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(record.hash).not.toContain(secret);
  });

  it('salt each hash: one secret issued twice is stored two ways', () => {
    const fixed = Buffer.alloc(32, 7);
    const salts = [Buffer.alloc(16, 1), Buffer.alloc(16, 2)];
    const bytes = (size: number) => (size === 16 ? salts.shift()! : size === 32 ? fixed : Buffer.alloc(size, 3));
    expect(issueCredential(bytes, NOW).record.hash).not.toBe(issueCredential(bytes, NOW).record.hash);
  });

  it('match their own secret and no other, at the cluster that holds them', async () => {
    const { credential, record } = issueCredential(randomBytes, NOW);
    const cluster = newCluster('c-abc12', record, NOW);
    const presented = parseCredential(credential)!;
    expect(await credentialMatches(presented, cluster, NOW)).toBe(true);
    const wrong = { ...presented, secret: `${presented.secret.slice(0, -1)}${presented.secret.endsWith('A') ? 'B' : 'A'}` };
    expect(await credentialMatches(wrong, cluster, NOW)).toBe(false);
  });

  it('refuse a stored hash that is cut short or not one of the known forms', async () => {
    const { credential, record } = issueCredential(randomBytes, NOW);
    const secret = parseCredential(credential)!.secret;
    expect(await secretMatches({ ...record, hash: record.hash.slice(0, -4) }, secret)).toBe(false);
    expect(await secretMatches({ ...record, hash: '$tgc-sha256$onlysalt' }, secret)).toBe(false);
    expect(await secretMatches({ ...record, hash: secret }, secret)).toBe(false);
  });

  it('issued before as argon2id hashes still verify', async () => {
    const secret = randomBytes(32).toString('base64url');
    const record = { id: 'abcdefghij', hash: await argon2Hash(secret, { memoryCost: 4096, timeCost: 1, parallelism: 1 }), createdAt: NOW.toISOString() };
    expect(await secretMatches(record, secret)).toBe(true);
    expect(await secretMatches(record, randomBytes(32).toString('base64url'))).toBe(false);
  });
});
