import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import type { ClusterAccess, ClusterRecord } from '../../../core/records.ts';
import { ClusterConfigError } from '../../../core/ports/cluster-source.ts';
import { createKubernetesClusterSource } from '../../../adapters/kubernetes/downstream-source.ts';
import {
  FileKubeconfigStore,
  KubeconfigUnavailableError,
  SecretsManagerKubeconfigStore,
  type KubeconfigStore,
} from '../../../adapters/kubeconfig/kubeconfig-store.ts';
import { parseValue, stringOption, type CommandInput, type OptionDef } from './command.ts';
import { CliError, UsageError } from './errors.ts';
import type { CliIo } from './io.ts';
import type { Column } from './output.ts';
import type { TableLocation } from '../../../adapters/dynamodb/table-access.ts';

/** Options of the commands that register a cluster's kubeconfig. */
export const KUBECONFIG_OPTIONS: Record<string, OptionDef> = {
  kubeconfig: { type: 'string', value: 'FILE', description: "kubeconfig sync uses to read the cluster's Rancher objects" },
  context: { type: 'string', value: 'NAME', description: "the kubeconfig's context to use (default: its current-context)" },
  'kubeconfig-store': {
    type: 'string',
    value: 'KIND',
    description: 'where it is kept: file (the path is recorded; default with --endpoint) or secretsmanager (default otherwise)',
  },
  'secret-prefix': {
    type: 'string',
    value: 'PREFIX',
    description: 'Secrets Manager name prefix (env CLUSTER_SECRET_PREFIX; default tokengate/<stage>/clusters/ for table tokengate-<stage>)',
  },
};

/** A kubeconfig read and checked, ready to be stored once the cluster's registry row exists. */
export interface PreparedKubeconfig {
  /** Stores it (Secrets Manager) or records its path (file) and returns the reference for the registry row. */
  save(): Promise<ClusterAccess>;
  /** Where it will be kept, for messages. */
  describe: string;
}

/**
 * Reads and checks `--kubeconfig` (parseable, context present, a server and a user) before anything is
 * written, and chooses where it will be kept. Undefined when the option is absent.
 */
export async function prepareKubeconfig(
  input: CommandInput,
  io: CliIo,
  clusterId: string,
  location: TableLocation,
): Promise<PreparedKubeconfig | undefined> {
  const file = stringOption(input, 'kubeconfig');
  const context = stringOption(input, 'context');
  if (file === undefined) {
    if (context !== undefined || stringOption(input, 'kubeconfig-store') !== undefined) throw new UsageError('--context and --kubeconfig-store need --kubeconfig');
    return undefined;
  }
  const kind = parseValue(
    z.enum(['file', 'secretsmanager'], { error: 'expected file or secretsmanager' }),
    stringOption(input, 'kubeconfig-store') ?? (location.endpoint ? 'file' : 'secretsmanager'),
    '--kubeconfig-store',
  );
  if (kind === 'file' && file === '-') throw new UsageError('a kubeconfig from standard input cannot be kept as a file reference: give a file, or --kubeconfig-store secretsmanager');

  const kubeconfig = await io.readText(file);
  try {
    createKubernetesClusterSource({ clusterId, kubeconfig, ...(context ? { context } : {}) });
  } catch (error) {
    if (error instanceof ClusterConfigError) throw new CliError(`${file}: ${error.message}`);
    throw error;
  }
  const store = kind === 'file' ? new FileKubeconfigStore() : secretsManagerStore(input, io, location);
  const describe = store instanceof SecretsManagerKubeconfigStore ? `Secrets Manager secret ${store.secretIdOf(clusterId)}` : `file ${file}`;
  return {
    describe,
    save: async () => {
      try {
        return await store.save(clusterId, { file, kubeconfig }, context);
      } catch (error) {
        if (error instanceof KubeconfigUnavailableError) throw new CliError(error.message);
        throw error;
      }
    },
  };
}

/** Every kubeconfig store the CLI can read from: local files and the deployment's Secrets Manager. */
export function readableKubeconfigStores(io: CliIo, location: TableLocation): KubeconfigStore[] {
  // the prefix only names new secrets; reading goes by the secret id recorded on the registry row
  return [new FileKubeconfigStore(), new SecretsManagerKubeconfigStore(secretsManagerClient(io, location), '')];
}

