import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../support/local-stack.ts';

const CREDENTIAL = `tgc_abcdefghij_${'A'.repeat(43)}`;

describe('tokengate certs create', () => {
  it('writes the CA, the server certificate and a client certificate per cluster, keys readable by the owner only', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tg-certs-')), 'pki');
    const result = await runCli(['certs', 'create', '--dir', dir, '--client', 'c-local']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(new X509Certificate(readFileSync(join(dir, 'client-c-local.pem'))).subject).toContain('CN=c-local');
    expect(new X509Certificate(readFileSync(join(dir, 'server.pem'))).subjectAltName).toContain('IP Address:127.0.0.1');
    expect(statSync(join(dir, 'client-c-local-key.pem')).mode & 0o777).toBe(0o600);
    const again = await runCli(['certs', 'create', '--dir', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists; give --force');
  });

  it('refuses a client id that is not a cluster id', async () => {
    const result = await runCli(['certs', 'create', '--dir', mkdtempSync(join(tmpdir(), 'tg-certs-')), '--client', 'Not_A_Label']);
    expect(result.code).toBe(2);
  });
});

describe('tokengate webhook-config with a client certificate', () => {
  it('embeds the certificate and key as client-certificate-data and client-key-data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tg-certs-'));
    expect((await runCli(['certs', 'create', '--dir', dir, '--client', 'c-1'])).code).toBe(0);
    const result = await runCli([
      'webhook-config', 'c-1', '--url', 'https://tg.example.com', '--credential', CREDENTIAL,
      '--certificate-authority', join(dir, 'ca.pem'), '--client-certificate', join(dir, 'client-c-1.pem'), '--client-key', join(dir, 'client-c-1-key.pem'),
    ]);
    expect(result.code).toBe(0);
    const user = parse(result.stdout).users[0].user;
    expect(user.token).toBe(CREDENTIAL);
    expect(Buffer.from(user['client-certificate-data'], 'base64').toString()).toBe(readFileSync(join(dir, 'client-c-1.pem'), 'utf8'));
    expect(Buffer.from(user['client-key-data'], 'base64').toString()).toBe(readFileSync(join(dir, 'client-c-1-key.pem'), 'utf8'));
  });

  it('needs both the certificate and its key', async () => {
    const result = await runCli(['webhook-config', 'c-1', '--url', 'https://tg.example.com', '--credential', CREDENTIAL, '--client-certificate', 'x.pem']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('give both --client-certificate and --client-key');
  });
});

describe('tokengate serve TLS options', () => {
  it('refuses mutual TLS without TLS, half a TLS configuration, and a file that is not PEM', async () => {
    expect((await runCli(['serve', '--port', '0', '--client-ca', 'ca.pem'])).stderr).toContain('--client-ca needs --tls-cert and --tls-key');
    expect((await runCli(['serve', '--port', '0', '--tls-cert', 'server.pem'])).stderr).toContain('give both --tls-cert and --tls-key');
    const notPem = await runCli(['serve', '--port', '0', '--tls-cert', 'a.pem', '--tls-key', 'b.pem'], { files: { 'a.pem': 'hello', 'b.pem': 'hello' } });
    expect(notPem).toMatchObject({ code: 2 });
    expect(notPem.stderr).toContain('--tls-cert: a.pem is not a PEM certificate');
  });
});
