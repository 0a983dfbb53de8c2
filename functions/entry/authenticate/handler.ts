import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { parseConfig, tableClientOf } from '../config.ts';
import { authenticateConfigSchema, type AuthenticateConfig } from './config.ts';
import { createDocumentClient } from '../../adapters/dynamodb/client.ts';
import { DynamoDbReviewStore } from '../../adapters/dynamodb/review-store.ts';
import { TableOperations } from '../../adapters/dynamodb/table-operations.ts';
import { beginInvocation, powertoolsLog, powertoolsMetrics, type LogLines } from '../../adapters/telemetry/powertools.ts';
import { type Log, type MetricsSink } from '../../core/ports/telemetry.ts';
import type { TokenStore } from '../../core/ports/token-store.ts';
import type { FloodRecorder } from '../../core/ports/flood-store.ts';
import { parseTokenReview, tokenReviewReply } from './tokenreview.ts';
import { createAuthenticator, type Authenticator, type AuthenticatorOptions } from '../../services/authenticate/authenticator.ts';
import { checkClientCertificate } from './client-certificate.ts';
import { bodyOf, headerOf, jsonReply, routeOf, toErrorReply } from './http.ts';

export type AuthenticateHandler = ((event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>) & {
  /** Resolves once background best-effort writes have finished; the local server awaits it on close. */
  settle?: () => Promise<void>;
  /** Reports the flood windows that ended (every open one when `final`); the local server calls it on a timer and at shutdown. */
  reportFloods?: (final?: boolean) => Promise<void>;
  /** How often a flood window ends. */
  floodIntervalMs?: number;
};

export interface HandlerDeps {
  authenticator: Authenticator;
  log: Log;
  metrics: MetricsSink;
  /** Mutual TLS is on: the client certificate's subject must name the cluster in the path. */
  clientCertRequired?: boolean;
}

/**
 * The HTTP translation: route, parse, call the authenticator, format the TokenReview. Exported for tests
 * and for the local server, which feed it the same API Gateway payload-2.0 events Lambda does.
 */
export function makeHandler({ authenticator, log, metrics, clientCertRequired = false }: HandlerDeps): AuthenticateHandler {
  const handle: AuthenticateHandler = async (event) => {
    let clusterId: string | undefined;
    // Any invocation, health checks included, reports the flood windows that ended since the last one: Lambda
    // has no timers, and a flood that stops must still be reported. Awaited (within the write budget) below,
    // before the reply, as nothing runs in a frozen container.
    const floodsReported = authenticator.reportFloods();
    try {
      const route = routeOf(event);
      if (route.kind === 'health') return jsonReply(200, { status: 'ok' });
      clusterId = route.clusterId;
      const body = bodyOf(event);
      if (clientCertRequired) {
        checkClientCertificate(route.clusterId, event.requestContext.authentication?.clientCert?.subjectDN);
      }
      await authenticator.checkCaller(route.clusterId, headerOf(event, 'authorization'));
      const request = parseTokenReview(body);
      const decision = await authenticator.reviewToken(route.clusterId, request.token);
      return jsonReply(200, tokenReviewReply(request.apiVersion, decision));
    } catch (error) {
      if (clusterId !== undefined) metrics.count('Reviews', 1, { Outcome: 'error' });
      return toErrorReply(error, log, { clusterId, path: event.rawPath });
    } finally {
      await floodsReported;
      metrics.flush();
    }
  };
  handle.settle = () => authenticator.settle();
  handle.reportFloods = (final) => authenticator.reportFloods(final);
  handle.floodIntervalMs = authenticator.floodIntervalMs;
  return handle;
}

/** Maps the environment's configuration to the authenticator's options. */
export function authenticatorOptions(config: AuthenticateConfig): AuthenticatorOptions {
  return {
    cacheTtlSeconds: config.CACHE_TTL_SECONDS,
    cacheMaxEntries: config.CACHE_MAX_ENTRIES,
    allowSystemGroups: config.ALLOW_SYSTEM_GROUPS,
    lastUsedIntervalSeconds: config.LAST_USED_INTERVAL_SECONDS,
    foreignSummaryIntervalSeconds: config.FOREIGN_SUMMARY_INTERVAL_SECONDS,
    callerChecksPerSecond: config.CALLER_CHECKS_PER_SECOND,
    callerChecksPerSecondTotal: config.CALLER_CHECKS_PER_SECOND_TOTAL,
    unknownNameLookupsPerSecond: config.UNKNOWN_NAME_LOOKUPS_PER_SECOND,
    unknownNameLookupsPerSecondTotal: config.UNKNOWN_NAME_LOOKUPS_PER_SECOND_TOTAL,
    slowVerifiesPerTokenPerSecond: config.SLOW_VERIFIES_PER_TOKEN_PER_SECOND,
    hashConcurrency: config.HASH_CONCURRENCY,
    hashQueuePerCluster: config.HASH_QUEUE_PER_CLUSTER,
    usageWriteWaitMs: config.USAGE_WRITE_WAIT_MS,
  };
}

/** A timer that does not keep the process alive (a local server must be able to exit while one runs). */
function unrefSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Builds the real handler from an environment: one store, one log, one metrics sink, one cache. */
export function handlerFromEnvironment(
  env: Record<string, string | undefined>,
  overrides: { store?: TokenStore & FloodRecorder; log?: Log; metrics?: MetricsSink; logLines?: LogLines } = {},
): AuthenticateHandler {
  const config = parseConfig(authenticateConfigSchema, env);
  const log = overrides.log ?? powertoolsLog(config.POWERTOOLS_SERVICE_NAME, config.LOG_LEVEL, overrides.logLines);
  const metrics =
    overrides.metrics ??
    powertoolsMetrics({
      namespace: config.POWERTOOLS_METRICS_NAMESPACE,
      serviceName: config.POWERTOOLS_SERVICE_NAME,
      flushIntervalMs: config.METRICS_FLUSH_INTERVAL_SECONDS * 1000,
    });
  const store =
    overrides.store ??
    new DynamoDbReviewStore(
      new TableOperations(createDocumentClient(tableClientOf(config)), config.TABLE_NAME),
      config.STORE_DEADLINE_MS,
    );
  const authenticator = createAuthenticator({
    store,
    log,
    metrics,
    now: () => new Date(),
    elapsed: () => performance.now(),
    sleep: unrefSleep,
    randomBytes,
    options: authenticatorOptions(config),
  });
  return makeHandler({ authenticator, log, metrics, clientCertRequired: config.CLIENT_CERT_REQUIRED });
}

// Composition root: built once per container at cold start and reused by warm invocations. A bad
// environment throws here, listing every problem, so the function fails loudly on its first call.
let coldStartHandler: AuthenticateHandler | undefined;

/** The Lambda entry point; every log line carries the invocation's ids, correlated by API Gateway's request id. */
export const handler: AuthenticateHandler = (event, context?: Context) => {
  coldStartHandler ??= handlerFromEnvironment(process.env);
  beginInvocation(context, event.requestContext?.requestId);
  return coldStartHandler(event);
};
