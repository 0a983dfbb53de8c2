import { resolve } from 'node:path';
import * as z from 'zod';
import { DEFAULT_DYNAMODB_PORT } from '../../local/defaults.ts';
import type { AccessRecord } from '../../local/server.ts';
import { flag, parseValue, stringOption, type Command } from '../lib/command.ts';
import { UsageError } from '../lib/errors.ts';
import type { CliIo } from '../lib/io.ts';
import { portSchema, tableLocation, TABLE_OPTIONS } from '../lib/options.ts';
import { accessLine, TLS_OPTIONS, tlsOptions } from './serve-tls.ts';

const cacheTtlSchema = z.coerce
  .number({ error: 'expected whole seconds' })
  .int('expected whole seconds')
  .min(0, 'expected 0 to 3600 seconds')
  .max(3600, 'expected 0 to 3600 seconds');

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve the authenticate API locally, on an embedded DynamoDB unless --endpoint is given.',
  description: [
    'Runs the same handler as the Lambda behind a local HTTP server (API Gateway payload 2.0 events),',
    'creates the table if it is missing, and prints the API URL and the DynamoDB endpoint for the other',
    `commands. The embedded DynamoDB listens on 127.0.0.1:${DEFAULT_DYNAMODB_PORT} (DynamoDB Local's port) unless`,
    '--dynamodb-port says otherwise, so an exported DYNAMODB_ENDPOINT stays valid across restarts; its',
    'data lives in memory, or in --data-dir across restarts. Only --endpoint selects an external',
    'DynamoDB: DYNAMODB_ENDPOINT is ignored here. Other settings of the authenticate function',
    '(ALLOW_SYSTEM_GROUPS, LOG_LEVEL, …) are read from the environment. GET /metrics answers the',
    "API's metrics in Prometheus text format, under their CloudWatch (EMF) names and dimensions.",
    'Stops on Ctrl-C (SIGINT) or SIGTERM.',
  ].join('\n'),
  args: '',
  options: {
    host: { type: 'string', value: 'HOST', description: 'interface of the API (default 127.0.0.1)' },
    port: { type: 'string', value: 'PORT', description: 'port of the API (default 8080; 0 = any free port)' },
    'dynamodb-port': {
      type: 'string',
      value: 'PORT',
      description: `port of the embedded DynamoDB on 127.0.0.1 (default ${DEFAULT_DYNAMODB_PORT}; 0 = any free port)`,
    },
    'data-dir': { type: 'string', value: 'DIR', description: 'keep the embedded DynamoDB\'s data in DIR across restarts (default: in memory)' },
    'cache-ttl': { type: 'string', value: 'SECONDS', description: 'decision cache TTL (env CACHE_TTL_SECONDS; default 10; 0 disables)' },
    ...TABLE_OPTIONS,
    endpoint: { type: 'string', value: 'URL', description: 'use this DynamoDB instead of an embedded one' },
    ...TLS_OPTIONS,
    'access-log': { type: 'boolean', description: 'print one line per request on stderr: method, path?query, status, ms' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    'tokengate serve',
    'tokengate serve --data-dir ~/.local/share/tokengate',
    'tokengate serve --port 9000 --dynamodb-port 0 --cache-ttl 0',
    'tokengate serve --endpoint http://127.0.0.1:8000',
    'tokengate certs create --dir pki --client c-local && tokengate serve --tls-cert pki/server.pem --tls-key pki/server-key.pem --client-ca pki/ca.pem',
  ],
  async run(input, io) {
    const location = tableLocation(input, io.env, false);
    const host = stringOption(input, 'host') ?? '127.0.0.1';
    const port = parseValue(portSchema, stringOption(input, 'port') ?? '8080', '--port');
    const dynamoRaw = stringOption(input, 'dynamodb-port');
    const dynamoDbPort = parseValue(portSchema, dynamoRaw ?? String(DEFAULT_DYNAMODB_PORT), '--dynamodb-port');
    const dataRaw = stringOption(input, 'data-dir');
    if (dataRaw === '') throw new UsageError('--data-dir: expected a directory');
    const dataDir = dataRaw === undefined ? undefined : resolve(dataRaw);
    if (location.endpoint && (dataDir !== undefined || dynamoRaw !== undefined)) {
      throw new UsageError('--data-dir and --dynamodb-port are for the embedded DynamoDB; with --endpoint the data lives there');
    }
    const cacheTtlSeconds = parseValue(cacheTtlSchema, stringOption(input, 'cache-ttl') ?? io.env.CACHE_TTL_SECONDS ?? '10', '--cache-ttl');

    const tls = await tlsOptions(input, io);

    // loaded here, not at start-up: the other commands never need the handler, dynalite or prom-client
    const [{ startLocalApi }, { prometheusMetrics }] = await Promise.all([
      import('../../local/stack.ts'),
      import('../../../adapters/telemetry/prometheus.ts'),
    ]);
    const metrics = prometheusMetrics();
    const api = await startLocalApi({
      host,
      port,
      dynamoDbPort,
      ...(location.endpoint ? { endpoint: location.endpoint } : {}),
      ...(dataDir !== undefined ? { dataDir } : {}),
      tableName: location.tableName,
      region: location.region,
      cacheTtlSeconds,
      environment: io.env,
      metrics,
      routes: { '/metrics': () => metrics.exposition() },
      ...(tls ? { tls } : {}),
      ...(flag(input, 'access-log') ? { onRequest: (record: AccessRecord) => io.stderr(accessLine(record)) } : {}),
      onHandlerError: (error) => io.stderr(`handler failed: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error'}\n`),
    });
    const clusters = await api.table.store.listClusters();
    const tlsMode = tls ? (tls.clientCaPem !== undefined ? 'mutual: client certificates must chain to --client-ca and name the cluster (CN)' : 'server certificate only') : undefined;
    io.stderr(banner(io, { ...api, tableName: location.tableName, cacheTtlSeconds, dataDir, tlsMode, clusters: clusters.map((cluster) => cluster.clusterId) }));
    const signal = await io.untilStopped();
    io.stderr(`${signal}: stopping\n`);
    await api.close();
    return 0;
  },
};

