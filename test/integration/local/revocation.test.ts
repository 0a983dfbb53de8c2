import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startLocalStack, type LocalStack } from '../../support/local-stack.ts';

const fixture = (path: string) => fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url));
const TOKENS = fixture('rancher/clusterauthtokens.yaml');
const USERS = fixture('rancher/clusteruserattributes.yaml');
const SECRETS = fixture('rancher/secrets.yaml');
/** Rancher's public vectors: "d"×54 is the fixture's hash on kubeconfig-u-abc12xyz; "c"×54 another $3 hash. */
const ORIGINAL = `kubeconfig-u-abc12xyz:${'d'.repeat(54)}`;
const HASH_D = '$3:1:uFrxm43ggfw:zsN1zEFC7SvABTdR58o7yjIqfrI4cQ/HSYz3jBwwVnx5X+/ph4etGDIU9dvIYuy1IvnYUVe6a/Ar95xE+gfjhA';
const HASH_C = '$3:1:GepdvExsvzA:JXMHpXDZqtU5zNh5y5HB8KmLKbHc2VdeuxQo6CTlLhyNifaYhJTnb+4Rf+xpnbsfd8tIlQ0ZgIi2edJrm9CpoA';
const REGENERATED = `kubeconfig-u-abc12xyz:${'c'.repeat(54)}`;

describe('a revocation is a durable record of its own, bound to the token instance', () => {
  let stack: LocalStack;
  let credential: string;
  let env: Record<string, string>;
  const cli = (...argv: string[]) => runCli(argv, { env });
  const cliWith = (files: Record<string, string>, ...argv: string[]) => runCli(argv, { env, files });
  const review = async (token: string) => ((await (await stack.review('c-rv', credential, token)).json()) as { status: { authenticated: boolean; error?: string } }).status;

  beforeAll(async () => {
    stack = await startLocalStack({ cacheTtlSeconds: 0 });
    env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, TABLE_NAME: stack.tableName };
    credential = (await cli('clusters', 'add', 'c-rv')).stdout.trim();
    expect((await cli('import', 'c-rv', TOKENS, USERS, SECRETS)).code).toBe(0);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('keeps a revoked token refused after its object leaves an import --prune and comes back', async () => {
    expect((await review(ORIGINAL)).authenticated).toBe(true);
    expect((await cli('tokens', 'revoke', 'c-rv', 'kubeconfig-u-abc12xyz')).code).toBe(0);
    expect((await review(ORIGINAL)).error).toBe('token revoked');

    const pruned = await cli('import', 'c-rv', USERS, '--prune');
    expect(pruned.stdout).toContain('deleted');
    // its row is gone, and so is its name from the cluster's name filter: refused silently, unread
    expect(await review(ORIGINAL)).toEqual({ authenticated: false, user: {} });
    expect((await cli('import', 'c-rv', TOKENS, USERS, SECRETS)).code).toBe(0);
    expect((await review(ORIGINAL)).error).toBe('token revoked');
  });

  it('says so when a token is revoked twice, and lists it as revoked', async () => {
    const again = await cli('tokens', 'revoke', 'c-rv', 'kubeconfig-u-abc12xyz');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already revoked');
    const listed = JSON.parse((await cli('tokens', 'list', 'c-rv', '-o', 'json')).stdout) as Array<{ name: string; state: string; revoked: boolean }>;
    expect(listed.find((token) => token.name === 'kubeconfig-u-abc12xyz')).toMatchObject({ state: 'revoked', revoked: true });
  });

  it('does not revoke a regenerated token that reuses the name with a new secret', async () => {
    const regenerated = readFileSync(TOKENS, 'utf8').replace(HASH_D, HASH_C);
    expect((await cliWith({ 'regenerated.yaml': regenerated }, 'import', 'c-rv', 'regenerated.yaml')).stdout).toContain('updated 1');
    expect((await review(REGENERATED)).authenticated).toBe(true);
    expect((await review(ORIGINAL)).error).toBe('invalid token secret');

    // the old instance is still revoked should it come back (a backup restore)
    expect((await cli('import', 'c-rv', TOKENS)).stdout).toContain('updated 1');
    expect((await review(ORIGINAL)).error).toBe('token revoked');
  });

  it('lifts a revocation with tokens unrevoke, and refuses to lift one that does not exist', async () => {
    expect((await cli('tokens', 'unrevoke', 'c-rv', 'kubeconfig-u-abc12xyz')).code).toBe(0);
    expect((await review(ORIGINAL)).authenticated).toBe(true);
    expect((await cli('import', 'c-rv', TOKENS, USERS, SECRETS)).code).toBe(0);
    expect((await review(ORIGINAL)).authenticated).toBe(true);
    const none = await cli('tokens', 'unrevoke', 'c-rv', 'kubeconfig-u-abc12xyz');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('is not revoked');
  });
});
