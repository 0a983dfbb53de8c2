import { describe, expect, it } from 'vitest';
import vectors from '../../fixtures/hash-vectors.json' with { type: 'json' };
import { randomBytes } from 'node:crypto';
import { applicableVerifier, hashFormat, issueVerifier, verifySecret } from '../../../functions/core/hash.ts';

describe('verifySecret', () => {
  for (const vector of vectors.vectors) {
    it(`matches the known ${vector.format} vector ${vector.hash.slice(0, 12)}…`, async () => {
      expect(hashFormat(vector.hash)).toBe(vector.format);
      expect(await verifySecret(vector.hash, vector.secret)).toBe('match');
    });

    it(`refuses a wrong secret against the ${vector.format} vector ${vector.hash.slice(0, 12)}…`, async () => {
      const wrong = `${vector.secret.slice(0, -1)}${vector.secret.endsWith('z') ? 'y' : 'z'}`;
      expect(await verifySecret(vector.hash, wrong)).toBe('mismatch');
    });
  }

  it('verifies a secret containing a colon against scrypt', async () => {
    const vector = vectors.vectors.find((v) => v.secret.includes(':'));
    expect(vector).toBeDefined();
    expect(await verifySecret(vector!.hash, vector!.secret)).toBe('match');
  });

  it('verifies argon2id hashes that tokengate issues', async () => {
    const { hash } = await import('@node-rs/argon2');
    const stored = await hash('s3cret');
    expect(stored.startsWith('$argon2id$')).toBe(true);
    expect(await verifySecret(stored, 's3cret')).toBe('match');
    expect(await verifySecret(stored, 's3creT')).toBe('mismatch');
  });

  it.each([
    ['empty', ''],
    ['unknown version', '$9:abc:def'],
    ['bcrypt', '$2a$10$abcdefghijklmnopqrstuu'],
    ['sha3 with wrong part count', '$3:1:uFrxm43ggfw'],
    ['sha3 with wrong second part', '$3:2:uFrxm43ggfw:zsN1zEFC7SvABTdR58o7yjIqfrI4cQ'],
    ['sha256 with bad base64', '$2:***:FyeWbQuUt6VEMhQOe5J1kXPf0D4H9MRjub0aNaGzyx8'],
    ['sha256 with empty digest', '$2:jwvzsLqh6Rg:'],
    ['scrypt with non-hex salt', '$1:zz:15:8:1:AAAA'],
    ['scrypt with absurd cost', '$1:0a1b:40:8:1:AAAA'],
    ['scrypt with missing key', '$1:0a1b:15:8:1'],
    ['argon2 garbage', '$argon2id$v=19$garbage'],
  ])('calls a malformed hash (%s) unsupported, never a match', async (_label, stored) => {
    expect(await verifySecret(stored, 'd'.repeat(54))).toBe('unsupported');
  });

  it('does not accept a digest that is only a prefix of the real one', async () => {
    const truncated = '$3:1:uFrxm43ggfw:zsN1zEFC7SvABTdR58o7yjIqfrI4cQ';
    expect(await verifySecret(truncated, 'd'.repeat(54))).toBe('mismatch');
  });
});

describe('scrypt parameters beyond what Rancher writes', () => {
  it('calls a row with hostile scrypt parameters (r=15, p=16) unsupported without hashing it', async () => {
    expect(await verifySecret(`$1:0a1b2c3d4e5f6071:15:15:16:${'A'.repeat(86)}`, 'secret')).toBe('unsupported');
    expect(await verifySecret(`$1:0a1b2c3d4e5f6071:16:8:1:${'A'.repeat(86)}`, 'secret')).toBe('unsupported');
  });
});

describe('fast verifiers of slow hashes', () => {
  const scrypt = vectors.vectors.find((vector) => vector.format === 'scrypt')!;

  it('issues a $3 verifier that matches the secret and only the secret', async () => {
    const verifier = issueVerifier(scrypt.hash, scrypt.secret, randomBytes);
    expect(verifier.hash).toMatch(/^\$3:1:[A-Za-z0-9+/]+:[A-Za-z0-9+/]+$/);
    expect(await verifySecret(verifier.hash, scrypt.secret)).toBe('match');
    expect(await verifySecret(verifier.hash, `${scrypt.secret}x`)).toBe('mismatch');
  });

  it('applies a verifier only to the source hash it was made from', () => {
    const verifier = issueVerifier(scrypt.hash, scrypt.secret, randomBytes);
    expect(applicableVerifier(scrypt.hash, verifier)).toBe(verifier.hash);
    expect(applicableVerifier(`${scrypt.hash.slice(0, -2)}AA`, verifier)).toBeUndefined();
    expect(applicableVerifier(scrypt.hash, undefined)).toBeUndefined();
  });

  it('salts each verifier afresh', () => {
    expect(issueVerifier(scrypt.hash, scrypt.secret, randomBytes).hash).not.toBe(issueVerifier(scrypt.hash, scrypt.secret, randomBytes).hash);
  });
});
