import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClusterListingError } from '../../../../functions/core/ports/cluster-source.ts';
import { createKubernetesClusterSource } from '../../../../functions/adapters/kubernetes/downstream-source.ts';
import { hashSecret, startKubeApiServer, type TestKubeApiServer } from '../../../support/kube-apiserver.ts';

// The source's whole contract is tested in test/integration/sync/kubernetes-cluster-source.test.ts; these are the
// guarantees of readHashSecrets' parallel GETs.

const HASH = '$3:1:GepdvExsvzA:JXMHpXDZqtU5zNh5y5HB8KmLKbHc2VdeuxQo6CTlLhyNifaYhJTnb+4Rf+xpnbsfd8tIlQ0ZgIi2edJrm9CpoA';
const NAMES = Array.from({ length: 20 }, (_, i) => `kubeconfig-u-p${String(i).padStart(2, '0')}`);
const SECRET_GET = /^GET \/api\/v1\/namespaces\/cattle-system\/secrets\//;

let server: TestKubeApiServer;

beforeAll(async () => {
  server = await startKubeApiServer();
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.clear();
  server.clearFaults();
  server.upsertAll('secrets', NAMES.map((name) => hashSecret(name, HASH)));
  server.resetLog();
});

const source = (secretReadConcurrency: number) =>
  createKubernetesClusterSource({ clusterId: 'c-par', kubeconfig: server.kubeconfig(), retryBaseDelayMs: 5, secretReadConcurrency });

describe('readHashSecrets', () => {
  it('keeps at most secretReadConcurrency GETs in flight', async () => {
    server.delayNext(1_000, { match: SECRET_GET, times: 4 });

    const reading = source(4).readHashSecrets(NAMES);
    await server.waitForRequest((r) => r.resource === 'secrets' && server.countRequests({ resource: 'secrets' }) >= 4);
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(server.countRequests({ resource: 'secrets' })).toBe(4);
    await expect(reading).resolves.toMatchObject({ missing: [], rejected: [] });
    expect(server.countRequests({ resource: 'secrets', status: 200 })).toBe(NAMES.length);
  });

  it('stops the other reads at the first failure: those in flight are aborted, the queued ones never sent', async () => {
    server.failNext({ match: `secrets/${NAMES[0]}`, status: 409 });
    server.delayNext(5_000, { match: SECRET_GET, times: Infinity });
    const started = performance.now();

    const error = await source(2).readHashSecrets(NAMES).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );

    expect(error).toBeInstanceOf(ClusterListingError);
    expect((error as ClusterListingError).status).toBe(409);
    expect(performance.now() - started).toBeLessThan(4_000);
    const sent = server.requests.map((r) => r.name);
    expect(sent).toContain(NAMES[0]);
    expect(sent.length).toBeLessThanOrEqual(2);
  });
});
