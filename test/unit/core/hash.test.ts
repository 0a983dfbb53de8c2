import { describe, expect, it } from 'vitest';
import vectors from '../../fixtures/hash-vectors.json' with { type: 'json' };
import { hashFormat, verifySecret } from '../../../functions/core/hash.ts';

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
