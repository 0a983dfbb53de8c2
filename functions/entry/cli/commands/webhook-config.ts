import { stringify } from 'yaml';
import * as z from 'zod';
import { parseCredential } from '../../../core/caller-credential.ts';
import { parseValue, stringOption, type Command } from '../lib/command.ts';
import { UsageError } from '../lib/errors.ts';
import { clusterIdArgument } from '../lib/options.ts';

export interface WebhookConfigInput {
  clusterId: string;
  /** Base URL of the API, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com`. */
  baseUrl: string;
  /** Exactly one of: the credential itself, or a file the apiserver re-reads (so it can be rotated). */
  credential?: string;
  credentialFile?: string;
  /** PEM of a private CA, embedded as certificate-authority-data. */
  certificateAuthorityPem?: string;
  /** Mutual TLS: PEM certificate (CN = the cluster id) and key, embedded as client-certificate-data/client-key-data. */
  clientCertificatePem?: string;
  clientKeyPem?: string;
}

/** The webhook endpoint of a cluster: the exact URL the apiserver POSTs to (nothing is appended). */
export function webhookUrl(baseUrl: string, clusterId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/v1/clusters/${clusterId}/authenticate`;
}

/**
 * The kubeconfig that `--authentication-token-webhook-config-file` points at (docs/reference.md, "The webhook contract"): one cluster
 * whose server is this cluster's webhook URL, one user carrying the caller credential.
 */
export function webhookKubeconfig(input: WebhookConfigInput): string {
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const user = {
    ...(input.credentialFile !== undefined ? { tokenFile: input.credentialFile } : { token: input.credential ?? '' }),
    ...(input.clientCertificatePem !== undefined && input.clientKeyPem !== undefined
      ? { 'client-certificate-data': base64(input.clientCertificatePem), 'client-key-data': base64(input.clientKeyPem) }
      : {}),
  };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'tokengate',
        cluster: {
          server: webhookUrl(input.baseUrl, input.clusterId),
          ...(input.certificateAuthorityPem !== undefined
            ? { 'certificate-authority-data': Buffer.from(input.certificateAuthorityPem, 'utf8').toString('base64') }
            : {}),
        },
      },
    ],
    users: [{ name: 'apiserver', user }],
    contexts: [{ name: 'webhook', context: { cluster: 'tokengate', user: 'apiserver' } }],
    'current-context': 'webhook',
  };
  return stringify(config, { lineWidth: 0, indentSeq: false });
}

const urlSchema = z
  .url({ protocol: /^https?$/, error: 'expected the http(s) base URL of the API' })
  .refine((url) => !/[?#]/.test(url), 'expected a base URL without query or fragment');

const WEBHOOK_PATH = /\/v1\/clusters\/([^/]+)\/authenticate\/*$/;

/**
 * The API's base URL from `--url`: a base URL (optionally with a stage path, `https://host/prod`), or the
 * cluster's full webhook URL as `webhookUrl` makes it, whose path is then taken off. Anything else that
 * names the API's own paths (another cluster's webhook URL, a partial path) is refused, since appending
 * to it would print a server URL that answers 404.
 */
export function baseUrlOf(raw: string, clusterId: string): string {
  const url = parseValue(urlSchema, raw, '--url');
  const path = new URL(url).pathname;
  const full = WEBHOOK_PATH.exec(path);
  if (full) {
    if (full[1] !== clusterId) {
      throw new UsageError(`--url is the webhook URL of cluster ${full[1]}, not of ${clusterId}; give the API's base URL, e.g. ${url.slice(0, url.indexOf('/v1/'))}`);
    }
    return url.slice(0, url.lastIndexOf('/v1/clusters/'));
  }
  if (/(^|\/)(v1|clusters|authenticate|healthz)(\/|$)/.test(path)) {
    throw new UsageError(
      `--url: ${url} is neither the API's base URL (https://host or https://host/<stage>) nor a cluster's full webhook URL (…/v1/clusters/${clusterId}/authenticate)`,
    );
  }
  return url;
}

