import type { ClusterRecord, TokenRecord } from '../../functions/core/records.ts';
import type { Log, LogAttributes, MetricsSink } from '../../functions/core/ports/telemetry.ts';
import type { TokenStore } from '../../functions/core/ports/token-store.ts';
import type { SecretVerifier } from '../../functions/core/hash.ts';
import type { FloodRecorder } from '../../functions/core/ports/flood-store.ts';
import type { FloodWindow } from '../../functions/core/foreign-summary.ts';
import { buildNameFilter, type NameFilter } from '../../functions/core/name-filter.ts';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  attributes: LogAttributes;
}

/** A log that keeps every line, so tests can assert what was (and was not) written. */
export class CapturingLog implements Log {
  readonly lines: LogLine[] = [];
  debug(message: string, attributes: LogAttributes = {}) {
    this.lines.push({ level: 'debug', message, attributes });
  }
  info(message: string, attributes: LogAttributes = {}) {
    this.lines.push({ level: 'info', message, attributes });
  }
  warn(message: string, attributes: LogAttributes = {}) {
    this.lines.push({ level: 'warn', message, attributes });
  }
  error(message: string, attributes: LogAttributes = {}) {
    this.lines.push({ level: 'error', message, attributes });
  }
  /** Everything logged, as the JSON text a log line would carry. */
  text(): string {
    return this.lines.map((line) => JSON.stringify(line)).join('\n');
  }
  withMessage(message: string): LogLine[] {
    return this.lines.filter((line) => line.message === message);
  }
}

export class CapturingMetrics implements MetricsSink {
  readonly points: { name: string; value: number; dimensions: Record<string, string> }[] = [];
  flushes = 0;
  count(name: string, value: number, dimensions: Record<string, string> = {}) {
    this.points.push({ name, value, dimensions });
  }
  milliseconds(name: string, value: number, dimensions: Record<string, string> = {}) {
    this.points.push({ name, value, dimensions });
  }
  seconds(name: string, value: number, dimensions: Record<string, string> = {}) {
    this.points.push({ name, value, dimensions });
  }
  flush() {
    this.flushes += 1;
  }
  total(name: string, dimensions: Record<string, string> = {}): number {
    return this.points
      .filter((point) => point.name === name && Object.entries(dimensions).every(([k, v]) => point.dimensions[k] === v))
      .reduce((sum, point) => sum + point.value, 0);
  }
}

/** An in-memory TokenStore that counts calls and can be told to fail. */
export class FakeTokenStore implements TokenStore, FloodRecorder {
  readonly tokens = new Map<string, TokenRecord>();
  readonly clusters = new Map<string, ClusterRecord>();
  readonly uses: { clusterId: string; name: string; at: Date }[] = [];
  /** Flood windows stored, with the id of the container that wrote each. */
  readonly floodWindows: { window: FloodWindow; writer: string }[] = [];
  readonly nameFilters = new Map<string, NameFilter>();
  calls = { getToken: 0, getCluster: 0, recordUse: 0, recordVerifier: 0, recordFloodWindow: 0, getNameFilter: 0 };
  failRecordFloodWindow: Error | undefined;
  failWith: Error | undefined;
  failRecordUse: Error | undefined;

  putToken(record: TokenRecord): this {
    this.tokens.set(`${record.clusterId}/${record.name}`, record);
    return this;
  }
  putCluster(record: ClusterRecord): this {
    this.clusters.set(record.clusterId, record);
    return this;
  }
  async getToken(clusterId: string, name: string) {
    this.calls.getToken += 1;
    if (this.failWith) throw this.failWith;
    return this.tokens.get(`${clusterId}/${name}`);
  }
  /**
   * Builds the cluster's name filter from the tokens it holds now, as sync would: tokens put afterwards
   * are not in it until the next `buildNameFilter` (a token created in Rancher before its sync).
   */
  buildNameFilter(clusterId: string, key: Buffer = Buffer.alloc(16, 7)): this {
    const names = [...this.tokens.values()].filter((token) => token.clusterId === clusterId).map((token) => token.name);
    this.nameFilters.set(clusterId, buildNameFilter(clusterId, key, names));
    return this;
  }
  async getNameFilter(clusterId: string) {
    this.calls.getNameFilter += 1;
    if (this.failWith) throw this.failWith;
    return this.nameFilters.get(clusterId);
  }
  async getCluster(clusterId: string) {
    this.calls.getCluster += 1;
    if (this.failWith) throw this.failWith;
    return this.clusters.get(clusterId);
  }
  async recordUse(clusterId: string, name: string, at: Date) {
    this.calls.recordUse += 1;
    if (this.failRecordUse) throw this.failRecordUse;
    this.uses.push({ clusterId, name, at });
  }

  async recordFloodWindow(window: FloodWindow, writer: string) {
    this.calls.recordFloodWindow += 1;
    if (this.failRecordFloodWindow) throw this.failRecordFloodWindow;
    this.floodWindows.push({ window, writer });
  }

  async recordVerifier(clusterId: string, name: string, verifier: SecretVerifier) {
    this.calls.recordVerifier += 1;
    if (this.failWith) throw this.failWith;
    const key = `${clusterId}/${name}`;
    const record = this.tokens.get(key);
    if (record) this.tokens.set(key, { ...record, verifier });
  }
}

/** A Rancher token record as sync would write it; override what a test is about. */
export function tokenRecord(overrides: Partial<TokenRecord> & { clusterId?: string; name?: string } = {}): TokenRecord {
  const clusterId = overrides.clusterId ?? 'c-abc12';
  const name = overrides.name ?? 'kubeconfig-u-alice';
  return {
    kind: 'token',
    clusterId,
    name,
    origin: 'rancher',
    userName: 'u-alice',
    enabled: true,
    expiresAt: '',
    hash: '$3:1:uFrxm43ggfw:zsN1zEFC7SvABTdR58o7yjIqfrI4cQ/HSYz3jBwwVnx5X+/ph4etGDIU9dvIYuy1IvnYUVe6a/Ar95xE+gfjhA',
    user: {
      enabled: true,
      groups: ['openldap_group://cn=admins,dc=example,dc=org'],
      extraByProvider: {
        openldap: { principalid: ['openldap_user://uid=alice,dc=example,dc=org'], username: ['alice'] },
      },
    },
    ...overrides,
  };
}

/** The secret that matches `tokenRecord()`'s default hash (Rancher's public "d" × 54 vector). */
export const DEFAULT_SECRET = 'd'.repeat(54);
