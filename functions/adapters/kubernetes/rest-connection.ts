/**
 * From a kubeconfig to what a REST call's requests are sent with: the server URL of the chosen context, the
 * Authorization header and TLS material, and an HTTP agent.
 *
 * `@kubernetes/client-node` 1.4.x does the kubeconfig work: it parses the document and derives the TLS material
 * and the Authorization header for every auth method it supports (token, tokenFile, client certificates, exec
 * plugins). It stays on 1.4.x: 2.x needs Node 22, and the CLI supports Node 20 (package.json `engines`).
 */
import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { ClusterConfigError } from '../../core/ports/cluster-source.ts';

/** A parsed kubeconfig with its context chosen, and the URL of that context's server. */
export interface KubeconfigTarget {
  kubeConfig: KubeConfig;
  server: URL;
}

/** What one call's requests share: headers, agent, transport. `close()` drops the agent's connections. */
export interface Connection {
  headers: Record<string, string>;
  agent: http.Agent;
  transport: typeof https | typeof http;
  close(): void;
}

/**
 * Parses a kubeconfig and selects `context` (default: its current-context).
 * @throws ClusterConfigError when the document cannot be parsed, has no such context, or the context names no
 *   cluster with a server or no user. The message never quotes the document.
 */
export function loadKubeconfigTarget(clusterId: string, kubeconfig: string, context?: string): KubeconfigTarget {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromString(kubeconfig);
  } catch {
    // the parser's message can quote the offending line, which may hold the token
    throw new ClusterConfigError(clusterId, 'the kubeconfig cannot be parsed');
  }
  if (context !== undefined) {
    if (kubeConfig.getContextObject(context) === null) {
      throw new ClusterConfigError(clusterId, `the kubeconfig has no context ${JSON.stringify(context)}`);
    }
    kubeConfig.setCurrentContext(context);
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null || cluster.server === '') {
    throw new ClusterConfigError(clusterId, 'the kubeconfig context names no cluster with a server');
  }
  if (kubeConfig.getCurrentUser() === null) {
    throw new ClusterConfigError(clusterId, 'the kubeconfig context names no user');
  }
  try {
    return { kubeConfig, server: new URL(cluster.server) };
  } catch {
    throw new ClusterConfigError(clusterId, 'the kubeconfig server is not a URL');
  }
}

/**
 * Obtains the credentials (an exec plugin runs here, so a rotated token is picked up by the next call) and
 * builds a keep-alive agent of at most `maxSockets` connections, so that the requests of one call reuse them.
 * Through a proxy, or to a plain-HTTP server, the library's own agent is used instead.
 * @throws ClusterConfigError when the kubeconfig user yields no credentials.
 */
export async function openConnection(clusterId: string, target: KubeconfigTarget, maxSockets: number): Promise<Connection> {
  const options: https.RequestOptions = {};
  try {
    await target.kubeConfig.applyToHTTPSOptions(options);
  } catch {
    throw new ClusterConfigError(clusterId, 'could not obtain credentials from the kubeconfig user');
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.headers ?? {})) {
    if (typeof value === 'string' || typeof value === 'number') headers[key] = String(value);
  }
  if (typeof options.auth === 'string' && options.auth !== '') {
    headers.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
  }
  const plainHttp = target.server.protocol === 'http:';
  const libraryAgent = options.agent instanceof http.Agent ? options.agent : undefined;
  if (target.kubeConfig.getCurrentCluster()?.proxyUrl !== undefined || plainHttp) {
    if (libraryAgent === undefined) throw new ClusterConfigError(clusterId, 'the kubeconfig yields no HTTP agent');
    return { headers, agent: libraryAgent, transport: plainHttp ? http : https, close: () => libraryAgent.destroy() };
  }
  libraryAgent?.destroy();
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    ...(options.cert === undefined ? {} : { cert: options.cert }),
    ...(options.key === undefined ? {} : { key: options.key }),
    ...(options.pfx === undefined ? {} : { pfx: options.pfx }),
    ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
    ...(options.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: options.rejectUnauthorized }),
    ...(options.servername === undefined ? {} : { servername: options.servername }),
  });
  return { headers, agent, transport: https, close: () => agent.destroy() };
}
