import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import dynalite from 'dynalite';

export interface EmbeddedDynamoDbOptions {
  /** Interface to bind; loopback by default so the unauthenticated store is not reachable from outside. */
  host?: string;
  /** Port to listen on; 0 or absent picks a free one. */
  port?: number;
  /** A directory that keeps the data (LevelDB) across restarts; absent: in memory, gone on close. */
  dataDir?: string;
}

export interface EmbeddedDynamoDb {
  /** `http://127.0.0.1:<port>`: what `DYNAMODB_ENDPOINT` / `--endpoint` take. */
  endpoint: string;
  port: number;
  /** Stops listening, drops open connections, and discards the data (in memory) or closes its directory. */
  close(): Promise<void>;
}

/**
 * Starts an embedded DynamoDB (dynalite, pure Node) for `tokengate serve` and the tests: in memory, or
 * kept in `dataDir` (a LevelDB directory, created if missing; one process at a time). Tables become
 * ACTIVE at once. It lacks TransactWriteItems and UpdateTimeToLive (docs/reference.md, "Local DynamoDB"), which tokengate does not
 * need to work.
 */
export async function startEmbeddedDynamoDb(options: EmbeddedDynamoDbOptions = {}): Promise<EmbeddedDynamoDb> {
  const host = options.host ?? '127.0.0.1';
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.dataDir !== undefined ? { path: options.dataDir } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // SDK clients keep connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
