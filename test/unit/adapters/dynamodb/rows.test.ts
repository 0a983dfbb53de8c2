import { describe, expect, it } from 'vitest';
import { clusterFromItem, clusterItemOf, itemOf, parseSortKey, tokenFromItem, userFromItem } from '../../../../functions/adapters/dynamodb/rows.ts';
import { deriveRecords } from '../../../../functions/core/mirror/derive.ts';
import { newCluster } from '../../../../functions/core/records.ts';
import { tokenRecord } from '../../../support/fakes.ts';

const alice = { name: 'kubeconfig-u-alice', userName: 'u-alice', enabled: true, expiresAt: '', hash: '$3:1:a:b' };
const aliceUser = { name: 'u-alice', groups: ['g'], enabled: true, extraByProvider: {}, lastRefresh: '', needsRefresh: false };

describe('table rows', () => {
  it("keys a cluster's records in its own partition, by kind and name", () => {
    const { records } = deriveRecords('c-abc12', { tokens: [alice], users: [aliceUser], secrets: [{ name: 'kubeconfig-u-alice', hash: '$3:1:c:d' }] });
    expect(itemOf(records.tokens[0]!, 0)).toMatchObject({ pk: 'C#c-abc12', sk: 'TOKEN#kubeconfig-u-alice', kind: 'token', rev: 0 });
    expect(itemOf(records.users[0]!, 0)).toMatchObject({ pk: 'C#c-abc12', sk: 'USER#u-alice', kind: 'user', userId: 'u-alice' });
    expect(itemOf(records.secrets[0]!, 2)).toMatchObject({ pk: 'C#c-abc12', sk: 'SECRET#kubeconfig-u-alice', rev: 2 });
  });

  it('sets ttl a day after a parseable expiry, and none for a token that never expires or whose expiry is unreadable', () => {
    const { records } = deriveRecords('c-abc12', {
      tokens: [
        { ...alice, name: 'expiring', expiresAt: '2027-01-01T00:00:00Z' },
        { ...alice, name: 'forever', expiresAt: '' },
        { ...alice, name: 'garbled', expiresAt: 'next tuesday' },
      ],
      users: [],
      secrets: [],
    });
    const byName = new Map(records.tokens.map((record) => [record.name, itemOf(record, 0)]));
    expect(byName.get('expiring')?.ttl).toBe(Date.parse('2027-01-01T00:00:00Z') / 1000 + 86_400);
    expect(byName.get('forever')).not.toHaveProperty('ttl');
    expect(byName.get('garbled')).not.toHaveProperty('ttl');
  });

  it('reads back exactly the record it wrote, with the revision as its version', () => {
    const record = tokenRecord({ expiresAt: '2027-01-01T00:00:00Z', revoked: true, revokedAt: '2026-11-26T00:00:00Z' });
    expect(tokenFromItem(itemOf(record, 7))).toEqual({ ...record, version: 7 });
    const { records } = deriveRecords('c-abc12', { tokens: [], users: [aliceUser], secrets: [] });
    expect(userFromItem(itemOf(records.users[0]!, 1))).toEqual({ ...records.users[0], version: 1 });
    const cluster = newCluster('c-abc12', { id: 'abcdefghij', hash: '$argon2id$…', createdAt: '2026-11-26T00:00:00Z' }, new Date('2026-11-26T00:00:00Z'));
    expect(clusterItemOf(cluster, 0)).toMatchObject({ pk: 'CLUSTERS', sk: 'c-abc12', rev: 0 });
    expect(clusterFromItem(clusterItemOf(cluster, 0))).toEqual({ ...cluster, version: 0 });
  });

  it('counts a row written before revisions existed as version 0', () => {
    const { rev: _rev, ...legacy } = itemOf(tokenRecord(), 0);
    expect(tokenFromItem(legacy).version).toBe(0);
  });

  it('tells the kind of a sort key, and nothing for a row of no kind it knows', () => {
    expect(parseSortKey('USED#kubeconfig-u-alice')).toEqual({ kind: 'usage', name: 'kubeconfig-u-alice' });
    expect(parseSortKey('TOKEN#a#b')).toEqual({ kind: 'token', name: 'a#b' });
    expect(parseSortKey('LEASE#x')).toBeUndefined();
  });
});
