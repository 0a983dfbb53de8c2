import { describe, expect, it } from 'vitest';
import { blockOf } from '../../../functions/core/token-state.ts';
import { tokenRecord } from '../../support/fakes.ts';

const NOW = new Date('2026-11-26T12:00:00Z');

describe('blockOf', () => {
  it('lets an enabled, unexpired token of an enabled user with a hash through to the secret check', () => {
    expect(blockOf(tokenRecord(), NOW)).toBeUndefined();
  });

  it('reports the first failing check in kube-api-auth order, revocation right after enabled', () => {
    const everything = tokenRecord({ enabled: false, revoked: true, user: undefined, expiresAt: 'never', hash: '' });
    expect(blockOf(everything, NOW)).toBe('token-disabled');
    expect(blockOf({ ...everything, enabled: true }, NOW)).toBe('token-revoked');
    expect(blockOf({ ...everything, enabled: true, revoked: false }, NOW)).toBe('user-not-found');
    const withUser = { ...everything, enabled: true, revoked: false, user: { enabled: false, groups: [], extraByProvider: {} } };
    expect(blockOf(withUser, NOW)).toBe('user-disabled');
    const enabledUser = { ...withUser, user: { enabled: true, groups: [], extraByProvider: {} } };
    expect(blockOf(enabledUser, NOW)).toBe('expiry-unparseable');
    expect(blockOf({ ...enabledUser, expiresAt: '2026-11-26T11:59:59Z' }, NOW)).toBe('token-expired');
    expect(blockOf({ ...enabledUser, expiresAt: '' }, NOW)).toBe('hash-missing');
  });
});