/** Forgets a removed cluster's stored kubeconfig; a failure is reported, not fatal (the cluster is gone). */
export async function forgetKubeconfig(io: CliIo, location: TableLocation, cluster: ClusterRecord | undefined): Promise<void> {
  const access = cluster?.access;
  if (!access || access.kind !== 'secretsmanager') return;
  try {
    await new SecretsManagerKubeconfigStore(secretsManagerClient(io, location), '').remove(access);
    io.stderr(`scheduled the deletion of its kubeconfig secret ${access.secretId} (7-day recovery window)\n`);
  } catch (error) {
    io.stderr(`warning: its kubeconfig secret ${access.secretId} was not deleted (${error instanceof Error ? error.name : 'unknown error'}); delete it yourself\n`);
  }
}

/** What `clusters list` shows about a cluster's kubeconfig reference and its last sync. */
export function syncView(cluster: ClusterRecord) {
  return {
    kubeconfig: describeAccess(cluster.access),
    ...(cluster.lastSync ? { lastSync: cluster.lastSync } : {}),
    ...(cluster.lastSuccessfulSyncAt ? { lastSuccessfulSyncAt: cluster.lastSuccessfulSyncAt } : {}),
  };
}

/**
 * The columns of `clusters list` about the kubeconfig and the last sync; the counts, the duration and
 * the kubeconfig reference only with `-o wide`.
 */
export function syncColumns<T>(clusterOf: (item: T) => ClusterRecord): Column<T>[] {
  const last = (item: T) => clusterOf(item).lastSync;
  return [
    { title: 'KUBECONFIG', cell: (item) => describeAccess(clusterOf(item).access), wide: true },
    { title: 'LAST SYNC', cell: (item) => last(item)?.at ?? 'never' },
    { title: 'RESULT', cell: (item) => last(item)?.outcome ?? '-' },
    { title: 'OBJECTS', cell: (item) => count(last(item)?.objects), wide: true },
    { title: 'WRITES', cell: (item) => count(last(item)?.writes), wide: true },
    { title: 'DELETES', cell: (item) => count(last(item)?.deletes), wide: true },
    { title: 'DURATION', cell: (item) => (last(item) ? `${((last(item)?.durationMs ?? 0) / 1000).toFixed(1)}s` : '-'), wide: true },
    { title: 'LAST SUCCESS', cell: (item) => clusterOf(item).lastSuccessfulSyncAt ?? '-', wide: true },
    {
      title: 'WARNINGS',
      cell: (item) => {
        const sync = last(item);
        return sync?.warnings ? `${sync.warnings}: ${sync.firstWarning ?? ''}` : '-';
      },
      wide: true,
    },
    {
      title: 'ERROR',
      cell: (item) => {
        const sync = last(item);
        return sync ? (sync.error ?? (sync.rejected ? `${sync.rejected} invalid object(s) kept as they were` : '')) : '';
      },
    },
  ];
}

function count(value: number | undefined): string {
  return value === undefined ? '-' : String(value);
}

function describeAccess(access: ClusterAccess | undefined): string {
  if (!access) return 'none';
  const where = access.kind === 'file' ? `file:${access.path}` : `secretsmanager:${access.secretId}`;
  return access.context ? `${where} (context ${access.context})` : where;
}

function secretsManagerStore(input: CommandInput, io: CliIo, location: TableLocation): SecretsManagerKubeconfigStore {
  const prefix = stringOption(input, 'secret-prefix') ?? nonEmpty(io.env.CLUSTER_SECRET_PREFIX) ?? prefixOfTable(location.tableName);
  if (prefix === undefined) {
    throw new UsageError(
      `cannot tell the Secrets Manager prefix for table ${location.tableName}: give --secret-prefix tokengate/<stage>/clusters/ (or CLUSTER_SECRET_PREFIX)`,
    );
  }
  if (!prefix.endsWith('/')) throw new UsageError('--secret-prefix must end with "/"');
  return new SecretsManagerKubeconfigStore(secretsManagerClient(io, location), prefix);
}

function secretsManagerClient(io: CliIo, location: TableLocation): SecretsManagerClient {
  const endpoint = nonEmpty(io.env.SECRETSMANAGER_ENDPOINT);
  return new SecretsManagerClient({ region: location.region, ...(endpoint ? { endpoint } : {}) });
}

/** The deployment names its table `tokengate-<stage>` and its secrets `tokengate/<stage>/clusters/<id>`. */
function prefixOfTable(tableName: string): string | undefined {
  const stage = /^tokengate-([a-zA-Z0-9_.-]+)$/.exec(tableName)?.[1];
  return stage ? `tokengate/${stage}/clusters/` : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
