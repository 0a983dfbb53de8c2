import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClusterRows } from '../../../functions/adapters/dynamodb/store.ts';
import {
  canonicalJson,
  deriveRows,
  mergeSources,
  planMirror,
  sourcesFromRows,
  type MirrorSources,
  type SecretSource,
  type TokenSource,
  type UserSource,
} from '../../../functions/core/mirror.ts';
import { secretRowSchema, tokenRowSchema, userRowSchema, type TokenRow } from '../../../functions/adapters/dynamodb/table.ts';

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
const empty: ClusterRows = { tokens: [], users: [], secrets: [], used: [] };

/** The rows a plan leaves in the table, as `readClusterRows` would return them. */
function applied(current: ClusterRows, plan: ReturnType<typeof planMirror>): ClusterRows {
  const bySk = new Map<string, Record<string, unknown>>();
  for (const row of [...current.tokens, ...current.users, ...current.secrets, ...current.used]) bySk.set(row.sk, row);
  for (const { row } of plan.puts) bySk.set(row.sk, row);
  for (const { key } of plan.deletes) bySk.delete(key.sk);
  const rows = [...bySk.values()];
  return {
    tokens: rows.filter((row) => row.kind === 'token').map((row) => tokenRowSchema.parse(row)),
    users: rows.filter((row) => row.kind === 'user').map((row) => userRowSchema.parse(row)),
    secrets: rows.filter((row) => row.kind === 'secret').map((row) => secretRowSchema.parse(row)),
    used: current.used.filter((row) => bySk.has(row.sk)),
  };
}

