import type { AccessRecord } from '../../local/server.ts';
import type { LocalTlsOptions } from '../../local/tls.ts';
import { stringOption, type CommandInput, type OptionDef } from '../lib/command.ts';
import type { CliIo } from '../lib/io.ts';
import { UsageError } from '../lib/errors.ts';

/** `tokengate serve`'s HTTPS and mutual-TLS options. */
export const TLS_OPTIONS: Record<string, OptionDef> = {
  'tls-cert': { type: 'string', value: 'FILE', description: 'serve HTTPS with this PEM certificate (chain) (see: tokengate certs create)' },
  'tls-key': { type: 'string', value: 'FILE', description: 'PEM private key of --tls-cert' },
  'client-ca': { type: 'string', value: 'FILE', description: 'mutual TLS: client certificates must chain to this PEM CA and name the cluster (CN)' },
};

/** Reads the TLS files named by the options; undefined without --tls-cert. Half a configuration is a usage error. */
export async function tlsOptions(input: CommandInput, io: CliIo): Promise<LocalTlsOptions | undefined> {
  const certFile = stringOption(input, 'tls-cert');
  const keyFile = stringOption(input, 'tls-key');
  const caFile = stringOption(input, 'client-ca');
  if (certFile === undefined && keyFile === undefined) {
    if (caFile !== undefined) throw new UsageError('--client-ca needs --tls-cert and --tls-key: mutual TLS is TLS');
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) throw new UsageError('give both --tls-cert and --tls-key');
  const certificatePem = await pemFile(io, certFile, 'CERTIFICATE', '--tls-cert');
  const keyPem = await pemFile(io, keyFile, 'PRIVATE KEY', '--tls-key');
  const clientCaPem = caFile !== undefined ? await pemFile(io, caFile, 'CERTIFICATE', '--client-ca') : undefined;
  return { certificatePem, keyPem, ...(clientCaPem !== undefined ? { clientCaPem } : {}) };
}

async function pemFile(io: CliIo, path: string, label: string, option: string): Promise<string> {
  const text = await io.readText(path);
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(text)) throw new UsageError(`${option}: ${path} is not a PEM ${label.toLowerCase()}`);
  return text;
}

/** One access-log line: `POST /v1/clusters/c-1/authenticate?timeout=30s 200 3ms`. Never headers or bodies. */
export function accessLine(record: AccessRecord): string {
  return `${record.method} ${record.url} ${record.status} ${record.durationMs}ms\n`;
}