interface BannerFacts {
  apiUrl: string;
  dynamoEndpoint: string;
  embedded: boolean;
  tableName: string;
  cacheTtlSeconds: number;
  dataDir: string | undefined;
  /** How TLS is set up, when it is. */
  tlsMode: string | undefined;
  clusters: string[];
}

/** What serve prints once it listens: where everything is, and the next commands for this table. */
function banner(io: CliIo, facts: BannerFacts): string {
  const exports = [`export DYNAMODB_ENDPOINT=${facts.dynamoEndpoint}`];
  if (facts.tableName !== 'tokengate') exports.push(`export TABLE_NAME=${facts.tableName}`);
  const storage = !facts.embedded ? '' : facts.dataDir ? `  data in ${facts.dataDir}` : '  in memory (gone on stop; keep it with --data-dir DIR)';
  const lines = [
    `tokengate API       ${facts.apiUrl}   (metrics: ${facts.apiUrl}/metrics)`,
    `DynamoDB${facts.embedded ? ' (embedded)' : '           '} ${facts.dynamoEndpoint}  table ${facts.tableName}${storage}`,
    `decision cache TTL  ${facts.cacheTtlSeconds} s`,
    ...(facts.tlsMode ? [`TLS                 ${facts.tlsMode}`] : []),
    '',
    'Next, in another shell:',
    ...exports.map((line) => `  ${line}`),
  ];
  const home = io.env.HOME ? '~' : '/tmp';
  if (facts.clusters.length === 0) {
    lines.push(
      `  npx tokengate clusters add c-local > ${home}/c-local.credential   # the webhook credential: keep it out of the repository`,
      '  kubectl get clusterauthtokens,clusteruserattributes,secrets -n cattle-system -o yaml > rancher.yaml',
      '  npx tokengate import c-local rancher.yaml          # or: npx tokengate tokens create c-local --user u-me',
    );
  } else {
    const shown = facts.clusters.slice(0, 5).join(', ') + (facts.clusters.length > 5 ? ` and ${facts.clusters.length - 5} more` : '');
    lines.push(
      `  npx tokengate clusters list                       # ${facts.clusters.length} registered: ${shown}`,
      `  npx tokengate tokens list ${facts.clusters[0]}`,
      `  npx tokengate review ${facts.clusters[0]} - < token.txt`,
    );
  }
  lines.push('', 'Stop with Ctrl-C.', '');
  return lines.join('\n');
}