describe('deriveRows', () => {
  it("copies the user's attribute into the token row so a review needs one read", () => {
    const [row] = deriveRows('c-abc12', sources()).rows.tokens;
    expect(row).toMatchObject({
      pk: 'C#c-abc12',
      sk: 'TOKEN#kubeconfig-u-alice',
      kind: 'token',
      origin: 'rancher',
      clusterId: 'c-abc12',
      userName: 'u-alice',
      enabled: true,
      hash: HASH_ON_TOKEN,
      user: { enabled: true, groups: ['openldap_group://cn=admins,dc=example,dc=org'], extraByProvider: { openldap: { username: ['alice'] } } },
    });
    expect(() => tokenRowSchema.parse(row)).not.toThrow();
  });

  it("lets the token's own non-empty hash win over its Secret's", () => {
    const derived = deriveRows('c-abc12', sources({ secrets: [secret()] }));
    expect(derived.rows.tokens[0]?.hash).toBe(HASH_ON_TOKEN);
  });

  it('takes the hash from the Secret of the same name when the token has none (Rancher 2.13)', () => {
    const derived = deriveRows('c-abc12', sources({ tokens: [token({ hash: '' })], secrets: [secret()] }));
    expect(derived.rows.tokens[0]?.hash).toBe(HASH_IN_SECRET);
    expect(derived.tokensWithoutHash).toEqual([]);
  });

  it('leaves the hash out, and says so, when neither the token nor a Secret has one', () => {
    const derived = deriveRows('c-abc12', sources({ tokens: [token({ hash: '' })], secrets: [secret({ name: 'other' })] }));
    expect(derived.rows.tokens[0]).not.toHaveProperty('hash');
    expect(derived.tokensWithoutHash).toEqual(['kubeconfig-u-alice']);
  });

  it('leaves the user out, and says so, when the ClusterUserAttribute is missing', () => {
    const derived = deriveRows('c-abc12', sources({ users: [] }));
    expect(derived.rows.tokens[0]).not.toHaveProperty('user');
    expect(derived.tokensWithoutUser).toEqual(['kubeconfig-u-alice']);
  });

  it('sets ttl a day after a parseable expiry, and none for a token that never expires or whose expiry is unreadable', () => {
    const derived = deriveRows(
      'c-abc12',
      sources({
        tokens: [
          token({ name: 'expiring', expiresAt: '2027-01-01T00:00:00Z' }),
          token({ name: 'forever', expiresAt: '' }),
          token({ name: 'garbled', expiresAt: 'next tuesday' }),
        ],
      }),
    );
    const byName = new Map(derived.rows.tokens.map((row) => [row.name, row]));
    expect(byName.get('expiring')?.ttl).toBe(Date.parse('2027-01-01T00:00:00Z') / 1000 + 86_400);
    expect(byName.get('forever')).not.toHaveProperty('ttl');
    expect(byName.get('forever')).not.toHaveProperty('expiresAt');
    expect(byName.get('garbled')).not.toHaveProperty('ttl');
    expect(byName.get('garbled')?.expiresAt).toBe('next tuesday');
  });

  it('mirrors only the hash Secrets a token is named after', () => {
    const derived = deriveRows('c-abc12', sources({ secrets: [secret(), secret({ name: 'some-app-secret' })] }));
    expect(derived.rows.secrets.map((row) => row.sk)).toEqual(['SECRET#kubeconfig-u-alice']);
    expect(derived.unreferencedSecrets).toEqual(['some-app-secret']);
    expect(() => secretRowSchema.parse(derived.rows.secrets[0])).not.toThrow();
  });

  it('writes user rows with the refresh state for the sync', () => {
    const [row] = deriveRows('c-abc12', sources()).rows.users;
    expect(row).toMatchObject({ pk: 'C#c-abc12', sk: 'USER#u-alice', userId: 'u-alice', lastRefresh: '2026-11-25T23:00:00Z', needsRefresh: false });
    expect(() => userRowSchema.parse(row)).not.toThrow();
  });

  it('gives equal sources equal digests, whatever the key order of their maps', () => {
    const a = deriveRows('c-abc12', sources({ users: [user({ extraByProvider: { a: { x: ['1'] }, b: { y: ['2'] } } })] }));
    const b = deriveRows('c-abc12', sources({ users: [user({ extraByProvider: { b: { y: ['2'] }, a: { x: ['1'] } } })] }));
    expect(a.rows.tokens[0]?.sourceDigest).toBe(b.rows.tokens[0]?.sourceDigest);
    expect(a.rows.users[0]?.sourceDigest).toBe(b.rows.users[0]?.sourceDigest);
  });

  it("does not change a token's digest when only its user's refresh bookkeeping changes", () => {
    const before = deriveRows('c-abc12', sources());
    const after = deriveRows('c-abc12', sources({ users: [user({ lastRefresh: '2026-11-26T05:00:00Z', needsRefresh: true })] }));
    expect(after.rows.tokens[0]?.sourceDigest).toBe(before.rows.tokens[0]?.sourceDigest);
    expect(after.rows.users[0]?.sourceDigest).not.toBe(before.rows.users[0]?.sourceDigest);
  });

  it("changes a token's digest when anything a review reads changes", () => {
    const base = deriveRows('c-abc12', sources()).rows.tokens[0]?.sourceDigest;
    const variants: MirrorSources[] = [
      sources({ tokens: [token({ enabled: false })] }),
      sources({ tokens: [token({ expiresAt: '2027-01-01T00:00:00Z' })] }),
      sources({ tokens: [token({ hash: '' })], secrets: [secret()] }),
      sources({ tokens: [token({ userName: 'u-bob' })], users: [user({ name: 'u-bob' })] }),
      sources({ users: [user({ groups: ['openldap_group://cn=other'] })] }),
      sources({ users: [user({ enabled: false })] }),
      sources({ users: [] }),
    ];
    for (const variant of variants) expect(deriveRows('c-abc12', variant).rows.tokens[0]?.sourceDigest).not.toBe(base);
  });

  it('keeps the last of several objects with the same name', () => {
    const derived = deriveRows('c-abc12', sources({ tokens: [token({ enabled: true }), token({ enabled: false })] }));
    expect(derived.rows.tokens).toHaveLength(1);
    expect(derived.rows.tokens[0]?.enabled).toBe(false);
  });
});

