// The downstream clusters of the sync scenario: one test Kubernetes API server per cluster (HTTPS,
// bearer auth, paged lists) in a process of their own, filled with Rancher-shaped objects.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clusterAuthToken,
  clusterUserAttribute,
  startKubeApiServer,
  type ObjectInput,
  type TestKubeApiServer,
} from '../../test/support/kube-apiserver.ts';
import { failToStart, serveCommands } from '../lib/child.ts';
import { rancherSecret, sha3Hash } from '../lib/fixtures.ts';

export interface KubeClustersReady {
  clusters: Array<{ clusterId: string; kubeconfigPath: string; tokens: number; users: number }>;
}

const clusterCount = Number(process.env.BENCH_CLUSTERS ?? 3);
const tokensPerCluster = Number(process.env.BENCH_TOKENS ?? 10_000);
const tokensPerUser = 10;

try {
  const directory = mkdtempSync(join(tmpdir(), 'tokengate-bench-kube-'));
  process.on('exit', () => rmSync(directory, { recursive: true, force: true }));
  const servers: TestKubeApiServer[] = [];
  const ready: KubeClustersReady = { clusters: [] };
  for (let index = 0; index < clusterCount; index += 1) {
    const clusterId = `c-bench${index}`;
    const server = await startKubeApiServer();
    servers.push(server);
    const userCount = Math.ceil(tokensPerCluster / tokensPerUser);
    const users: ObjectInput[] = Array.from({ length: userCount }, (_, user) =>
      clusterUserAttribute({
        name: `u-bench${user}`,
        groups: ['openldap_group://cn=developers,dc=example,dc=org', `openldap_group://cn=team${user % 20},dc=example,dc=org`],
        extraByProvider: {
          openldap: { principalid: [`openldap_user://uid=user${user},dc=example,dc=org`], username: [`user${user}`] },
        },
        lastRefresh: '2026-11-25T12:00:00Z',
      }),
    );
    // Rancher's default layout before 2.13: the SHA3 hash on the token itself.
    const tokens: ObjectInput[] = Array.from({ length: tokensPerCluster }, (_, token) =>
      clusterAuthToken({
        name: `kubeconfig-u-bench${token % userCount}.${clusterId}-${token}`,
        userName: `u-bench${token % userCount}`,
        hash: sha3Hash(rancherSecret()),
        ...(token % 4 === 0 ? { expiresAt: '2027-11-26T00:00:00Z' } : {}),
      }),
    );
    server.upsertAll('clusteruserattributes', users);
    server.upsertAll('clusterauthtokens', tokens);
    const kubeconfigPath = join(directory, `${clusterId}.kubeconfig`);
    writeFileSync(kubeconfigPath, server.kubeconfig(), { mode: 0o600 });
    ready.clusters.push({ clusterId, kubeconfigPath, tokens: tokens.length, users: users.length });
  }
  serveCommands(ready, {
    /** Requests each apiserver served since the last call, by verb. */
    async requests() {
      const counts = servers.map((server) => ({
        list: server.countRequests({ verb: 'list' }),
        get: server.countRequests({ verb: 'get' }),
        patch: server.countRequests({ verb: 'patch' }),
      }));
      for (const server of servers) server.resetLog();
      return counts;
    },
  });
} catch (error) {
  failToStart(error);
}