export const webhookConfigCommand: Command = {
  name: 'webhook-config',
  summary: "Print the kubeconfig for a cluster's --authentication-token-webhook-config-file.",
  description:
    'Without --credential or --credential-file the kubeconfig gets a placeholder to replace.\n' +
    'With --credential-file the apiserver re-reads the file every minute, so a rotation needs no restart.\n' +
    'Recommended apiserver flags: --authentication-token-webhook-version=v1 and a short\n' +
    '--authentication-token-webhook-cache-ttl (revocation waits for it).',
  args: '<clusterId>',
  options: {
    url: { type: 'string', value: 'URL', description: "the API's base URL, or the cluster's full webhook URL (required)" },
    credential: {
      type: 'string',
      value: 'CREDENTIAL|-',
      description: 'the webhook credential from clusters add / rotate-credential, embedded; - reads it from standard input',
    },
    'credential-file': { type: 'string', value: 'PATH', description: "path of a file holding the credential, on the apiserver's host" },
    'certificate-authority': { type: 'string', value: 'FILE', description: 'PEM file of a private CA to embed' },
    'client-certificate': { type: 'string', value: 'FILE', description: 'mutual TLS: PEM client certificate (CN = the cluster id) to embed' },
    'client-key': { type: 'string', value: 'FILE', description: 'mutual TLS: PEM private key of --client-certificate to embed' },
  },
  positionals: { min: 1, max: 1 },
  examples: [
    'tokengate webhook-config c-m-abc12xyz --url https://tokengate.example.com --credential - < ~/c-m-abc12xyz.credential > webhook.yaml',
    'tokengate webhook-config c-m-abc12xyz --url https://tokengate.example.com --credential-file /etc/kubernetes/tokengate.token',
  ],
  async run(input, io) {
    const clusterId = clusterIdArgument(input.positionals[0]);
    const rawUrl = stringOption(input, 'url');
    if (rawUrl === undefined) throw new UsageError('--url is required: the base URL of the tokengate API');
    const baseUrl = baseUrlOf(rawUrl, clusterId);
    const given = stringOption(input, 'credential');
    // `-`: from standard input, so the credential never sits on a command line (shell history, ps)
    const credential = given === '-' ? (await io.readText('-')).trim() : given;
    const credentialFile = stringOption(input, 'credential-file');
    if (credential !== undefined && credentialFile !== undefined) throw new UsageError('give --credential or --credential-file, not both');
    if (credential !== undefined && !parseCredential(credential)) {
      throw new UsageError('--credential does not look like a tokengate webhook credential (tgc_…); copy it as clusters add printed it');
    }
    const caFile = stringOption(input, 'certificate-authority');
    const certificateAuthorityPem = caFile !== undefined ? await io.readText(caFile) : undefined;
    if (certificateAuthorityPem !== undefined && !certificateAuthorityPem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new UsageError(`--certificate-authority: ${caFile} is not a PEM certificate`);
    }
    const clientCertFile = stringOption(input, 'client-certificate');
    const clientKeyFile = stringOption(input, 'client-key');
    if ((clientCertFile === undefined) !== (clientKeyFile === undefined)) throw new UsageError('give both --client-certificate and --client-key');
    const clientCertificatePem = clientCertFile !== undefined ? await io.readText(clientCertFile) : undefined;
    const clientKeyPem = clientKeyFile !== undefined ? await io.readText(clientKeyFile) : undefined;
    if (clientCertificatePem !== undefined && !clientCertificatePem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new UsageError(`--client-certificate: ${clientCertFile} is not a PEM certificate`);
    }
    if (clientKeyPem !== undefined && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(clientKeyPem)) {
      throw new UsageError(`--client-key: ${clientKeyFile} is not a PEM private key`);
    }
    const url = new URL(baseUrl);
    if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
      io.stderr('warning: plain http: the apiserver would send the credential and every token unencrypted\n');
    }
    if (credential === undefined && credentialFile === undefined) {
      io.stderr(`warning: no --credential given; replace the placeholder token before use\n`);
    }
    io.stdout(
      webhookKubeconfig({
        clusterId,
        baseUrl,
        ...(credentialFile !== undefined ? { credentialFile } : { credential: credential ?? `REPLACE-WITH-THE-CREDENTIAL-OF-${clusterId}` }),
        ...(certificateAuthorityPem !== undefined ? { certificateAuthorityPem } : {}),
        ...(clientCertificatePem !== undefined && clientKeyPem !== undefined ? { clientCertificatePem, clientKeyPem } : {}),
      }),
    );
    return 0;
  },
};
