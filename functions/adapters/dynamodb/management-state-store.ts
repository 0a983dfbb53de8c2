import { randomUUID } from 'node:crypto';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as z from 'zod';
import type { ManagementState, ManagementStateStore, ManagementVersions } from '../../core/ports/management-source.ts';
import type { RancherSourceRecord } from '../../core/records.ts';
import {
  managementStateChunkKey,
  managementStateHeadKey,
  RANCHER_PK,
  rancherSourceFromItem,
  rancherSourceItemOf,
  rancherSourceKey,
  type TableItem,
} from './rows.ts';
import type { TableOperations } from './table-operations.ts';

/** Bytes of gzip'd snapshot per item, well under DynamoDB's 400 KB item limit. */
const CHUNK_BYTES = 300 * 1024;

const headSchema = z.looseObject({
  versions: z.object({ tokens: z.string(), extTokens: z.string(), users: z.string(), userAttributes: z.string(), clusters: z.string() }),
  generation: z.string(),
  chunks: z.number().int().nonnegative(),
  digest: z.string(),
});

/**
 * The management source's registration and the state the sync keeps between runs (rows.ts, `RANCHER_PK`).
 * The snapshot holds hashes, never a plaintext (the adapter hashed those before they reached the domain).
 * Writing: new chunks first, then the head that names them, then the old generation's chunks are deleted, so a
 * reader sees the old or the new snapshot whole. A head whose chunks are missing or unreadable (two runs raced)
 * reads as no state: the next run lists Rancher in full, which is always safe. Only the head is written when the
 * snapshot is unchanged and only its versions moved (a watch bookmark).
 */
export class DynamoDbManagementStateStore implements ManagementStateStore {
  constructor(private readonly table: TableOperations) {}

  async readRancherSource(): Promise<RancherSourceRecord | undefined> {
    const item = await this.table.get(rancherSourceKey);
    return item === undefined ? undefined : rancherSourceFromItem(item);
  }

  async writeRancherSource(record: RancherSourceRecord): Promise<void> {
    await this.table.batchWrite([rancherSourceItemOf(record)], []);
  }

  async readManagementState(): Promise<ManagementState | undefined> {
    const rows = await this.table.queryPartition(RANCHER_PK);
    const headItem = rows.find((row) => row.sk === managementStateHeadKey.sk);
    const head = headItem === undefined ? undefined : headSchema.safeParse(headItem);
    if (head === undefined || !head.success) return undefined;
    const { generation, chunks, versions } = head.data;
    const parts: Buffer[] = [];
    for (let index = 0; index < chunks; index++) {
      const sk = managementStateChunkKey(generation, index).sk;
      const data = rows.find((row) => row.sk === sk)?.data;
      if (!(data instanceof Uint8Array)) return undefined;
      parts.push(Buffer.from(data));
    }
    try {
      const snapshot = JSON.parse(gunzipSync(Buffer.concat(parts)).toString('utf8')) as ManagementState['snapshot'];
      return { snapshot, versions: versions as ManagementVersions };
    } catch {
      return undefined;
    }
  }

  async writeManagementState(state: ManagementState): Promise<void> {
    const json = JSON.stringify(state.snapshot);
    const digest = createHash('sha256').update(json).digest('base64url');
    const rows = await this.table.queryPartition(RANCHER_PK, 'pk, sk, generation, chunks, digest, versions');
    const current = headSchema.safeParse(rows.find((row) => row.sk === managementStateHeadKey.sk) ?? {});
    if (current.success && current.data.digest === digest) {
      await this.table.batchWrite([{ ...managementStateHeadKey, ...current.data, versions: state.versions }], []);
      return;
    }
    const generation = randomUUID();
    const zipped = gzipSync(json);
    const chunks: TableItem[] = [];
    for (let offset = 0, index = 0; offset < zipped.length || index === 0; offset += CHUNK_BYTES, index++) {
      chunks.push({ ...managementStateChunkKey(generation, index), data: zipped.subarray(offset, offset + CHUNK_BYTES) });
    }
    await this.table.batchWrite(chunks, []);
    await this.table.batchWrite([{ ...managementStateHeadKey, versions: state.versions, generation, chunks: chunks.length, digest }], []);
    const stale = rows
      .map((row) => String(row.sk))
      .filter((sk) => sk.startsWith('STATE#') && !sk.startsWith(`STATE#${generation}#`))
      .map((sk) => ({ pk: RANCHER_PK, sk }));
    if (stale.length > 0) await this.table.batchWrite([], stale);
  }
}
