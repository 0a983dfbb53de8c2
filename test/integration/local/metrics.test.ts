import { randomBytes } from 'node:crypto';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusMetrics } from '../../../functions/adapters/telemetry/prometheus.ts';
import { issueCredential } from '../../../functions/core/caller-credential.ts';
import { newCluster } from '../../../functions/core/records.ts';
import { silentLog } from '../../../functions/core/ports/telemetry.ts';
import { startLocalApi, type LocalApi } from '../../../functions/entry/local/stack.ts';

const review = (api: LocalApi, credential: string, token: string) =>
  fetch(`${api.apiUrl}/v1/clusters/c-metrics/authenticate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }),
  });

describe('GET /metrics of the local server', () => {
  let api: LocalApi;
  let credential: string;

  beforeAll(async () => {
    const metrics = prometheusMetrics();
    api = await startLocalApi({
      port: 0,
      tableName: 'tokengate',
      region: 'us-east-1',
      cacheTtlSeconds: 0,
      log: silentLog,
      metrics,
      routes: { '/metrics': () => metrics.exposition() },
    });
    const issued = await issueCredential(randomBytes, new Date());
    credential = issued.credential;
    await api.table.store.createCluster(newCluster('c-metrics', issued.record, new Date()));
  });

  afterAll(() => api?.close());

  it('answers Prometheus text that a parser reads, with the EMF names and dimensions of the reviews', async () => {
    for (const token of [`token-absent1:${'x'.repeat(54)}`, `token-absent2:${'x'.repeat(54)}`, 'not-a-rancher-token']) {
      expect((await review(api, credential, token)).status).toBe(200);
    }
    const response = await fetch(`${api.apiUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const families = parsePrometheusTextFormat(text);

    const reviews = families.find((family) => family.name === 'Reviews');
    expect(reviews?.type).toBe('COUNTER');
    const byOutcome = Object.fromEntries((reviews?.metrics ?? []).map((sample) => [sample.labels?.Outcome, Number(sample.value)]));
    expect(byOutcome).toMatchObject({ refused: 2, foreign: 1 });

    const latency = families.find((family) => family.name === 'ReviewLatency');
    expect(latency?.type).toBe('HISTOGRAM');
    // the parser folds a labelled histogram's samples into one, so its series are read from the text
    expect(text).toMatch(/^ReviewLatency_count\{Outcome="refused"\} 2$/m);
    expect(text).toMatch(/^ReviewLatency_bucket\{le="\+Inf",Outcome="refused"\} 2$/m);
  });

  it('leaves every other path to the handler', async () => {
    expect((await fetch(`${api.apiUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${api.apiUrl}/metrics/x`)).status).toBe(404);
  });
});
