import { z } from 'zod';
import { startLocalApi } from '../../local/stack.ts';
import type { AccessRecord } from '../../local/server.ts';
import { flag, parseValue, stringOption, type Command } from '../lib/command.ts';
import { portSchema, tableLocation, TABLE_OPTIONS } from '../lib/options.ts';
import { accessLine, TLS_OPTIONS, tlsOptions } from './serve-tls.ts';

const cacheTtlSchema = z.coerce
  .number({ error: 'expected whole seconds' })
  .int('expected whole seconds')
  .min(0, 'expected 0 to 3600 seconds')
  .max(3600, 'expected 0 to 3600 seconds');

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve the authenticate API locally, on an embedded in-memory DynamoDB unless --endpoint is given.',
  description: [
    'Runs the same handler as the Lambda behind a local HTTP server (API Gateway payload 2.0 events),',
    'creates the table if it is missing, and prints the API URL and the DynamoDB endpoint for the other',
    'commands. Only --endpoint selects an external DynamoDB: DYNAMODB_ENDPOINT is ignored here, so an',
    'endpoint exported from an earlier run never stops this one from starting its own. Other settings of',
    'the authenticate function (ALLOW_SYSTEM_GROUPS, LOG_LEVEL, …) are read from the environment.',
    'Stops on Ctrl-C (SIGINT) or SIGTERM; the embedded data is gone then.',
  ].join('\n'),
  args: '',
  options: {
    host: { type: 'string', value: 'HOST', description: 'interface of the API (default 127.0.0.1)' },
    port: { type: 'string', value: 'PORT', description: 'port of the API (default 8080; 0 = any free port)' },
    'dynamodb-port': { type: 'string', value: 'PORT', description: 'port of the embedded DynamoDB on 127.0.0.1 (default: a free port)' },
    'cache-ttl': { type: 'string', value: 'SECONDS', description: 'decision cache TTL (env CACHE_TTL_SECONDS; default 10; 0 disables)' },
    ...TABLE_OPTIONS,
    endpoint: { type: 'string', value: 'URL', description: 'use this DynamoDB instead of an embedded one' },
    ...TLS_OPTIONS,
    'access-log': { type: 'boolean', description: 'print one line per request on stderr: method, path?query, status, ms' },
  },
  positionals: { min: 0, max: 0 },
  examples: [
    'tokengate serve',
    'tokengate serve --port 9000 --cache-ttl 0',
    'tokengate serve --endpoint http://127.0.0.1:8000',
    'tokengate certs create --dir pki --client c-local && tokengate serve --tls-cert pki/server.pem --tls-key pki/server-key.pem --client-ca pki/ca.pem',
  ],
  async run(input, io) {
    const location = tableLocation(input, io.env, false);
    const host = stringOption(input, 'host') ?? '127.0.0.1';
    const port = parseValue(portSchema, stringOption(input, 'port') ?? '8080', '--port');
    const dynamoRaw = stringOption(input, 'dynamodb-port');
    const dynamoDbPort = dynamoRaw === undefined ? 0 : parseValue(portSchema, dynamoRaw, '--dynamodb-port');
    const cacheTtlSeconds = parseValue(cacheTtlSchema, stringOption(input, 'cache-ttl') ?? io.env.CACHE_TTL_SECONDS ?? '10', '--cache-ttl');

    const tls = await tlsOptions(input, io);
    const api = await startLocalApi({
      host,
      port,
      dynamoDbPort,
      ...(location.endpoint ? { endpoint: location.endpoint } : {}),
      tableName: location.tableName,
      region: location.region,
      cacheTtlSeconds,
      environment: io.env,
      ...(tls ? { tls } : {}),
      ...(flag(input, 'access-log') ? { onRequest: (record: AccessRecord) => io.stderr(accessLine(record)) } : {}),
      onHandlerError: (error) => io.stderr(`handler failed: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error'}\n`),
    });
    const exports = [`export DYNAMODB_ENDPOINT=${api.dynamoEndpoint}`];
    if (location.tableName !== 'tokengate') exports.push(`export TABLE_NAME=${location.tableName}`);
    io.stderr(
      [
        `tokengate API       ${api.apiUrl}`,
        `DynamoDB${api.embedded ? ' (embedded)' : '           '} ${api.dynamoEndpoint}  table ${location.tableName}`,
        `decision cache TTL  ${cacheTtlSeconds} s`,
        ...(tls ? [`TLS                 ${tls.clientCaPem !== undefined ? 'mutual: client certificates must chain to --client-ca and name the cluster (CN)' : 'server certificate only'}`] : []),
        '',
        'Next, in another shell:',
        ...exports.map((line) => `  ${line}`),
        '  npx tokengate clusters add c-local > credential.txt',
        '  kubectl get clusterauthtokens,clusteruserattributes,secrets -n cattle-system -o yaml > rancher.yaml',
        '  npx tokengate import c-local rancher.yaml          # or: npx tokengate tokens create c-local --user u-me',
        `  curl -s -H "Authorization: Bearer $(cat credential.txt)" -d '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"<name>:<secret>"}}' ${api.apiUrl}/v1/clusters/c-local/authenticate`,
        '',
        'Stop with Ctrl-C.',
        '',
      ].join('\n'),
    );
    const signal = await io.untilStopped();
    io.stderr(`${signal}: stopping\n`);
    await api.close();
    return 0;
  },
};
