import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundServiceAccountJwt, legacyServiceAccountJwt, oidcJwt } from '../../support/jwts.ts';
import { runCli, startLocalStack, type LocalStack } from '../../support/local-stack.ts';

const RANCHER_FILES = ['clusterauthtokens.yaml', 'clusteruserattributes.yaml', 'secrets.yaml'].map((file) =>
  fileURLToPath(new URL(`../../fixtures/rancher/${file}`, import.meta.url)),
);
const SECRET = 'd'.repeat(54);

/**
 * `tokengate review` through the CLI on the embedded store, beside the webhook it explains: a foreign token
 * named by its sender as `tokengate floods` names it, and the three ways a Rancher-shaped name finds no row
 * told apart as the webhook tells them apart.
 */
describe('tokengate review: why is this token refused', () => {
  let stack: LocalStack;
  let env: Record<string, string>;
  let credential: string;
  /** Every output of the CLI in this file, to check that no token text reached any of them. */
  const outputs: string[] = [];
  const presented: string[] = [];

  async function review(clusterId: string, token: string, ...options: string[]) {
    presented.push(token);
    const result = await runCli(['review', clusterId, '-', ...options], { env, stdin: `${token}\n` });
    outputs.push(result.stdout, result.stderr);
    return result;
  }

  /** What the webhook answers for the token: authenticated, and its status.error (undefined when silent). */
  async function webhook(clusterId: string, token: string) {
    const response = await stack.review(clusterId, credential, token);
    const body = (await response.json()) as { status: { authenticated: boolean; error?: string } };
    return { authenticated: body.status.authenticated, error: body.status.error };
  }

  beforeAll(async () => {
    stack = await startLocalStack();
    env = { DYNAMODB_ENDPOINT: stack.dynamoEndpoint, TABLE_NAME: stack.tableName };
    credential = await stack.addCluster('c-synced');
    expect((await runCli(['import', 'c-synced', ...RANCHER_FILES], { env })).code).toBe(0);
    await stack.store.createCluster({ ...(await stack.store.readCluster('c-synced'))!, clusterId: 'c-unsynced' });
  });
  afterAll(() => stack?.close());

  describe('a foreign token, named as tokengate floods names its sender', () => {
    const nowS = Math.floor(Date.now() / 1000);
    const bound = boundServiceAccountJwt({
      namespace: 'billing',
      serviceAccount: 'billing-worker',
      pod: 'billing-worker-6f8d9c7b5d-q2lx7',
      podUid: '5e0c2a61-9d4b-4f7e-b3a8-0c6d1e2f3a4b',
      node: 'ip-10-0-3-17.eu-west-1.compute.internal',
      iat: nowS - 7200,
    });
    const legacy = legacyServiceAccountJwt({ namespace: 'ci', serviceAccount: 'jenkins-deployer', secret: 'jenkins-deployer-token-4wz8k' });
    const oidc = oidcJwt({ issuer: 'https://dex.example.org', subject: 'CgVhbGljZRIEbGRhcA', iat: nowS - 7200, exp: nowS + 3600 });

    it('names a bound ServiceAccount token by namespace, ServiceAccount and pod, with the pod uid, node and that it expired', async () => {
      const table = await review('c-synced', bound.token);
      expect(table.code).toBe(1);
      expect(table.stdout).toContain('foreign: not a Rancher token (serviceaccount-jwt); the webhook refuses it silently');
      expect(table.stdout).toContain('sender: billing/billing-worker (pod billing-worker-6f8d9c7b5d-q2lx7)\nkind: bound-serviceaccount\n');
      expect(table.stdout).toContain('pod uid: 5e0c2a61-9d4b-4f7e-b3a8-0c6d1e2f3a4b\nnode: ip-10-0-3-17.eu-west-1.compute.internal\n');
      expect(table.stdout).toMatch(/expires: \S+ \(expired\)\nlikely: token expired: /);
      const json = JSON.parse((await review('c-synced', bound.token, '-o', 'json')).stdout);
      expect(json).toEqual({
        outcome: 'foreign',
        tokenKind: 'serviceaccount-jwt',
        silent: true,
        sender: {
          kind: 'bound-serviceaccount',
          workload: 'billing/billing-worker (pod billing-worker-6f8d9c7b5d-q2lx7)',
          issuer: 'https://kubernetes.default.svc.cluster.local',
          subject: 'system:serviceaccount:billing:billing-worker',
          namespace: 'billing',
          serviceAccount: 'billing-worker',
          pod: 'billing-worker-6f8d9c7b5d-q2lx7',
          podUid: '5e0c2a61-9d4b-4f7e-b3a8-0c6d1e2f3a4b',
          node: 'ip-10-0-3-17.eu-west-1.compute.internal',
          expiresAt: new Date((nowS - 7200 + 3607) * 1000).toISOString(),
          state: 'expired',
          likely: expect.stringContaining('token expired'),
        },
      });
      expect(parse((await review('c-synced', bound.token, '-o', 'yaml')).stdout)).toEqual(json);
      expect(await webhook('c-synced', bound.token)).toEqual({ authenticated: false, error: undefined });
    });

    it('names a legacy ServiceAccount token by its Secret, an OIDC token by subject and issuer, and an opaque string as not a JWT', async () => {
      const legacyTable = await review('c-synced', legacy.token);
      expect(legacyTable.stdout).toContain('sender: ci/jenkins-deployer (secret jenkins-deployer-token-4wz8k)\nkind: legacy-serviceaccount\n');
      expect(legacyTable.stdout).toContain('expires: no exp\n');
      expect(JSON.parse((await review('c-synced', legacy.token, '-o', 'json')).stdout).sender).toMatchObject({
        kind: 'legacy-serviceaccount',
        workload: 'ci/jenkins-deployer (secret jenkins-deployer-token-4wz8k)',
        secret: 'jenkins-deployer-token-4wz8k',
        state: 'no-exp',
      });

      const oidcTable = await review('c-synced', oidc.token);
      expect(oidcTable.stdout).toContain('sender: CgVhbGljZRIEbGRhcA (issuer https://dex.example.org)\nkind: oidc\nissuer: https://dex.example.org\nsubject: CgVhbGljZRIEbGRhcA\n');
      expect(oidcTable.stdout).toMatch(/expires: \S+ \(unexpired\)\nlikely: OIDC token of an issuer this cluster does not trust\n/);
      expect(JSON.parse((await review('c-synced', oidc.token, '-o', 'json')).stdout)).toMatchObject({ tokenKind: 'jwt', sender: { kind: 'oidc', state: 'unexpired' } });

      const opaque = 'Zm9vYmFyYmF6cXV4LW5vdC1hLWp3dA';
      const opaqueTable = await review('c-synced', opaque);
      expect(opaqueTable).toMatchObject({ code: 1 });
      expect(opaqueTable.stdout).toContain('foreign: not a Rancher token (opaque)');
      expect(opaqueTable.stdout).toContain('sender: not a JWT\nkind: opaque\n');
      expect(JSON.parse((await review('c-synced', opaque, '-o', 'json')).stdout)).toEqual({
        outcome: 'foreign',
        tokenKind: 'opaque',
        silent: true,
        sender: { kind: 'opaque', workload: 'not a JWT', state: 'no-exp', likely: expect.stringContaining('not a JWT') },
      });
    });

    it('uses the field names of tokengate floods -o json for the sender', async () => {
      const sender = JSON.parse((await review('c-synced', bound.token, '-o', 'json')).stdout).sender as Record<string, unknown>;
      const offenderFields = ['kind', 'workload', 'issuer', 'subject', 'namespace', 'serviceAccount', 'pod', 'podUid', 'node', 'secret', 'state', 'likely'];
      for (const field of Object.keys(sender)) expect([...offenderFields, 'expiresAt']).toContain(field);
    });
  });

  describe('a Rancher-shaped name with no row', () => {
    it("refuses a made-up name on a synced cluster as outside the cluster's name filter, silently, as the webhook does", async () => {
      const token = `kubeconfig-u-madeup9:${SECRET}`;
      const table = await review('c-synced', token);
      expect(table).toMatchObject({ code: 1, stderr: '' });
      expect(table.stdout).toBe(
        "refused: no such token (not in the cluster's name filter: the apiserver gets a silent refusal, which it caches) (name-unknown); token kubeconfig-u-madeup9\n",
      );
      expect(JSON.parse((await review('c-synced', token, '-o', 'json')).stdout)).toEqual({
        outcome: 'refused',
        tokenName: 'kubeconfig-u-madeup9',
        reason: 'name-unknown',
        message: 'token not found',
        silent: true,
        nameFilter: 'lacks-name',
      });
      expect(await webhook('c-synced', token)).toEqual({ authenticated: false, error: undefined });
    });

    it('refuses a name the filter holds whose row is gone as token-not-found, which the webhook answers with status.error', async () => {
      const token = `token-5hq2k:${SECRET}`;
      expect(JSON.parse((await review('c-synced', token, '-o', 'json')).stdout).reason).not.toMatch(/not-found|name-unknown/);
      await stack.store.deleteRecords([{ kind: 'token', clusterId: 'c-synced', name: 'token-5hq2k' }]);
      const table = await review('c-synced', token);
      expect(table.code).toBe(1);
      expect(table.stdout).toContain("refused: no such token (its name is in the cluster's name filter but its row is gone");
      expect(table.stdout).toContain('(token-not-found); token token-5hq2k\n');
      expect(JSON.parse((await review('c-synced', token, '-o', 'json')).stdout)).toEqual({
        outcome: 'refused',
        tokenName: 'token-5hq2k',
        reason: 'token-not-found',
        message: 'token not found',
        silent: false,
        nameFilter: 'holds-name',
      });
      expect(await webhook('c-synced', token)).toEqual({ authenticated: false, error: 'token not found' });
    });

    it('refuses a name of a cluster with no filter yet as token-not-found-unfiltered, and says the filter comes with the first sync', async () => {
      const token = `kubeconfig-u-madeup9:${SECRET}`;
      const table = await review('c-unsynced', token);
      expect(table.code).toBe(1);
      expect(table.stdout).toContain('refused: no such token (the cluster has no usable name filter');
      expect(table.stdout).toContain('(token-not-found-unfiltered); token kubeconfig-u-madeup9\nnote: the cluster has no name filter yet: it gets one at its first sync or import\n');
      expect(JSON.parse((await review('c-unsynced', token, '-o', 'json')).stdout)).toMatchObject({
        reason: 'token-not-found-unfiltered',
        message: 'token not found',
        silent: false,
        nameFilter: 'none',
      });
      expect(await webhook('c-unsynced', token)).toEqual({ authenticated: false, error: 'token not found' });
    });

    it('still accepts a token whose name the filter holds', async () => {
      const accepted = await review('c-synced', `kubeconfig-u-abc12xyz:${SECRET}`, '-o', 'json');
      expect(accepted.code).toBe(0);
      expect(JSON.parse(accepted.stdout)).toMatchObject({ outcome: 'accepted', tokenName: 'kubeconfig-u-abc12xyz', nameFilter: 'holds-name' });
    });
  });

  it('prints no token, no secret and no signature in any output', () => {
    expect(presented.length).toBeGreaterThan(10);
    const printed = outputs.join('\n');
    for (const token of presented) {
      if (token.includes(':')) expect(printed).not.toContain(token.slice(token.indexOf(':') + 1));
      else for (const part of token.split('.')) expect(printed).not.toContain(part);
    }
  });
});
