import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { ClusterAccess } from '../../core/records.ts';

/**
 * The port for where a cluster's kubeconfig lives. The registry row records only a reference
 * (`ClusterAccess`); the kubeconfig — a bearer credential of the cluster — never enters the table.
 * Adapters: Secrets Manager (AWS) and a local file (local mode).
 */
export interface KubeconfigStore {
  readonly kind: ClusterAccess['kind'];
  /**
   * Stores or replaces a cluster's kubeconfig and returns the reference to record. `file` is where the
   * operator keeps it; `kubeconfig` its content, already read and checked by the caller.
   */
  save(clusterId: string, source: { file: string; kubeconfig: string }, context?: string): Promise<ClusterAccess>;
  /** The kubeconfig a reference of this store's kind points at. */
  load(clusterId: string, access: ClusterAccess, signal?: AbortSignal): Promise<string>;
  /** Forgets the stored kubeconfig (nothing for a file the operator owns). */
  remove(access: ClusterAccess): Promise<void>;
}

/**
 * The kubeconfig of a cluster could not be read or stored. The message names the reference and the
 * cause (an error name or code), never the kubeconfig's content.
 */
export class KubeconfigUnavailableError extends Error {
  override name = 'KubeconfigUnavailableError';
  constructor(
    readonly clusterId: string,
    message: string,
  ) {
    super(`cluster ${clusterId}: ${message}`);
  }
}

/** Kubeconfigs in AWS Secrets Manager, one secret per cluster named `${prefix}${clusterId}`. */
export class SecretsManagerKubeconfigStore implements KubeconfigStore {
  readonly kind = 'secretsmanager' as const;

  constructor(
    private readonly client: SecretsManagerClient,
    /** e.g. `tokengate/prod/clusters/`: the sync role may read only secrets under it. */
    private readonly prefix: string,
  ) {}

  secretIdOf(clusterId: string): string {
    return `${this.prefix}${clusterId}`;
  }

  async save(clusterId: string, source: { file: string; kubeconfig: string }, context?: string): Promise<ClusterAccess> {
    const secretId = this.secretIdOf(clusterId);
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: secretId,
          SecretString: source.kubeconfig,
          Description: `tokengate: kubeconfig the sync function uses to read cluster ${clusterId}`,
          Tags: [
            { Key: 'tokengate:cluster', Value: clusterId },
            { Key: 'service', Value: 'tokengate' },
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw unavailable(clusterId, `secret ${secretId} cannot be created`, error);
      try {
        await this.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: source.kubeconfig }));
      } catch (putError) {
        throw unavailable(clusterId, `secret ${secretId} cannot be updated`, putError);
      }
    }
    return { kind: 'secretsmanager', secretId, ...(context ? { context } : {}) };
  }

  async load(clusterId: string, access: ClusterAccess, signal?: AbortSignal): Promise<string> {
    if (access.kind !== 'secretsmanager') throw wrongKind(clusterId, access, this.kind);
    try {
      const value = await this.client.send(new GetSecretValueCommand({ SecretId: access.secretId }), { abortSignal: signal });
      if (typeof value.SecretString !== 'string' || value.SecretString === '') {
        throw new KubeconfigUnavailableError(clusterId, `secret ${access.secretId} holds no kubeconfig text`);
      }
      return value.SecretString;
    } catch (error) {
      if (error instanceof KubeconfigUnavailableError) throw error;
      throw unavailable(clusterId, `secret ${access.secretId} cannot be read`, error);
    }
  }

  async remove(access: ClusterAccess): Promise<void> {
    if (access.kind !== 'secretsmanager') return;
    try {
      await this.client.send(new DeleteSecretCommand({ SecretId: access.secretId, RecoveryWindowInDays: 7 }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
}

/**
 * Kubeconfigs the operator keeps as files (local mode): the registry records the absolute path and
 * the file is read at every sync, so editing it takes effect without registering again.
 */
export class FileKubeconfigStore implements KubeconfigStore {
  readonly kind = 'file' as const;

  async save(clusterId: string, source: { file: string; kubeconfig: string }, context?: string): Promise<ClusterAccess> {
    const absolute = path.resolve(source.file);
    try {
      await stat(absolute);
    } catch (error) {
      throw unavailable(clusterId, `kubeconfig file ${absolute} cannot be read`, error);
    }
    return { kind: 'file', path: absolute, ...(context ? { context } : {}) };
  }

  async load(clusterId: string, access: ClusterAccess, signal?: AbortSignal): Promise<string> {
    if (access.kind !== 'file') throw wrongKind(clusterId, access, this.kind);
    try {
      return await readFile(access.path, { encoding: 'utf8', signal });
    } catch (error) {
      throw unavailable(clusterId, `kubeconfig file ${access.path} cannot be read`, error);
    }
  }

  async remove(): Promise<void> {
    // the operator's file stays theirs
  }
}

/**
 * Keeps loaded kubeconfigs for `ttlMs` in this process (a warm Lambda container), so a sync every minute
 * does not read every cluster's secret every minute. A replaced kubeconfig takes effect within the TTL.
 */
export function cachingKubeconfigStore(inner: KubeconfigStore, ttlMs: number, nowMs: () => number): KubeconfigStore {
  const cache = new Map<string, { kubeconfig: string; until: number }>();
  const keyOf = (access: ClusterAccess) => (access.kind === 'file' ? `file:${access.path}` : `secretsmanager:${access.secretId}`);
  return {
    kind: inner.kind,
    async save(clusterId, source, context) {
      const access = await inner.save(clusterId, source, context);
      cache.delete(keyOf(access));
      return access;
    },
    async load(clusterId, access, signal) {
      const key = keyOf(access);
      const hit = cache.get(key);
      if (hit && hit.until > nowMs()) return hit.kubeconfig;
      const kubeconfig = await inner.load(clusterId, access, signal);
      cache.set(key, { kubeconfig, until: nowMs() + ttlMs });
      return kubeconfig;
    },
    async remove(access) {
      cache.delete(keyOf(access));
      await inner.remove(access);
    },
  };
}

/** Loads a kubeconfig through whichever of the given stores handles the reference's kind. */
export async function loadKubeconfig(
  stores: readonly KubeconfigStore[],
  clusterId: string,
  access: ClusterAccess | undefined,
  signal?: AbortSignal,
): Promise<string> {
  if (!access) {
    throw new KubeconfigUnavailableError(clusterId, `no kubeconfig registered (tokengate clusters set-kubeconfig ${clusterId} --kubeconfig FILE)`);
  }
  const store = stores.find((candidate) => candidate.kind === access.kind);
  if (!store) {
    throw new KubeconfigUnavailableError(
      clusterId,
      `its kubeconfig is a ${access.kind} reference, which this deployment cannot read (${access.kind === 'file' ? 'a file reference works only from the local CLI' : 'no Secrets Manager access configured'})`,
    );
  }
  return store.load(clusterId, access, signal);
}

function wrongKind(clusterId: string, access: ClusterAccess, expected: ClusterAccess['kind']): KubeconfigUnavailableError {
  return new KubeconfigUnavailableError(clusterId, `a ${access.kind} reference given to the ${expected} store`);
}

function unavailable(clusterId: string, what: string, error: unknown): KubeconfigUnavailableError {
  const code = error instanceof Error ? ((error as { code?: unknown }).code ?? error.name) : 'unknown error';
  return new KubeconfigUnavailableError(clusterId, `${what} (${String(code)})`);
}
