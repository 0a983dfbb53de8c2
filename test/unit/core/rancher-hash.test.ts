import { describe, expect, it } from 'vitest';
import vectors from '../../fixtures/hash-vectors.json' with { type: 'json' };
import { verifySecret } from '../../../functions/core/hash.ts';
import { createSha3Hash, ingestV3Secret } from '../../../functions/core/rancher-hash.ts';

const rancherVector = vectors.vectors.find((vector) => vector.format === 'sha3-512')!;
const saltOf = (hash: string) => Buffer.from(hash.split(':')[2]!, 'base64');
const fixedSalt = () => Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);

describe('createSha3Hash', () => {
  it("reproduces Rancher's own $3 vector from its salt", () => {
    expect(createSha3Hash(rancherVector.secret, saltOf(rancherVector.hash))).toBe(rancherVector.hash);
  });

  it('makes a hash the review verifies', async () => {
    expect(await verifySecret(createSha3Hash('s3cret', fixedSalt()), 's3cret')).toBe('match');
  });
});

describe('ingestV3Secret', () => {
  const plaintext = 'x'.repeat(54);

  it('uses an annotated $3 hash as is', () => {
    expect(ingestV3Secret({ token: rancherVector.hash, hashedAnnotation: true, hashingOn: true }, undefined, fixedSalt)).toEqual({
      kind: 'hash',
      hash: rancherVector.hash,
      hashedOnIngest: false,
    });
  });

  it('skips $1 and $2 hashes as Rancher does', () => {
    expect(ingestV3Secret({ token: '$1:abcd:15:8:1:xyz', hashedAnnotation: true, hashingOn: true }, undefined, fixedSalt)).toEqual({ kind: 'legacy-hash', version: '1' });
    expect(ingestV3Secret({ token: '$2:abc:xyz', hashedAnnotation: true, hashingOn: true }, undefined, fixedSalt)).toEqual({ kind: 'legacy-hash', version: '2' });
  });

  it('waits for Rancher when hashing is on but the token is not annotated yet', () => {
    expect(ingestV3Secret({ token: plaintext, hashedAnnotation: false, hashingOn: true }, undefined, fixedSalt).kind).toBe('not-ready');
  });

  it('hashes a plaintext token with $3 and a random salt, keeping nothing of the plaintext', async () => {
    const secret = ingestV3Secret({ token: plaintext, hashedAnnotation: false, hashingOn: false }, undefined, fixedSalt);
    expect(secret.kind).toBe('hash');
    const text = JSON.stringify(secret);
    expect(text).not.toContain(plaintext);
    expect(await verifySecret((secret as { hash: string }).hash, plaintext)).toBe('match');
  });

  it('reuses the previous hash of an unchanged plaintext token, and re-hashes a changed one', () => {
    let draws = 0;
    const salt = () => Uint8Array.from([draws++, 9, 9, 9, 9, 9, 9, 9]);
    const first = ingestV3Secret({ token: plaintext, hashedAnnotation: false, hashingOn: false }, undefined, salt) as { hash: string };
    const again = ingestV3Secret({ token: plaintext, hashedAnnotation: false, hashingOn: false }, first.hash, salt) as { hash: string };
    expect(again.hash).toBe(first.hash);
    const changed = ingestV3Secret({ token: 'y'.repeat(54), hashedAnnotation: false, hashingOn: false }, first.hash, salt) as { hash: string };
    expect(changed.hash).not.toBe(first.hash);
    expect(draws).toBe(2);
  });
});
