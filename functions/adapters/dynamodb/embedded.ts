import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

export interface EmbeddedDynamoDbOptions {
  /** Interface to bind; loopback by default so the unauthenticated store is not reachable from outside. */
  host?: string;
  /** Port to listen on; 0 or absent picks a free one. */
  port?: number;
}

export interface EmbeddedDynamoDb {
  /** `http://127.0.0.1:<port>`: what `DYNAMODB_ENDPOINT` / `--endpoint` take. */
  endpoint: string;
  port: number;
  /** Stops listening, drops open connections and discards the data. */
  close(): Promise<void>;
}

/**
 * Starts an in-memory DynamoDB (dynalite, pure Node) for `tokengate serve` and the tests. Tables become
 * ACTIVE at once. It lacks TransactWriteItems and UpdateTimeToLive (docs/reference.md, "Local DynamoDB"), which tokengate does not
 * need to work.
 */
export async function startEmbeddedDynamoDb(options: EmbeddedDynamoDbOptions = {}): Promise<EmbeddedDynamoDb> {
  const host = options.host ?? '127.0.0.1';
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
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
