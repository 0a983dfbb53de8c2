import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  cachingKubeconfigStore,
  FileKubeconfigStore,
  KubeconfigUnavailableError,
  loadKubeconfig,
  SecretsManagerKubeconfigStore,
} from '../../../../functions/adapters/kubeconfig/kubeconfig-store.ts';

const KUBECONFIG = 'apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: sekret-bearer-token\n';

describe('SecretsManagerKubeconfigStore', () => {
  const sdk = mockClient(SecretsManagerClient);
  const store = new SecretsManagerKubeconfigStore(new SecretsManagerClient({ region: 'eu-west-1' }), 'tokengate/prod/clusters/');
  beforeEach(() => sdk.reset());

  it('stores a new kubeconfig as the secret named by the prefix and the cluster id, and returns only the reference', async () => {
    sdk.on(CreateSecretCommand).resolves({});
    const access = await store.save('c-abc12', { file: 'ignored.yaml', kubeconfig: KUBECONFIG }, 'ctx');
    expect(access).toEqual({ kind: 'secretsmanager', secretId: 'tokengate/prod/clusters/c-abc12', context: 'ctx' });
    expect(sdk.commandCalls(CreateSecretCommand)[0]!.args[0].input).toMatchObject({ Name: 'tokengate/prod/clusters/c-abc12', SecretString: KUBECONFIG });
  });

  it('replaces the value of an existing secret', async () => {
    sdk.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    sdk.on(PutSecretValueCommand).resolves({});
    await store.save('c-abc12', { file: 'x', kubeconfig: KUBECONFIG });
    expect(sdk.commandCalls(PutSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: 'tokengate/prod/clusters/c-abc12', SecretString: KUBECONFIG });
  });

  it('reads the kubeconfig back from the referenced secret', async () => {
    sdk.on(GetSecretValueCommand, { SecretId: 'tokengate/prod/clusters/c-abc12' }).resolves({ SecretString: KUBECONFIG });
    expect(await store.load('c-abc12', { kind: 'secretsmanager', secretId: 'tokengate/prod/clusters/c-abc12' })).toBe(KUBECONFIG);
  });

  it('fails with a typed error that names the secret and the cause but nothing of its content', async () => {
    sdk.on(GetSecretValueCommand).rejects(Object.assign(new Error(`denied ${KUBECONFIG}`), { name: 'AccessDeniedException' }));
    const error = await store.load('c-abc12', { kind: 'secretsmanager', secretId: 'tokengate/prod/clusters/c-abc12' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KubeconfigUnavailableError);
    expect((error as Error).message).toBe('cluster c-abc12: secret tokengate/prod/clusters/c-abc12 cannot be read (AccessDeniedException)');
  });

  it('deletes the secret with a recovery window', async () => {
    sdk.on(DeleteSecretCommand).resolves({});
    await store.remove({ kind: 'secretsmanager', secretId: 'tokengate/prod/clusters/c-abc12' });
    expect(sdk.commandCalls(DeleteSecretCommand)[0]!.args[0].input).toEqual({ SecretId: 'tokengate/prod/clusters/c-abc12', RecoveryWindowInDays: 7 });
  });
});

describe('FileKubeconfigStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tokengate-kubeconfig-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('records the absolute path of the file and reads it at every load, so edits take effect', async () => {
    const file = path.join(dir, 'cluster.yaml');
    await writeFile(file, KUBECONFIG);
    const store = new FileKubeconfigStore();
    const access = await store.save('c-abc12', { file: path.relative(process.cwd(), file), kubeconfig: KUBECONFIG });
    expect(access).toEqual({ kind: 'file', path: file });
    await writeFile(file, `${KUBECONFIG}# edited\n`);
    expect(await store.load('c-abc12', access)).toContain('# edited');
  });

  it('fails with a typed error for a file that is gone', async () => {
    const store = new FileKubeconfigStore();
    await expect(store.load('c-abc12', { kind: 'file', path: path.join(dir, 'gone.yaml') })).rejects.toThrow(/kubeconfig file .*gone\.yaml cannot be read \(ENOENT\)/);
  });
});

describe('loadKubeconfig', () => {
  it('tells how to register a kubeconfig when a cluster has none', async () => {
    await expect(loadKubeconfig([new FileKubeconfigStore()], 'c-abc12', undefined)).rejects.toThrow(/no kubeconfig registered \(tokengate clusters set-kubeconfig c-abc12 --kubeconfig FILE\)/);
  });

  it('refuses a file reference where only Secrets Manager is configured (the Lambda)', async () => {
    const stores = [new SecretsManagerKubeconfigStore(new SecretsManagerClient({ region: 'eu-west-1' }), 'p/')];
    await expect(loadKubeconfig(stores, 'c-abc12', { kind: 'file', path: '/tmp/x' })).rejects.toThrow(/only from the local CLI/);
  });
});

describe('cachingKubeconfigStore', () => {
  it('reads a secret once per TTL, then again', async () => {
    const sdk = mockClient(SecretsManagerClient);
    sdk.on(GetSecretValueCommand).resolves({ SecretString: KUBECONFIG });
    let now = 0;
    const store = cachingKubeconfigStore(new SecretsManagerKubeconfigStore(new SecretsManagerClient({ region: 'eu-west-1' }), 'p/'), 300_000, () => now);
    const access = { kind: 'secretsmanager' as const, secretId: 'p/c-abc12' };
    await store.load('c-abc12', access);
    now = 299_999;
    await store.load('c-abc12', access);
    expect(sdk.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now = 300_001;
    expect(await store.load('c-abc12', access)).toBe(KUBECONFIG);
    expect(sdk.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    sdk.restore();
  });
});
