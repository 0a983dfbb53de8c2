import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, deriveRecords, mergeSources, sourcesFromState, type MirrorSources, type SecretSource, type TokenSource, type UserSource } from '../../../../functions/core/mirror/derive.ts';
import { planMirror } from '../../../../functions/core/mirror/plan.ts';
import { hashFingerprint } from '../../../../functions/core/revocation.ts';
import { refOf, type ClusterState, type MirroredRecord, type RecordRef, type TokenRecord, type Versioned } from '../../../../functions/core/records.ts';

const HASH_ON_TOKEN = '$3:1:uFrxm43ggfw:zsN1zEFC7SvABTdR58o7yjIqfrI4cQ/HSYz3jBwwVnx5X+/ph4etGDIU9dvIYuy1IvnYUVe6a/Ar95xE+gfjhA';
const HASH_IN_SECRET = '$3:1:GepdvExsvzA:JXMHpXDZqtU5zNh5y5HB8KmLKbHc2VdeuxQo6CTlLhyNifaYhJTnb+4Rf+xpnbsfd8tIlQ0ZgIi2edJrm9CpoA';

function token(overrides: Partial<TokenSource> = {}): TokenSource {
  return { name: 'kubeconfig-u-alice', userName: 'u-alice', enabled: true, expiresAt: '', hash: HASH_ON_TOKEN, ...overrides };
}
function user(overrides: Partial<UserSource> = {}): UserSource {
  return {
    name: 'u-alice',
    groups: ['openldap_group://cn=admins,dc=example,dc=org'],
    enabled: true,
    extraByProvider: { openldap: { principalid: ['openldap_user://uid=alice'], username: ['alice'] } },
    lastRefresh: '2026-11-25T23:00:00Z',
    needsRefresh: false,
    ...overrides,
  };
}
function secret(overrides: Partial<SecretSource> = {}): SecretSource {
  return { name: 'kubeconfig-u-alice', hash: HASH_IN_SECRET, ...overrides };
}
function sources(partial: Partial<MirrorSources> = {}): MirrorSources {
  return { tokens: [token()], users: [user()], secrets: [], ...partial };
}
const empty: ClusterState = { tokens: [], users: [], secrets: [], usage: [] };

const idOf = (ref: RecordRef) => `${ref.kind}#${ref.name}`;

/** The records a plan leaves in the store, as `readClusterState` would return them (each write bumps the version). */
function applied(current: ClusterState, plan: ReturnType<typeof planMirror>): ClusterState {
  const byId = new Map<string, Versioned<MirroredRecord>>();
  for (const record of [...current.tokens, ...current.users, ...current.secrets]) byId.set(idOf(refOf(record)), record);
  for (const { record, expectedVersion } of plan.puts) byId.set(idOf(refOf(record)), { ...record, version: expectedVersion === undefined ? 0 : expectedVersion + 1 });
  const deleted = new Set(plan.deletes.map((entry) => idOf(entry.ref)));
  for (const id of deleted) byId.delete(id);
  const records = [...byId.values()];
  return {
    tokens: records.filter((record) => record.kind === 'token') as ClusterState['tokens'],
    users: records.filter((record) => record.kind === 'user') as ClusterState['users'],
    secrets: records.filter((record) => record.kind === 'secret') as ClusterState['secrets'],
    usage: current.usage.filter((usage) => !deleted.has(idOf(refOf(usage)))),
  };
}

