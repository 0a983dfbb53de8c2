import { handlerFromEnvironment, type AuthenticateHandler } from '../authenticate/handler.ts';
import { openTable, type TableAccess } from '../../adapters/dynamodb/table-access.ts';
import { noMetrics, type Log, type MetricsSink } from '../../core/ports/telemetry.ts';
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '../../adapters/dynamodb/embedded.ts';
import { startLocalServer, type AccessRecord, type LocalServer, type LocalServerOptions } from './server.ts';
import type { LocalTlsOptions } from './tls.ts';

export interface LocalApiOptions {
  /** Interface of the API (and of the embedded DynamoDB); loopback by default. */
  host?: string;
  /** API port; 0 picks a free one. */
  port?: number;
  /** An existing DynamoDB to use; absent: start an embedded in-memory one. */
  endpoint?: string;
  /** Port of the embedded DynamoDB; 0 or absent picks a free one. */
  dynamoDbPort?: number;
  /** Where the embedded DynamoDB keeps its data across restarts; absent: in memory. */
  dataDir?: string;
  tableName: string;
  region: string;
  cacheTtlSeconds: number;
  /** Further authenticate settings (`authenticateConfigSchema` names), e.g. `ALLOW_SYSTEM_GROUPS`. */
  environment?: Record<string, string | undefined>;
  /** Absent: Powertools' JSON log, as in Lambda. */
  log?: Log;
  metrics?: MetricsSink;
  onHandlerError?: (error: unknown) => void;
  /** HTTPS; with a client CA also mutual TLS, which turns on the handler's CLIENT_CERT_REQUIRED check. */
  tls?: LocalTlsOptions;
  /** Told about each answered request (the local server's access log). */
  onRequest?: (record: AccessRecord) => void;
  /** Extra GET routes of the local server, by path (`tokengate serve` adds `/metrics`). */
  routes?: LocalServerOptions['routes'];
}

export interface LocalApi {
  /** Base URL of the API, e.g. `http://127.0.0.1:8080`. */
  apiUrl: string;
  /** The DynamoDB endpoint the API uses: give it to the CLI as `--endpoint` / `DYNAMODB_ENDPOINT`. */
  dynamoEndpoint: string;
  /** True when the DynamoDB is the embedded one (and goes away on close). */
  embedded: boolean;
  table: TableAccess;
  close(): Promise<void>;
}

/**
 * The whole local mode in one call: an embedded DynamoDB unless an endpoint is given, the table, and
 * the authenticate handler (the same code as the Lambda, configured through the same environment)
 * behind a local HTTP server. `tokengate serve` and the tests both start it.
 */
export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const host = options.host ?? '127.0.0.1';
  let embedded: EmbeddedDynamoDb | undefined;
  let table: TableAccess | undefined;
  let server: LocalServer | undefined;
  let handler: AuthenticateHandler | undefined;
  try {
    embedded = options.endpoint ? undefined : await startEmbeddedDynamoDb({
          host: loopbackFor(host),
          port: options.dynamoDbPort,
          ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
        });
    const endpoint = options.endpoint ?? (embedded as EmbeddedDynamoDb).endpoint;
    const credentials = options.environment ?? {};
    const localCredentials = credentials.AWS_ACCESS_KEY_ID === undefined && credentials.AWS_PROFILE === undefined;
    table = openTable({ endpoint, region: options.region, tableName: options.tableName, localCredentials });
    await table.ensureTable();
    handler = handlerFromEnvironment(
      {
        ...options.environment,
        TABLE_NAME: options.tableName,
        AWS_REGION: options.region,
        DYNAMODB_ENDPOINT: endpoint,
        CACHE_TTL_SECONDS: String(options.cacheTtlSeconds),
        ...(options.tls?.clientCaPem !== undefined ? { CLIENT_CERT_REQUIRED: 'true' } : {}),
      },
      // The process does not freeze between requests: the log lines of one event-loop turn go out in one write.
      { metrics: options.metrics ?? noMetrics, logLines: 'per-turn', ...(options.log ? { log: options.log } : {}) },
    );
    server = await startLocalServer({
      handler,
      host,
      port: options.port,
      onHandlerError: options.onHandlerError,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
      dynamoEndpoint: endpoint,
      ...(options.routes ? { routes: options.routes } : {}),
    });
  } catch (error) {
    await server?.close();
    table?.close();
    await embedded?.close();
    throw error;
  }
  const started = { server, table, embedded, handler: handler as AuthenticateHandler };
  const floodTimer = startFloodTimer(started.handler);
  return {
    apiUrl: started.server.url,
    dynamoEndpoint: started.embedded?.endpoint ?? (options.endpoint as string),
    embedded: started.embedded !== undefined,
    table: started.table,
    async close() {
      clearInterval(floodTimer);
      await started.server.close();
      // A flood still being counted is reported before the store goes: the window's last word.
      await started.handler.reportFloods?.(true);
      // Best-effort writes (lastUsedAt, flood rows) may still be in flight; the embedded store must outlive them.
      await started.handler.settle?.();
      started.table.close();
      await started.embedded?.close();
    },
  };
}

/**
 * Reports each flood window soon after it ends even when no request comes (a flood that stopped): four
 * checks per window, at most every 15 s. Unref'd, so it never keeps the process alive.
 */
function startFloodTimer(handler: AuthenticateHandler): NodeJS.Timeout | undefined {
  if (!handler.reportFloods || !handler.floodIntervalMs) return undefined;
  const report = handler.reportFloods;
  const everyMs = Math.max(100, Math.min(handler.floodIntervalMs / 4, 15_000));
  return setInterval(() => void report().catch(() => undefined), everyMs).unref();
}

/** The embedded DynamoDB has no authentication: never expose it beyond loopback, whatever the API binds. */
function loopbackFor(apiHost: string): string {
  return apiHost === '::1' || apiHost === '::' ? '::1' : '127.0.0.1';
}
