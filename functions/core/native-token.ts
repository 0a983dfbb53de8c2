import { argon2 } from './argon2.ts';
import type { TokenRecord } from './records.ts';
import { parseToken } from './token-string.ts';

/** Rancher's token alphabet (docs/reference.md, "Token string"): our secrets look like Rancher's, and travel the same path. */
export const TOKEN_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
export const SECRET_LENGTH = 54;

export type RandomBytes = (size: number) => Buffer;

/**
 * `length` characters drawn uniformly from `alphabet`. Bytes that would bias the draw (the top of the
 * 0–255 range beyond a multiple of the alphabet's size) are discarded and drawn again.
 */
export function randomString(randomBytes: RandomBytes, alphabet: string, length: number): string {
  const limit = 256 - (256 % alphabet.length);
  let text = '';
  while (text.length < length) {
    for (const byte of randomBytes(length - text.length + 8)) {
      if (byte < limit && text.length < length) text += alphabet[byte % alphabet.length];
    }
  }
  return text;
}

/** Default name of a native token: `tg-` and five characters of the token alphabet. */
export function defaultTokenName(randomBytes: RandomBytes): string {
  return `tg-${randomString(randomBytes, TOKEN_ALPHABET, 5)}`;
}

/** Whether `name` can be presented as `name:secret` (a Kubernetes object name, as Rancher's tokens). */
export function isValidTokenName(name: string): boolean {
  const parsed = parseToken(`${name}:${'b'.repeat(SECRET_LENGTH)}`);
  return 'rancher' in parsed && parsed.rancher.name === name;
}

export interface NativeTokenRequest {
  clusterId: string;
  name: string;
  userName: string;
  groups: string[];
  /** Absent: never expires. */
  expiresAt?: Date;
  now: Date;
}

/**
 * A token tokengate issues itself: a record of origin `native` with its user inline (sync never touches
 * it) and the secret's argon2id hash (`@node-rs/argon2` defaults: OWASP's m=19456 KiB, t=2, p=1).
 * Returns the record to store and the `name:secret` text to hand out once.
 */
export async function createNativeToken(
  request: NativeTokenRequest,
  randomBytes: RandomBytes,
): Promise<{ record: TokenRecord; token: string }> {
  const secret = randomString(randomBytes, TOKEN_ALPHABET, SECRET_LENGTH);
  const expiresAt = request.expiresAt?.toISOString();
  const record: TokenRecord = {
    kind: 'token',
    clusterId: request.clusterId,
    name: request.name,
    origin: 'native',
    userName: request.userName,
    enabled: true,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    hash: await (await argon2()).hash(secret),
    user: { enabled: true, groups: [...new Set(request.groups)], extraByProvider: {} },
    createdAt: request.now.toISOString(),
  };
  return { record, token: `${request.name}:${secret}` };
}
