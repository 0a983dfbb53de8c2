import { verify } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import {
  createNativeToken,
  defaultTokenName,
  isValidTokenName,
  randomString,
  SECRET_LENGTH,
  TOKEN_ALPHABET,
} from '../../../functions/core/native-token.ts';
import { verifySecret } from '../../../functions/core/hash.ts';
import { itemOf, tokenFromItem } from '../../../functions/adapters/dynamodb/rows.ts';
import { parseToken } from '../../../functions/core/token-string.ts';

/** Randomness that hands out the given bytes in order, then zeros. */
function scripted(bytes: number[]): (size: number) => Buffer {
  let next = 0;
  return (size) => Buffer.from(Array.from({ length: size }, () => bytes[next++] ?? 0));
}

describe('randomString', () => {
  it('maps bytes onto the alphabet', () => {
    expect(randomString(scripted([0, 1, 26, 27]), TOKEN_ALPHABET, 4)).toBe('bc9b');
  });

  it('discards bytes that would favour the first characters of the alphabet', () => {
    // 27 × 9 = 243: bytes 243–255 would make b…n slightly more likely, so they are drawn again.
    expect(randomString(scripted([243, 255, 5]), TOKEN_ALPHABET, 1)).toBe(TOKEN_ALPHABET[5]);
  });

  it('uses only Rancher’s token alphabet', () => {
    const text = randomString((size) => Buffer.from(Array.from({ length: size }, (_, index) => (index * 37) % 256)), TOKEN_ALPHABET, 500);
    expect(text).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{500}$/);
  });
});

describe('native tokens', () => {
  const now = new Date('2026-11-26T00:00:00Z');

  it('are named tg- and five alphabet characters by default', () => {
    expect(defaultTokenName(scripted([0, 1, 2, 3, 4]))).toBe('tg-bcdfg');
  });

  it('accept names a bearer token can carry and refuse the others', () => {
    expect(isValidTokenName('tg-abc12')).toBe(true);
    expect(isValidTokenName('ci.deploy-bot')).toBe(true);
    for (const bad of ['Upper', 'has:colon', 'has space', '-leading', '', 'x'.repeat(254)]) expect(isValidTokenName(bad)).toBe(false);
  });

  it('have a 54-character secret whose argon2id hash (OWASP parameters) is stored, never the secret', async () => {
    const { record: row, token } = await createNativeToken(
      { clusterId: 'c-1', name: 'tg-bcdfg', userName: 'alice', groups: ['dev', 'dev', 'ops'], now, expiresAt: new Date('2026-11-27T00:00:00Z') },
      (size) => Buffer.alloc(size, 7),
    );
    const parsed = parseToken(token);
    if (!('rancher' in parsed)) throw new Error('token is not name:secret');
    expect(parsed.rancher.name).toBe('tg-bcdfg');
    expect(parsed.rancher.secret).toHaveLength(SECRET_LENGTH);
    expect(row.hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(JSON.stringify(row)).not.toContain(parsed.rancher.secret);
    expect(await verify(row.hash as string, parsed.rancher.secret)).toBe(true);
    expect(await verifySecret(row.hash as string, parsed.rancher.secret)).toBe('match');
  });

  it('are records of origin native with their user inline, stored with a TTL a day after expiry', async () => {
    const { record: row } = await createNativeToken(
      { clusterId: 'c-1', name: 'tg-x', userName: 'alice', groups: ['dev', 'dev'], now, expiresAt: new Date('2026-11-27T00:00:00Z') },
      (size) => Buffer.alloc(size, 1),
    );
    const item = itemOf(row, 0);
    expect(tokenFromItem(item)).toMatchObject({ ...row, version: 0 });
    expect(item).toMatchObject({
      pk: 'C#c-1',
      sk: 'TOKEN#tg-x',
      origin: 'native',
      enabled: true,
      expiresAt: '2026-11-27T00:00:00.000Z',
      user: { enabled: true, groups: ['dev'], extraByProvider: {} },
      ttl: Date.parse('2026-11-28T00:00:00Z') / 1000,
    });
  });

  it('never expire, and have no TTL, without an expiry', async () => {
    const { record: row } = await createNativeToken({ clusterId: 'c-1', name: 'tg-x', userName: 'alice', groups: [], now }, (size) => Buffer.alloc(size, 1));
    expect(row).not.toHaveProperty('expiresAt');
    expect(itemOf(row, 0)).not.toHaveProperty('ttl');
  });
});
