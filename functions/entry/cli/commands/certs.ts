import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { clientFileNames, createLocalPki } from '../../../adapters/tls/local-pki.ts';
import { flag, parseValue, stringOption, stringsOption, type Command } from '../lib/command.ts';
import { CliError, UsageError } from '../lib/errors.ts';
import { clusterIdArgument } from '../lib/options.ts';

const daysSchema = z.coerce.number({ error: 'expected whole days' }).int('expected whole days').min(1, 'expected 1 to 3650 days').max(3650, 'expected 1 to 3650 days');

export const certsCreateCommand: Command = {
  name: 'certs create',
  summary: 'Make a throwaway CA, a server certificate and client certificates for local HTTPS and mutual TLS.',
  description: [
    'Writes ca.pem (+ ca-key.pem), server.pem/server-key.pem for the --host names, and for each --client',
    'a certificate whose CN is that cluster id (client-<id>.pem, client-<id>-key.pem): what the mutual-TLS',
    'check binds to the cluster in the path. For tests and local use only, never for a deployment.',
    'Keys are P-256, written readable by the owner only. Existing files are kept unless --force.',
  ].join('\n'),
  args: '',
  options: {
    dir: { type: 'string', value: 'DIR', description: 'directory to write the files to (required; created if missing)' },
    client: { type: 'string', multiple: true, value: 'CLUSTER', description: 'issue a client certificate with CN=CLUSTER (repeatable)' },
    host: { type: 'string', multiple: true, value: 'NAME', description: 'a name of the server certificate (repeatable; default localhost, 127.0.0.1, ::1)' },
    days: { type: 'string', value: 'N', description: 'validity in days (default 30)' },
    force: { type: 'boolean', description: 'overwrite existing files' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    'tokengate certs create --dir ./pki --client c-local',
    'tokengate serve --tls-cert pki/server.pem --tls-key pki/server-key.pem --client-ca pki/ca.pem',
  ],
  async run(input, io) {
    const dir = stringOption(input, 'dir');
    if (dir === undefined) throw new UsageError('--dir is required');
    const clientIds = stringsOption(input, 'client').map(clusterIdArgument);
    const hosts = stringsOption(input, 'host');
    const validDays = parseValue(daysSchema, stringOption(input, 'days') ?? '30', '--days');
    const files = createLocalPki({
      serverNames: hosts.length > 0 ? hosts : ['localhost', '127.0.0.1', '::1'],
      clientIds,
      validDays,
      now: io.now(),
      randomBytes: io.randomBytes,
    });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const mode = flag(input, 'force') ? 'w' : 'wx';
    for (const [name, content] of Object.entries(files)) {
      try {
        await writeFile(join(dir, name), content, { flag: mode, mode: name.endsWith('-key.pem') ? 0o600 : 0o644 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${join(dir, name)} exists; give --force to overwrite`);
        throw error;
      }
    }
    io.stderr(
      [
        `wrote ${Object.keys(files).length} files to ${dir}:`,
        `  CA                 ca.pem (key ca-key.pem)`,
        `  server             server.pem, server-key.pem  (${(hosts.length > 0 ? hosts : ['localhost', '127.0.0.1', '::1']).join(', ')})`,
        ...clientIds.map((id) => `  client of ${id.padEnd(8)} ${clientFileNames(id).certificate}, ${clientFileNames(id).key}`),
        'next:',
        `  tokengate serve --tls-cert ${join(dir, 'server.pem')} --tls-key ${join(dir, 'server-key.pem')}${clientIds.length > 0 ? ` --client-ca ${join(dir, 'ca.pem')}` : ''}`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