describe('planMirror', () => {
  const desired = () => deriveRows('c-abc12', sources({ tokens: [token()], secrets: [] })).rows;

  it('creates rows that do not exist yet, at rev 0', () => {
    const plan = planMirror(empty, desired(), { prune: false });
    expect(plan.counts).toEqual({ created: 2, updated: 0, unchanged: 0, deleted: 0 });
    expect(plan.puts.every((put) => put.change === 'create' && put.row.rev === 0 && put.expectedRev === undefined)).toBe(true);
  });

  it('writes nothing for rows whose sources did not change', () => {
    const current = applied(empty, planMirror(empty, desired(), { prune: false }));
    const plan = planMirror(current, desired(), { prune: true });
    expect(plan.puts).toEqual([]);
    expect(plan.deletes).toEqual([]);
    expect(plan.counts).toEqual({ created: 0, updated: 0, unchanged: 2, deleted: 0 });
  });

  it('rewrites a changed row with rev + 1 and the rev it expects to replace', () => {
    const current = applied(empty, planMirror(empty, desired(), { prune: false }));
    current.tokens[0] = { ...(current.tokens[0] as TokenRow), rev: 4 };
    const changed = deriveRows('c-abc12', sources({ tokens: [token({ enabled: false })] })).rows;
    const plan = planMirror(current, changed, { prune: false });
    expect(plan.puts).toHaveLength(1);
    expect(plan.puts[0]).toMatchObject({ change: 'update', expectedRev: 4, row: { sk: 'TOKEN#kubeconfig-u-alice', enabled: false, rev: 5 } });
  });

  it("keeps an operator's revocation when the token's sources change", () => {
    const current = applied(empty, planMirror(empty, desired(), { prune: false }));
    current.tokens[0] = { ...(current.tokens[0] as TokenRow), revoked: true, revokedAt: '2026-11-26T01:00:00.000Z' };
    const changed = deriveRows('c-abc12', sources({ tokens: [token({ expiresAt: '2027-01-01T00:00:00Z' })] })).rows;
    const [put] = planMirror(current, changed, { prune: false }).puts;
    expect(put?.row).toMatchObject({ revoked: true, revokedAt: '2026-11-26T01:00:00.000Z', expiresAt: '2027-01-01T00:00:00Z' });
  });

  it('never overwrites a native token of the same name', () => {
    const native = tokenRowSchema.parse({ ...desired().tokens[0], origin: 'native', sourceDigest: undefined, userName: 'ops' });
    const plan = planMirror({ ...empty, tokens: [native] }, desired(), { prune: false });
    expect(plan.puts.map((put) => put.row.sk)).toEqual(['USER#u-alice']);
    expect(plan.shadowedByNative).toEqual(['kubeconfig-u-alice']);
  });

  it('with prune, deletes Rancher rows and their usage rows that the sources no longer have, never native tokens', () => {
    const withBob = deriveRows('c-abc12', sources({ tokens: [token(), token({ name: 'kubeconfig-u-bob', userName: 'u-bob' })], users: [user(), user({ name: 'u-bob' })] })).rows;
    const current = applied(empty, planMirror(empty, withBob, { prune: false }));
    const native = tokenRowSchema.parse({ ...withBob.tokens[0], sk: 'TOKEN#tg-abcde', name: 'tg-abcde', origin: 'native' });
    current.tokens.push(native);
    current.used.push(
      { pk: 'C#c-abc12', sk: 'USED#kubeconfig-u-bob', kind: 'used', lastUsedAt: '2026-11-26T00:00:00Z' },
      { pk: 'C#c-abc12', sk: 'USED#kubeconfig-u-alice', kind: 'used', lastUsedAt: '2026-11-26T00:00:00Z' },
      { pk: 'C#c-abc12', sk: 'USED#tg-abcde', kind: 'used', lastUsedAt: '2026-11-26T00:00:00Z' },
    );
    const plan = planMirror(current, desired(), { prune: true });
    expect(plan.deletes.map((entry) => entry.key.sk).sort()).toEqual(['TOKEN#kubeconfig-u-bob', 'USED#kubeconfig-u-bob', 'USER#u-bob']);
    expect(plan.counts.deleted).toBe(2);
  });

  it('without prune, deletes nothing', () => {
    const current = applied(empty, planMirror(empty, desired(), { prune: false }));
    const plan = planMirror(current, { tokens: [], users: [], secrets: [] }, { prune: false });
    expect(plan.deletes).toEqual([]);
  });
});

describe('sourcesFromRows and mergeSources', () => {
  it('recover the sources of mirrored rows, so re-deriving them changes nothing', () => {
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
        const table = applied(empty, planMirror(empty, deriveRows('c-1', original).rows, { prune: false }));
        const again = deriveRows('c-1', sourcesFromRows(table)).rows;
        const plan = planMirror(table, again, { prune: true });
        expect(plan.puts).toEqual([]);
        expect(plan.deletes).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('merge an import into what the table has: a new user attribute reaches the tokens already there', () => {
    const table = applied(empty, planMirror(empty, deriveRows('c-1', sources({ users: [] })).rows, { prune: false }));
    expect(table.tokens[0]).not.toHaveProperty('user');
    const merged = mergeSources(sourcesFromRows(table), { tokens: [], users: [user()], secrets: [] });
    const plan = planMirror(table, deriveRows('c-1', merged).rows, { prune: false });
    expect(plan.counts).toEqual({ created: 1, updated: 1, unchanged: 0, deleted: 0 });
    expect(plan.puts.find((put) => put.row.kind === 'token')?.row.user).toMatchObject({ enabled: true });
  });

  it("merge a changed hash Secret into a token that had its hash from the Secret", () => {
    const first = sources({ tokens: [token({ hash: '' })], secrets: [secret()] });
    const table = applied(empty, planMirror(empty, deriveRows('c-1', first).rows, { prune: false }));
    const merged = mergeSources(sourcesFromRows(table), { tokens: [], users: [], secrets: [secret({ hash: HASH_ON_TOKEN })] });
    const plan = planMirror(table, deriveRows('c-1', merged).rows, { prune: false });
    expect(plan.puts.find((put) => put.row.kind === 'token')?.row.hash).toBe(HASH_ON_TOKEN);
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
