import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startLocalStack, type LocalStack } from '../../support/local-stack.ts';

const RANCHER_FILES = ['clusterauthtokens.yaml', 'clusteruserattributes.yaml', 'secrets.yaml'].map((file) =>
  fileURLToPath(new URL(`../../fixtures/rancher/${file}`, import.meta.url)),
);
const ON_TOKEN = `kubeconfig-u-abc12xyz:${'d'.repeat(54)}`;

describe('the CLI against a local table: what a new user hit', () => {
  let stack: LocalStack;
  let env: Record<string, string>;
  const cli = (...argv: string[]) => runCli(argv, { env });

  beforeAll(async () => {
    stack = await startLocalStack();
    env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, TABLE_NAME: stack.tableName };
    expect((await cli('clusters', 'add', 'c-conv')).code).toBe(0);
    expect((await cli('import', 'c-conv', ...RANCHER_FILES)).code).toBe(0);
  });
  afterAll(() => stack?.close());

  it('refuses to import into an unregistered cluster, writing nothing that clusters list would not show', async () => {
    const result = await cli('import', 'c-unregistered', ...RANCHER_FILES);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toContain('tokengate import: cluster c-unregistered is not registered (tokengate clusters add c-unregistered); nothing imported\n');
    expect((await stack.store.readClusterState('c-unregistered')).tokens).toEqual([]);
    expect((await cli('tokens', 'create', 'c-unregistered', '--user', 'alice')).code).toBe(1);
  });

  it('says a token is already revoked, exit 0, and keeps the first revocation time', async () => {
    const first = await runCli(['tokens', 'revoke', 'c-conv', 'token-5hq2k'], { env, now: new Date('2026-11-26T10:00:00Z') });
    expect(first).toMatchObject({ code: 0, stderr: 'revoked token-5hq2k in cluster c-conv\n' });
    const second = await runCli(['tokens', 'revoke', 'c-conv', 'token-5hq2k'], { env, now: new Date('2026-11-26T11:00:00Z') });
    expect(second).toMatchObject({ code: 0, stderr: 'token-5hq2k in cluster c-conv is already revoked (since 2026-11-26T10:00:00.000Z)\n' });
    const missing = await cli('tokens', 'revoke', 'c-conv', 'token-nope1');
    expect(missing).toMatchObject({ code: 1, stderr:
        "tokengate tokens revoke: no token named token-nope1 in cluster c-conv to revoke: a revocation binds the token's hash, " +
        'so the token must be synced or imported first (tokengate tokens list c-conv)\n',
    });
  });

  it('says which file is missing instead of an unexpected ENOENT', async () => {
    const result = await cli('clusters', 'set-kubeconfig', 'c-conv', '--kubeconfig', '/nonexistent/reader.kubeconfig');
    expect(result).toMatchObject({ code: 1, stderr: 'tokengate clusters set-kubeconfig: cannot read /nonexistent/reader.kubeconfig: no such file\n' });
    const added = await cli('clusters', 'add', 'c-conv2', '--kubeconfig', '/nonexistent/reader.kubeconfig');
    expect(added.stderr).toBe('tokengate clusters add: cannot read /nonexistent/reader.kubeconfig: no such file\n');
    const ca = await cli('webhook-config', 'c-conv', '--url', 'https://tg.example.com', '--certificate-authority', '/nonexistent/ca.pem');
    expect(ca.stderr).toBe('tokengate webhook-config: cannot read /nonexistent/ca.pem: no such file\n');
  });

  it("names the DynamoDB endpoint when --endpoint is the API's port", async () => {
    const result = await runCli(['clusters', 'list', '--endpoint', stack.apiUrl]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `tokengate clusters list: ${stack.apiUrl} is the tokengate API, not DynamoDB: this is the tokengate API; ` +
        `use the DynamoDB endpoint ${stack.dynamoEndpoint} (--endpoint / DYNAMODB_ENDPOINT)\n`,
    );
  });

  it('prints the same objects as JSON and YAML, kubectl-style names, and wide columns', async () => {
    const json = JSON.parse((await cli('tokens', 'list', 'c-conv', '-o', 'json')).stdout);
    const yaml = parse((await cli('tokens', 'list', 'c-conv', '-o', 'yaml')).stdout);
    expect(yaml).toEqual(json);
    expect(json.map((token: { name: string }) => token.name)).toContain('kubeconfig-u-abc12xyz');
    const names = (await cli('tokens', 'list', 'c-conv', '-o', 'name')).stdout.split('\n').filter(Boolean);
    expect(names).toEqual(json.map((token: { name: string }) => `token/${token.name}`));
    const table = (await cli('tokens', 'list', 'c-conv')).stdout.split('\n')[0];
    const wide = (await cli('tokens', 'list', 'c-conv', '-o', 'wide')).stdout.split('\n')[0];
    expect(table).toMatch(/^NAME\s+ORIGIN\s+USER\s+STATE\s+EXPIRES\s+LAST-USED$/);
    expect(wide).toMatch(/^NAME\s+ORIGIN\s+USER\s+STATE\s+EXPIRES\s+LAST-USED\s+ENABLED\s+REVOKED-AT\s+GROUPS$/);
    expect(parse((await cli('clusters', 'list', '-o', 'yaml')).stdout)).toEqual(JSON.parse((await cli('clusters', 'list', '-o', 'json')).stdout));
  });

  it('gives review -o json the field names of tokens list, with ISO timestamps', async () => {
    const created = await cli('tokens', 'create', 'c-conv', '--user', 'bob', '--name', 'tg-iso01', '--expires-in', '1h');
    const review = await runCli(['review', 'c-conv', '-', '-o', 'json'], { env, stdin: created.stdout });
    const decision = JSON.parse(review.stdout);
    expect(decision).toMatchObject({ outcome: 'accepted', tokenName: 'tg-iso01', userName: 'bob' });
    expect(decision.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(decision).not.toHaveProperty('expiresAtMs');
    const listed = JSON.parse((await cli('tokens', 'list', 'c-conv', '-o', 'json')).stdout).find((token: { name: string }) => token.name === 'tg-iso01');
    expect(decision.expiresAt).toBe(listed.expiresAt);
    const refused = parse((await runCli(['review', 'c-conv', ON_TOKEN.replace('ddd', 'eee'), '-o', 'yaml'], { env })).stdout);
    expect(refused).toMatchObject({ outcome: 'refused', reason: 'secret-mismatch', userName: 'u-abc12xyz' });
  });
});