describe('deriveRecords', () => {
  it("copies the user's attribute into the token row so a review needs one read", () => {
    const [row] = deriveRecords('c-abc12', sources()).records.tokens;
    expect(row).toMatchObject({
      kind: 'token',
      name: 'kubeconfig-u-alice',
      origin: 'rancher',
      clusterId: 'c-abc12',
      userName: 'u-alice',
      enabled: true,
      hash: HASH_ON_TOKEN,
      user: { enabled: true, groups: ['openldap_group://cn=admins,dc=example,dc=org'], extraByProvider: { openldap: { username: ['alice'] } } },
    });
  });

  it("lets the token's own non-empty hash win over its Secret's", () => {
    const derived = deriveRecords('c-abc12', sources({ secrets: [secret()] }));
    expect(derived.records.tokens[0]?.hash).toBe(HASH_ON_TOKEN);
  });

  it('takes the hash from the Secret of the same name when the token has none (Rancher 2.13)', () => {
    const derived = deriveRecords('c-abc12', sources({ tokens: [token({ hash: '' })], secrets: [secret()] }));
    expect(derived.records.tokens[0]?.hash).toBe(HASH_IN_SECRET);
    expect(derived.tokensWithoutHash).toEqual([]);
  });

  it('leaves the hash out, and says so, when neither the token nor a Secret has one', () => {
    const derived = deriveRecords('c-abc12', sources({ tokens: [token({ hash: '' })], secrets: [secret({ name: 'other' })] }));
    expect(derived.records.tokens[0]).not.toHaveProperty('hash');
    expect(derived.tokensWithoutHash).toEqual(['kubeconfig-u-alice']);
  });

  it('leaves the user out, and says so, when the ClusterUserAttribute is missing', () => {
    const derived = deriveRecords('c-abc12', sources({ users: [] }));
    expect(derived.records.tokens[0]).not.toHaveProperty('user');
    expect(derived.tokensWithoutUser).toEqual(['kubeconfig-u-alice']);
  });

  it('keeps an expiry exactly as the object has it, and none for a token that never expires', () => {
    const derived = deriveRecords(
      'c-abc12',
      sources({ tokens: [token({ name: 'forever', expiresAt: '' }), token({ name: 'garbled', expiresAt: 'next tuesday' })] }),
    );
    const byName = new Map(derived.records.tokens.map((row) => [row.name, row]));
    expect(byName.get('forever')).not.toHaveProperty('expiresAt');
    expect(byName.get('garbled')?.expiresAt).toBe('next tuesday');
  });

  it('mirrors only the hash Secrets a token is named after', () => {
    const derived = deriveRecords('c-abc12', sources({ secrets: [secret(), secret({ name: 'some-app-secret' })] }));
    expect(derived.records.secrets.map((row) => row.name)).toEqual(['kubeconfig-u-alice']);
    expect(derived.unreferencedSecrets).toEqual(['some-app-secret']);
  });

  it('writes user records with the refresh state for the sync', () => {
    const [row] = deriveRecords('c-abc12', sources()).records.users;
    expect(row).toMatchObject({ kind: 'user', clusterId: 'c-abc12', userId: 'u-alice', lastRefresh: '2026-11-25T23:00:00Z', needsRefresh: false });
  });

  it('gives equal sources equal digests, whatever the key order of their maps', () => {
    const a = deriveRecords('c-abc12', sources({ users: [user({ extraByProvider: { a: { x: ['1'] }, b: { y: ['2'] } } })] }));
    const b = deriveRecords('c-abc12', sources({ users: [user({ extraByProvider: { b: { y: ['2'] }, a: { x: ['1'] } } })] }));
    expect(a.records.tokens[0]?.sourceDigest).toBe(b.records.tokens[0]?.sourceDigest);
    expect(a.records.users[0]?.sourceDigest).toBe(b.records.users[0]?.sourceDigest);
  });

  it("does not change a token's digest when only its user's refresh bookkeeping changes", () => {
    const before = deriveRecords('c-abc12', sources());
    const after = deriveRecords('c-abc12', sources({ users: [user({ lastRefresh: '2026-11-26T05:00:00Z', needsRefresh: true })] }));
    expect(after.records.tokens[0]?.sourceDigest).toBe(before.records.tokens[0]?.sourceDigest);
    expect(after.records.users[0]?.sourceDigest).not.toBe(before.records.users[0]?.sourceDigest);
  });

  it("changes a token's digest when anything a review reads changes", () => {
    const base = deriveRecords('c-abc12', sources()).records.tokens[0]?.sourceDigest;
    const variants: MirrorSources[] = [
      sources({ tokens: [token({ enabled: false })] }),
      sources({ tokens: [token({ expiresAt: '2027-01-01T00:00:00Z' })] }),
      sources({ tokens: [token({ hash: '' })], secrets: [secret()] }),
      sources({ tokens: [token({ userName: 'u-bob' })], users: [user({ name: 'u-bob' })] }),
      sources({ users: [user({ groups: ['openldap_group://cn=other'] })] }),
      sources({ users: [user({ enabled: false })] }),
      sources({ users: [] }),
    ];
    for (const variant of variants) expect(deriveRecords('c-abc12', variant).records.tokens[0]?.sourceDigest).not.toBe(base);
  });

  it('keeps the last of several objects with the same name', () => {
    const derived = deriveRecords('c-abc12', sources({ tokens: [token({ enabled: true }), token({ enabled: false })] }));
    expect(derived.records.tokens).toHaveLength(1);
    expect(derived.records.tokens[0]?.enabled).toBe(false);
  });
});

