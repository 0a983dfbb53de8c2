// Issue 11, "Load on Rancher's local cluster": the test management apiserver filled with a fleet's tokens
// (v3 hashed, v3 login sessions, ext token Secrets), read by the product's management source adapter: a full
// listing (no stored state, or after 410 Gone), then the run after it when nothing changed (a watch from the
// stored versions). Bytes, objects and requests are counted by the server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileKubeconfigStore } from '../../functions/adapters/kubeconfig/kubeconfig-store.ts';
import { managementSourceOpener } from '../../functions/adapters/kubernetes/management-opener.ts';
import type { ManagementReadStats, ManagementState } from '../../functions/core/ports/management-source.ts';
import {
  extTokenSecret,
  managementCluster,
  rancherUser,
  startRancherManagementApiServer,
  userAttribute,
  v3Token,
} from '../../test/support/rancher-management-apiserver.ts';
import { failToStart, serveCommands } from '../lib/child.ts';
import { sha3Hash, rancherSecret } from '../lib/fixtures.ts';

export interface ManagementLoad {
  wallMs: number;
  served: { requests: number; bytes: number; objects: number };
  /** Requests, objects and bytes by resource. */
  byResource: Record<string, { requests: number; objects: number; bytes: number }>;
  stats: ManagementReadStats;
  tokensInState: number;
}

const tokenCount = Number(process.env.BENCH_MANAGEMENT_TOKENS ?? 50_000);
const clusterCount = 50;
const tokensPerUser = 10;

try {
  const rancher = await startRancherManagementApiServer();
  const users = Math.ceil(tokenCount / tokensPerUser);
  rancher.upsertAll('clusters', Array.from({ length: clusterCount }, (_, index) => managementCluster(`c-m-bench${index}`, false)));
  rancher.upsertAll('users', Array.from({ length: users }, (_, index) => rancherUser(`u-bench${index}`)));
  rancher.upsertAll(
    'userattributes',
    Array.from({ length: users }, (_, index) => userAttribute(`u-bench${index}`, { openldap: ['openldap_group://cn=developers,dc=example,dc=org', `openldap_group://cn=team${index % 20},dc=example,dc=org`] })),
  );
  // a fleet's mix: kubeconfig tokens scoped to a cluster, login sessions (unscoped), ext tokens
  const hash = sha3Hash(rancherSecret());
  for (let index = 0; index < tokenCount; index += 1) {
    const userId = `u-bench${index % users}`;
    const clusterName = `c-m-bench${index % clusterCount}`;
    if (index % 5 === 4) rancher.upsert('secrets', extTokenSecret({ name: `token-ext${index}`, userId, hash, cluster: clusterName }));
    else if (index % 5 === 3) rancher.upsert('tokens', v3Token({ name: `token-session${index}`, userId, token: hash, hashed: true, kind: 'session' }));
    else rancher.upsert('tokens', v3Token({ name: `kubeconfig-${userId}.${clusterName}-${index}`, userId, token: hash, hashed: true, clusterName }));
  }
  const directory = mkdtempSync(join(tmpdir(), 'tokengate-bench-rancher-'));
  process.on('exit', () => rmSync(directory, { recursive: true, force: true }));
  const kubeconfigPath = join(directory, 'rancher.kubeconfig');
  writeFileSync(kubeconfigPath, rancher.kubeconfig(), { mode: 0o600 });
  const open = managementSourceOpener([new FileKubeconfigStore()], { pageSize: 500, callTimeoutMs: 120_000 });
  const source = await open({ kind: 'rancher-source', access: { kind: 'file', path: kubeconfigPath }, writeBack: false, updatedAt: new Date().toISOString() }, AbortSignal.timeout(60_000));
  let state: ManagementState | undefined;

  serveCommands(
    { tokens: tokenCount, users, clusters: clusterCount },
    {
      /** One read as a sync run does it: from the state the previous read left (none: a full listing). */
      async read(payload: { fresh?: boolean }): Promise<ManagementLoad> {
        if (payload.fresh) state = undefined;
        rancher.resetLog();
        const began = performance.now();
        const read = await source.read(state, { signal: AbortSignal.timeout(120_000) });
        const wallMs = performance.now() - began;
        state = read.state;
        const byResource: ManagementLoad['byResource'] = {};
        for (const request of rancher.requests) {
          const entry = (byResource[request.resource ?? request.path] ??= { requests: 0, objects: 0, bytes: 0 });
          entry.requests += 1;
          entry.objects += request.objects;
          entry.bytes += request.bytes;
        }
        return { wallMs, served: rancher.served(), byResource, stats: read.stats, tokensInState: read.state.snapshot.tokens.length };
      },
    },
  );
} catch (error) {
  failToStart(error);
}
