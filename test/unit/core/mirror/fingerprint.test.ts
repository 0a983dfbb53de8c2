import { describe, expect, it } from 'vitest';
import { deriveRecords } from '../../../../functions/core/mirror/derive.ts';
import { downstreamFingerprint, isUnchanged, managementFingerprint } from '../../../../functions/core/mirror/fingerprint.ts';
import { cat, cua, HASH_D } from '../../../support/fake-cluster-source.ts';

const tokens = [cat({ name: 'kubeconfig-u-a', userName: 'u-a', hash: HASH_D, resourceVersion: '10' }), cat({ name: 'token-b', userName: 'u-b', resourceVersion: '11' })];
const users = [cua({ name: 'u-a', resourceVersion: '7' }), cua({ name: 'u-b', resourceVersion: '8' })];

describe('downstreamFingerprint', () => {
  it('does not depend on the order the apiserver listed the objects in', () => {
    expect(downstreamFingerprint([...tokens].reverse(), [...users].reverse())).toBe(downstreamFingerprint(tokens, users));
  });

  it('changes when one object is written, deleted, or deleted and recreated under the same name', () => {
    const base = downstreamFingerprint(tokens, users);
    expect(downstreamFingerprint([tokens[0]!, { ...tokens[1]!, resourceVersion: '12' }], users)).not.toBe(base);
    expect(downstreamFingerprint([tokens[0]!], users)).not.toBe(base);
    expect(downstreamFingerprint([tokens[0]!, { ...tokens[1]!, uid: 'another-uid' }], users)).not.toBe(base);
    expect(downstreamFingerprint(tokens, [users[0]!, { ...users[1]!, resourceVersion: '9' }])).not.toBe(base);
  });

  it('tells a token from a user attribute of the same name', () => {
    expect(downstreamFingerprint([cat({ name: 'x', resourceVersion: '1', uid: 'u' })], [])).not.toBe(
      downstreamFingerprint([], [cua({ name: 'x', resourceVersion: '1', uid: 'u' })]),
    );
  });
});

describe('managementFingerprint', () => {
  const desired = deriveRecords('c-one', { tokens, users, secrets: [] }).records;

  it('changes with the derived records, the skipped tokens, the cluster policy and the warnings', () => {
    const base = managementFingerprint(desired, [], { acceptUnscopedTokens: false });
    expect(managementFingerprint(desired, [], { acceptUnscopedTokens: true })).not.toBe(base);
    expect(managementFingerprint(desired, ['token-c: hashed with $1'], { acceptUnscopedTokens: false })).not.toBe(base);
    expect(managementFingerprint(desired, [], { acceptUnscopedTokens: false }, ['ACE is on for c-one in Rancher.'])).not.toBe(base);
    const disabled = deriveRecords('c-one', { tokens: [{ ...tokens[0]!, enabled: false }, tokens[1]!], users, secrets: [] }).records;
    expect(managementFingerprint(disabled, [], { acceptUnscopedTokens: false })).not.toBe(base);
    expect(managementFingerprint(deriveRecords('c-one', { tokens, users, secrets: [] }).records, [], { acceptUnscopedTokens: false })).toBe(base);
  });
});

describe('isUnchanged', () => {
  const at = '2026-12-01T10:00:00.000Z';
  const now = Date.parse(at) + 60_000;
  const stored = { digest: 'd', epoch: 3, at };

  it('lets a run skip only with the same digest, at the same epoch, within the full-resync age', () => {
    expect(isUnchanged(stored, 'd', 3, now, 120_000)).toBe(true);
    expect(isUnchanged(stored, 'e', 3, now, 120_000)).toBe(false);
    expect(isUnchanged(stored, 'd', 4, now, 120_000)).toBe(false);
    expect(isUnchanged(stored, 'd', 3, now, 60_000)).toBe(false);
    expect(isUnchanged(stored, 'd', 3, now, 0)).toBe(false);
    expect(isUnchanged(undefined, 'd', 3, now, 120_000)).toBe(false);
    // a clock that went backwards does not extend a fingerprint's life
    expect(isUnchanged(stored, 'd', 3, Date.parse(at) - 1, 120_000)).toBe(false);
  });
});