describe('planMirror', () => {
  const desired = () => deriveRecords('c-abc12', sources({ tokens: [token()], secrets: [] })).records;

  it('creates records that do not exist yet, unconditionally', () => {
    const plan = planMirror(empty, desired(), { prune: false });
    expect(plan.counts).toEqual({ created: 2, updated: 0, unchanged: 0, deleted: 0 });
    expect(plan.puts.every((put) => put.change === 'create' && put.expectedVersion === undefined)).toBe(true);
  });

  it('writes nothing for rows whose sources did not change', () => {
    const current = applied(empty, planMirror(empty, desired(), { prune: false }));
    const plan = planMirror(current, desired(), { prune: true });
    expect(plan.puts).toEqual([]);
    expect(plan.deletes).toEqual([]);
    expect(plan.counts).toEqual({ created: 0, updated: 0, unchanged: 2, deleted: 0 });
  });

  it('rewrites a changed record, conditional on the version it expects to replace', () => {
    const current = applied(empty, planMirror(empty, desired(), { prune: false }));
    current.tokens[0] = { ...(current.tokens[0] as Versioned<TokenRecord>), version: 4 };
    const changed = deriveRecords('c-abc12', sources({ tokens: [token({ enabled: false })] })).records;
    const plan = planMirror(current, changed, { prune: false });
    expect(plan.puts).toHaveLength(1);
    expect(plan.puts[0]).toMatchObject({ change: 'update', expectedVersion: 4, record: { kind: 'token', name: 'kubeconfig-u-alice', enabled: false } });
  });

  it("keeps an operator's revocation when the token's sources change", () => {
    const current = applied(empty, planMirror(empty, desired(), { prune: false }));
    current.tokens[0] = { ...(current.tokens[0] as Versioned<TokenRecord>), revoked: true, revokedAt: '2026-11-26T01:00:00.000Z' };
    const changed = deriveRecords('c-abc12', sources({ tokens: [token({ expiresAt: '2027-01-01T00:00:00Z' })] })).records;
    const [put] = planMirror(current, changed, { prune: false }).puts;
    expect(put?.record).toMatchObject({ revoked: true, revokedAt: '2026-11-26T01:00:00.000Z', expiresAt: '2027-01-01T00:00:00Z' });
  });

  it('revokes a token whose instance has a durable revocation, and not a regenerated token of that name', () => {
    const revocation = { kind: 'revocation' as const, clusterId: 'c-abc12', name: 'kubeconfig-u-alice', hashFingerprint: hashFingerprint(HASH_ON_TOKEN), revokedAt: '2026-11-26T01:00:00.000Z' };
    const created = planMirror({ ...empty, revocations: [revocation] }, desired(), { prune: false });
    expect(created.puts.find((put) => put.record.kind === 'token')?.record).toMatchObject({ revoked: true, revokedAt: '2026-11-26T01:00:00.000Z' });
    const regenerated = deriveRecords('c-abc12', sources({ tokens: [token({ hash: HASH_IN_SECRET })] })).records;
    const current = applied(empty, created);
    const plan = planMirror({ ...current, revocations: [revocation] }, regenerated, { prune: false });
    expect(plan.puts.find((put) => put.record.kind === 'token')?.record).not.toHaveProperty('revoked');
  });

  it('writes an unchanged token again when its revocation state differs from what the store holds', () => {
    const current = applied(empty, planMirror(empty, desired(), { prune: false }));
    const revocation = { kind: 'revocation' as const, clusterId: 'c-abc12', name: 'kubeconfig-u-alice', hashFingerprint: hashFingerprint(HASH_ON_TOKEN), revokedAt: '2026-11-26T01:00:00.000Z' };
    const plan = planMirror({ ...current, revocations: [revocation] }, desired(), { prune: true });
    expect(plan.puts.map((put) => put.record)).toEqual([expect.objectContaining({ kind: 'token', revoked: true })]);
  });

  it('never overwrites a native token of the same name', () => {
    const native: Versioned<TokenRecord> = { ...(desired().tokens[0] as TokenRecord), origin: 'native', sourceDigest: undefined, userName: 'ops', version: 0 };
    const plan = planMirror({ ...empty, tokens: [native] }, desired(), { prune: false });
    expect(plan.puts.map((put) => idOf(refOf(put.record)))).toEqual(['user#u-alice']);
    expect(plan.shadowedByNative).toEqual(['kubeconfig-u-alice']);
  });

  it('with prune, deletes Rancher records and their usage records that the sources no longer have, never native tokens', () => {
    const withBob = deriveRecords('c-abc12', sources({ tokens: [token(), token({ name: 'kubeconfig-u-bob', userName: 'u-bob' })], users: [user(), user({ name: 'u-bob' })] })).records;
    const current = applied(empty, planMirror(empty, withBob, { prune: false }));
    const native: Versioned<TokenRecord> = { ...(withBob.tokens[0] as TokenRecord), name: 'tg-abcde', origin: 'native', version: 0 };
    current.tokens.push(native);
    current.usage.push(
      { kind: 'usage', clusterId: 'c-abc12', name: 'kubeconfig-u-bob', lastUsedAt: '2026-11-26T00:00:00Z' },
      { kind: 'usage', clusterId: 'c-abc12', name: 'kubeconfig-u-alice', lastUsedAt: '2026-11-26T00:00:00Z' },
      { kind: 'usage', clusterId: 'c-abc12', name: 'tg-abcde', lastUsedAt: '2026-11-26T00:00:00Z' },
    );
    const plan = planMirror(current, desired(), { prune: true });
    expect(plan.deletes.map((entry) => idOf(entry.ref)).sort()).toEqual(['token#kubeconfig-u-bob', 'usage#kubeconfig-u-bob', 'user#u-bob']);
    expect(plan.counts.deleted).toBe(2);
  });

  it('without prune, deletes nothing', () => {
    const current = applied(empty, planMirror(empty, desired(), { prune: false }));
    const plan = planMirror(current, { tokens: [], users: [], secrets: [] }, { prune: false });
    expect(plan.deletes).toEqual([]);
  });
});

