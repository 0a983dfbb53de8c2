/**
 * `@node-rs/argon2`, loaded when first needed. Its native module costs a cold process ~30 ms to load, and
 * most reviews never verify an argon2id hash (a warm container remembers verified caller credentials; most
 * tokens are Rancher's SHA3 or scrypt). The first caller check starts the load while its registry read is
 * in flight ({@link preloadArgon2}), so a cold container's first review does not wait for it in series.
 */
type Argon2 = typeof import('@node-rs/argon2');

let loading: Promise<Argon2> | undefined;

/** The module, loading it on the first call. */
export function argon2(): Promise<Argon2> {
  loading ??= import('@node-rs/argon2');
  return loading;
}

/** Starts loading the module without waiting; a failure surfaces at the verify that needs it. */
export function preloadArgon2(): void {
  argon2().catch(() => undefined);
}
