import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { webhookKubeconfig, webhookUrl } from '../../../../functions/entry/cli/commands/webhook-config.ts';
import { runCli } from '../../../support/local-stack.ts';

const CREDENTIAL = `tgc_abcdefghij_${'A'.repeat(43)}`;

describe('webhookKubeconfig', () => {
  it("is the kubeconfig of docs/reference.md ('The webhook kubeconfig'), pointing at the cluster's authenticate URL", () => {
    const config = parse(
      webhookKubeconfig({ clusterId: 'c-m-abc12xyz', baseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com', credential: CREDENTIAL }),
    );
    expect(config).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'tokengate', cluster: { server: 'https://abc.execute-api.eu-west-1.amazonaws.com/v1/clusters/c-m-abc12xyz/authenticate' } }],
      users: [{ name: 'apiserver', user: { token: CREDENTIAL } }],
      contexts: [{ name: 'webhook', context: { cluster: 'tokengate', user: 'apiserver' } }],
      'current-context': 'webhook',
    });
  });

  it('uses tokenFile for a credential file, and embeds a private CA as base64', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const config = parse(
      webhookKubeconfig({ clusterId: 'local', baseUrl: 'https://tg.example.com', credentialFile: '/etc/kubernetes/tg.token', certificateAuthorityPem: pem }),
    );
    expect(config.users[0].user).toEqual({ tokenFile: '/etc/kubernetes/tg.token' });
    expect(Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(pem);
  });

  it('appends the path to a base URL with or without trailing slashes, or a stage path', () => {
    expect(webhookUrl('https://tg.example.com/', 'c-1')).toBe('https://tg.example.com/v1/clusters/c-1/authenticate');
    expect(webhookUrl('https://tg.example.com/prod//', 'c-1')).toBe('https://tg.example.com/prod/v1/clusters/c-1/authenticate');
  });
});

describe('tokengate webhook-config', () => {
  it('prints the kubeconfig on stdout and nothing else', async () => {
    const result = await runCli(['webhook-config', 'c-1', '--url', 'https://tg.example.com', '--credential', CREDENTIAL]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(parse(result.stdout).users[0].user.token).toBe(CREDENTIAL);
  });

  it('needs no table', async () => {
    const result = await runCli(['webhook-config', 'c-1', '--url', 'https://tg.example.com', '--credential', CREDENTIAL], {
      env: { DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' },
    });
    expect(result.code).toBe(0);
  });

  it('refuses a credential that is not one of ours without echoing it', async () => {
    const pasted = 'kubeconfig-u-abc:secretsecretsecret';
    const result = await runCli(['webhook-config', 'c-1', '--url', 'https://tg.example.com', '--credential', pasted]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('does not look like a tokengate webhook credential');
    expect(result.stderr).not.toContain('secretsecret');
  });

  it('requires --url, and an http(s) one', async () => {
    expect((await runCli(['webhook-config', 'c-1'])).stderr).toContain('--url is required');
    const ftp = await runCli(['webhook-config', 'c-1', '--url', 'ftp://tg.example.com']);
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toContain('--url: expected the http(s) base URL of the API');
  });

  it('warns about plain http beyond loopback, and about a missing credential', async () => {
    const remote = await runCli(['webhook-config', 'c-1', '--url', 'http://tg.example.com', '--credential', CREDENTIAL]);
    expect(remote.stderr).toContain('plain http');
    const local = await runCli(['webhook-config', 'c-1', '--url', 'http://127.0.0.1:8080', '--credential', CREDENTIAL]);
    expect(local.stderr).toBe('');
    const placeholder = await runCli(['webhook-config', 'c-1', '--url', 'https://tg.example.com']);
    expect(placeholder.code).toBe(0);
    expect(placeholder.stderr).toContain('no --credential given');
    expect(parse(placeholder.stdout).users[0].user.token).toBe('REPLACE-WITH-THE-CREDENTIAL-OF-c-1');
  });

  it('takes --credential or --credential-file, not both', async () => {
    const result = await runCli(['webhook-config', 'c-1', '--url', 'https://x.example', '--credential', CREDENTIAL, '--credential-file', '/f']);
    expect(result.code).toBe(2);
  });
});

describe('webhook-config --url', () => {
  it.each([
    ['https://abc.execute-api.eu-west-1.amazonaws.com', 'https://abc.execute-api.eu-west-1.amazonaws.com/v1/clusters/c-x/authenticate'],
    ['https://host/prod', 'https://host/prod/v1/clusters/c-x/authenticate'],
    ['https://host/prod/v1/clusters/c-x/authenticate', 'https://host/prod/v1/clusters/c-x/authenticate'],
    ['https://host/v1/clusters/c-x/authenticate/', 'https://host/v1/clusters/c-x/authenticate'],
  ])('takes %s as a base or the full webhook URL, never doubling the path', async (url, server) => {
    const result = await runCli(['webhook-config', 'c-x', '--url', url, '--credential', CREDENTIAL]);
    expect(result.code).toBe(0);
    expect(parse(result.stdout).clusters[0].cluster.server).toBe(server);
  });

  it.each([
    ['https://host/prod/v1/clusters/c-other/authenticate', 'is the webhook URL of cluster c-other, not of c-x'],
    ['https://host/v1/clusters/c-x', 'is neither the API\'s base URL'],
    ['https://host/healthz', 'is neither the API\'s base URL'],
  ])('refuses %s with a message saying what it expected', async (url, message) => {
    const result = await runCli(['webhook-config', 'c-x', '--url', url, '--credential', CREDENTIAL]);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toContain(message);
  });

  it('reads --credential - from standard input, keeping it off the command line', async () => {
    const result = await runCli(['webhook-config', 'c-x', '--url', 'https://host', '--credential', '-'], { stdin: `${CREDENTIAL}\n` });
    expect(result.code).toBe(0);
    expect(parse(result.stdout).users[0].user.token).toBe(CREDENTIAL);
  });
});