describe('sourcesFromState and mergeSources', () => {
  it('recover the sources of mirrored records, so re-deriving them changes nothing', () => {
    const text = fc.string({ minLength: 1, maxLength: 8 });
    const arbitrarySources = fc.record({
      tokens: fc.array(
        fc.record({
          name: text,
          userName: fc.constantFrom('u-a', 'u-b', 'u-c'),
          enabled: fc.boolean(),
          expiresAt: fc.constantFrom('', '2027-01-01T00:00:00Z', 'garbled'),
          hash: fc.constantFrom('', HASH_ON_TOKEN, HASH_IN_SECRET),
        }),
        { maxLength: 6 },
      ),
      users: fc.array(
        fc.record({
          name: fc.constantFrom('u-a', 'u-b'),
          groups: fc.array(text, { maxLength: 3 }),
          enabled: fc.boolean(),
          extraByProvider: fc.dictionary(text, fc.dictionary(text, fc.array(text, { maxLength: 2 }), { maxKeys: 2 }), { maxKeys: 2 }),
          lastRefresh: fc.constantFrom('', '2026-11-25T23:00:00Z'),
          needsRefresh: fc.boolean(),
        }),
        { maxLength: 3 },
      ),
      secrets: fc.array(fc.record({ name: text, hash: fc.constantFrom(HASH_ON_TOKEN, HASH_IN_SECRET) }), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(arbitrarySources, (original) => {
        const table = applied(empty, planMirror(empty, deriveRecords('c-1', original).records, { prune: false }));
        const again = deriveRecords('c-1', sourcesFromState(table)).records;
        const plan = planMirror(table, again, { prune: true });
        expect(plan.puts).toEqual([]);
        expect(plan.deletes).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('merge an import into what the table has: a new user attribute reaches the tokens already there', () => {
    const table = applied(empty, planMirror(empty, deriveRecords('c-1', sources({ users: [] })).records, { prune: false }));
    expect(table.tokens[0]).not.toHaveProperty('user');
    const merged = mergeSources(sourcesFromState(table), { tokens: [], users: [user()], secrets: [] });
    const plan = planMirror(table, deriveRecords('c-1', merged).records, { prune: false });
    expect(plan.counts).toEqual({ created: 1, updated: 1, unchanged: 0, deleted: 0 });
    expect((plan.puts.find((put) => put.record.kind === 'token')?.record as TokenRecord | undefined)?.user).toMatchObject({ enabled: true });
  });

  it("merge a changed hash Secret into a token that had its hash from the Secret", () => {
    const first = sources({ tokens: [token({ hash: '' })], secrets: [secret()] });
    const table = applied(empty, planMirror(empty, deriveRecords('c-1', first).records, { prune: false }));
    const merged = mergeSources(sourcesFromState(table), { tokens: [], users: [], secrets: [secret({ hash: HASH_ON_TOKEN })] });
    const plan = planMirror(table, deriveRecords('c-1', merged).records, { prune: false });
    expect((plan.puts.find((put) => put.record.kind === 'token')?.record as TokenRecord | undefined)?.hash).toBe(HASH_ON_TOKEN);
  });

  it('let later objects replace earlier ones of the same name', () => {
    const merged = mergeSources(sources(), { tokens: [token({ enabled: false })], users: [], secrets: [secret()] });
    expect(merged.tokens).toEqual([token({ enabled: false })]);
    expect(merged.users).toEqual([user()]);
    expect(merged.secrets).toEqual([secret()]);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } })).toBe('{"a":{"d":[2,{"e":0,"f":1}]},"b":1}');
  });
});
