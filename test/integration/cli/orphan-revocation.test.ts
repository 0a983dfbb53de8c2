import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli, startLocalStack, type LocalStack } from '../../support/local-stack.ts';

const fixture = (path: string) => fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url));
const TOKENS = fixture('rancher/clusterauthtokens.yaml');
const USERS = fixture('rancher/clusteruserattributes.yaml');
const SECRETS = fixture('rancher/secrets.yaml');
/** Rancher's public vector: "d"×54 is the fixture's secret of kubeconfig-u-abc12xyz. */
const TOKEN = `kubeconfig-u-abc12xyz:${'d'.repeat(54)}`;
const NAME = 'kubeconfig-u-abc12xyz';
const REVOKED_AT = new Date('2026-12-01T10:00:00.000Z');

describe('tokens list and tokens unrevoke on a revocation whose token row is gone', () => {
  let stack: LocalStack;
  let credential: string;
  let env: Record<string, string>;
  const cli = (...argv: string[]) => runCli(argv, { env });
  const review = async (token: string) => ((await (await stack.review('c-orph', credential, token)).json()) as { status: { authenticated: boolean; error?: string } }).status;
  const listJson = async () => JSON.parse((await cli('tokens', 'list', 'c-orph', '-o', 'json')).stdout) as Array<Record<string, unknown>>;

  beforeAll(async () => {
    stack = await startLocalStack({ cacheTtlSeconds: 0 });
    env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, TABLE_NAME: stack.tableName };
    credential = (await cli('clusters', 'add', 'c-orph')).stdout.trim();
    expect((await cli('import', 'c-orph', TOKENS, USERS, SECRETS)).code).toBe(0);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('refuses to revoke a name with no token row, saying a revocation binds the token’s hash', async () => {
    const refused = await cli('tokens', 'revoke', 'c-orph', 'kubeconfig-u-nobody');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('no token named kubeconfig-u-nobody in cluster c-orph to revoke');
    expect(refused.stderr).toContain("a revocation binds the token's hash");
    expect((await listJson()).map((view) => view.name)).not.toContain('kubeconfig-u-nobody');
  });

  it('lists a revocation whose token was pruned as revoked (token absent), in every -o format', async () => {
    expect((await runCli(['tokens', 'revoke', 'c-orph', NAME], { env, now: REVOKED_AT })).code).toBe(0);
    expect((await cli('import', 'c-orph', USERS, '--prune')).stdout).toContain('deleted');

    const table = (await cli('tokens', 'list', 'c-orph')).stdout;
    expect(table).toMatch(new RegExp(`^${NAME}\\s+rancher\\s+u-abc12xyz\\s+revoked \\(token absent\\)\\s+-\\s+-$`, 'm'));
    expect((await cli('tokens', 'list', 'c-orph', '-o', 'wide')).stdout).toContain('2026-12-01T10:00:00.000Z');
    expect((await cli('tokens', 'list', 'c-orph', '-o', 'name')).stdout).toBe(`token/${NAME}\n`);

    const [orphan] = await listJson();
    expect(orphan).toEqual({
      name: NAME,
      origin: 'rancher',
      userName: 'u-abc12xyz',
      state: 'revoked',
      enabled: false,
      revoked: true,
      tokenAbsent: true,
      revokedAt: '2026-12-01T10:00:00.000Z',
      groups: [],
    });
    expect(parse((await cli('tokens', 'list', 'c-orph', '-o', 'yaml')).stdout)).toEqual([orphan]);

    const again = await cli('tokens', 'revoke', 'c-orph', NAME);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already revoked (since 2026-12-01T10:00:00.000Z); its token row is absent');
  });

  it('brings the token back still revoked on import, listed through its token row again', async () => {
    expect((await cli('import', 'c-orph', TOKENS, USERS, SECRETS)).code).toBe(0);
    expect((await review(TOKEN)).error).toBe('token revoked');
    const listed = (await listJson()).filter((view) => view.name === NAME);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ state: 'revoked', revoked: true, tokenAbsent: false, enabled: true });
  });

  it('lifts a revocation whose token row is gone, says so, and the returning token works', async () => {
    expect((await cli('import', 'c-orph', USERS, '--prune')).code).toBe(0);
    const lifted = await cli('tokens', 'unrevoke', 'c-orph', NAME);
    expect(lifted.code).toBe(0);
    expect(lifted.stderr).toContain(`lifted the revocation of ${NAME} in cluster c-orph; its token row is absent`);
    expect(await listJson()).toEqual([]);

    expect((await cli('import', 'c-orph', TOKENS, USERS, SECRETS)).code).toBe(0);
    expect((await review(TOKEN)).authenticated).toBe(true);
    const none = await cli('tokens', 'unrevoke', 'c-orph', NAME);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('is not revoked');
  });
});
