import { createHash } from 'node:crypto';
import type { RevocationRecord, TokenRecord } from './records.ts';

/**
 * A fingerprint of a token's hash, binding a revocation to one token instance: Rancher reuses names such
 * as `kubeconfig-user-x.c-y` for a regenerated token, whose new secret has a new hash and must not stay
 * revoked. A digest, not the hash itself, so a revocation record carries nothing to verify secrets with.
 */
export function hashFingerprint(hash: string | undefined): string {
  return createHash('sha256').update('tokengate-revocation-v1:').update(hash ?? '').digest('base64url');
}

/** The revocation of a token's current instance, if its cluster holds one. */
export function revocationOf(token: Pick<TokenRecord, 'name' | 'hash'>, revocations: readonly RevocationRecord[]): RevocationRecord | undefined {
  const fingerprint = hashFingerprint(token.hash);
  return revocations.find((revocation) => revocation.name === token.name && revocation.hashFingerprint === fingerprint);
}
