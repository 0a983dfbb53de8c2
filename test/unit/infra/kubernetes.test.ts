// infra/kubernetes/: the sync reader's RBAC objects and the apiserver-side configuration.
//
// `kubectl apply --dry-run=client` is not offline: it maps every manifest's apiVersion/kind to a REST
// resource through the server's discovery API and fetches the live object to compute the patch, so with
// no server it fails ("unable to recognize ... connection refused"). We give it a loopback stand-in that
// serves only discovery and answers 404 for objects ("would be created"). Schema validation needs the
// server's OpenAPI document, which only a real apiserver has, hence --validate=false; the checks below on
// the parsed objects cover what the schema would not (names, references, verbs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const dir = join(root, 'infra/kubernetes');

// --- a Kubernetes API server that knows discovery and nothing else -------------------------------------
const discovery: Record<string, Array<{ name: string; kind: string; namespaced: boolean }>> = {
  v1: [
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
    { name: 'secrets', kind: 'Secret', namespaced: true },
  ],
  'rbac.authorization.k8s.io/v1': [
    { name: 'roles', kind: 'Role', namespaced: true },
    { name: 'rolebindings', kind: 'RoleBinding', namespaced: true },
    { name: 'clusterroles', kind: 'ClusterRole', namespaced: false },
    { name: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
  ],
  // Rancher's local cluster: the provisioning Cluster of infra/kubernetes/apiserver/rancher-provisioned.yaml
  'provisioning.cattle.io/v1': [{ name: 'clusters', kind: 'Cluster', namespaced: true }],
};

function discoveryServer(requests: string[]): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(`${req.method} ${path}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const list = (groupVersion: string) => ({
      kind: 'APIResourceList', apiVersion: 'v1', groupVersion,
      resources: discovery[groupVersion]!.map((r) => ({
        name: r.name, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      })),
    });
    if (path === '/version') return send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0-discovery-only' });
    if (path === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    if (path === '/apis') {
      const groups = ['rbac.authorization.k8s.io', 'provisioning.cattle.io'].map((name) => {
        const gv = { groupVersion: `${name}/v1`, version: 'v1' };
        return { name, versions: [gv], preferredVersion: gv };
      });
      return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    if (path === '/api/v1') return send(200, list('v1'));
    if (path === '/apis/rbac.authorization.k8s.io/v1') return send(200, list('rbac.authorization.k8s.io/v1'));
    if (path === '/apis/provisioning.cattle.io/v1') return send(200, list('provisioning.cattle.io/v1'));
    return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${path} not found` });
  });
}

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; [k: string]: any };

let server: Server;
let work: string;
const requests: string[] = [];
let applied: K8sObject[] = [];
/** The objects of infra/kubernetes/rancher-reader.yaml (Rancher's local cluster), by their component label. */
let rancherObjects: K8sObject[] = [];
let appliedNames = '';
/** kubectl against the discovery-only stand-in (asynchronous: the stand-in lives in this process). */
let kubectl: (...args: string[]) => Promise<{ stdout: string }>;

beforeAll(async () => {
  server = discoveryServer(requests);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  work = mkdtempSync(join(tmpdir(), 'tokengate-kubectl-'));
  const kubeconfig = join(work, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config',
    `clusters: [{name: stub, cluster: {server: "http://127.0.0.1:${port}"}}]`,
    'users: [{name: nobody, user: {}}]',
    'contexts: [{name: stub, context: {cluster: stub, user: nobody}}]',
    'current-context: stub', '',
  ].join('\n'));
  // Execute asynchronously: the stand-in server lives in this process and must keep answering.
  kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout=10s', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: work }, timeout: 60_000,
  });
  appliedNames = (await kubectl('apply', '--dry-run=client', '--validate=false', '-f', dir, '-o', 'name')).stdout;
  const json = JSON.parse((await kubectl('apply', '--dry-run=client', '--validate=false', '-f', dir, '-o', 'json')).stdout);
  const all: K8sObject[] = json.kind === 'List' ? json.items : [json];
  const isRancher = (o: K8sObject) => /^rancher-/.test((o.metadata as { labels?: Record<string, string> }).labels?.['app.kubernetes.io/component'] ?? '');
  applied = all.filter((o) => !isRancher(o));
  rancherObjects = all.filter(isRancher);
}, 120_000);

afterAll(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('kubectl apply --dry-run=client -f infra/kubernetes/', () => {
  it('accepts every manifest and would create the sync reader ServiceAccount, Role, RoleBinding and token Secret', () => {
    expect(appliedNames.trim().split('\n').filter((name) => !name.includes('rancher')).sort()).toEqual([
      'role.rbac.authorization.k8s.io/tokengate-sync',
      'rolebinding.rbac.authorization.k8s.io/tokengate-sync',
      'secret/tokengate-sync-token',
      'serviceaccount/tokengate-sync',
    ]);
    expect(requests).toContain('GET /api/v1/namespaces/cattle-system/serviceaccounts/tokengate-sync');
  });

  it('puts everything in cattle-system, where Rancher keeps tokens, user attributes and hash Secrets', () => {
    for (const o of applied) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('cattle-system');
  });

  it('grants get/list/patch on tokens and user attributes, only get on secrets and the kube-api-auth DaemonSet, and nothing else', () => {
    const role = applied.find((o) => o.kind === 'Role')!;
    expect(role.rules).toEqual([
      { apiGroups: ['cluster.cattle.io'], resources: ['clusterauthtokens', 'clusteruserattributes'], verbs: ['get', 'list', 'patch'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['kube-api-auth'], verbs: ['get'] },
    ]);
    expect(applied.filter((o) => /Cluster(Role|RoleBinding)$/.test(o.kind))).toEqual([]);
  });

  it('binds the Role to the ServiceAccount and issues the token Secret for that ServiceAccount', () => {
    const sa = applied.find((o) => o.kind === 'ServiceAccount')!;
    const role = applied.find((o) => o.kind === 'Role')!;
    const binding = applied.find((o) => o.kind === 'RoleBinding')!;
    const secret = applied.find((o) => o.kind === 'Secret')!;
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'cattle-system' }]);
    expect(secret.type).toBe('kubernetes.io/service-account-token');
    expect(secret.metadata.annotations!['kubernetes.io/service-account.name']).toBe(sa.metadata.name);
    expect(sa.automountServiceAccountToken).toBe(false);
  });
});

describe('infra/kubernetes/rancher-reader.yaml (Rancher\'s local cluster)', () => {
  const byName = (kind: string, name: string) => rancherObjects.find((o) => o.kind === kind && o.metadata.name === name)!;

  it('reads tokens, users, user attributes and clusters cluster-wide, and Secrets only in cattle-tokens, never writing', () => {
    expect(byName('ClusterRole', 'tokengate-rancher-reader').rules).toEqual([
      { apiGroups: ['management.cattle.io'], resources: ['tokens', 'users', 'userattributes', 'clusters'], verbs: ['get', 'list', 'watch'] },
    ]);
    const role = byName('Role', 'tokengate-rancher-reader');
    expect(role.metadata.namespace).toBe('cattle-tokens');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }]);
  });

  it('keeps the write-back verbs in separate, removable objects bound to the same ServiceAccount', () => {
    expect(byName('ClusterRole', 'tokengate-rancher-writeback').rules).toEqual([{ apiGroups: ['management.cattle.io'], resources: ['tokens'], verbs: ['patch'] }]);
    expect(byName('Role', 'tokengate-rancher-writeback').rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['patch'] }]);
    for (const [kind, name] of [['ClusterRoleBinding', 'tokengate-rancher-writeback'], ['RoleBinding', 'tokengate-rancher-writeback'], ['ClusterRoleBinding', 'tokengate-rancher-reader'], ['RoleBinding', 'tokengate-rancher-reader']] as const) {
      expect(byName(kind, name).subjects).toEqual([{ kind: 'ServiceAccount', name: 'tokengate-rancher-reader', namespace: 'cattle-system' }]);
    }
    const readerVerbs = rancherObjects.filter((o) => /reader$/.test(o.metadata.name) && o.rules).flatMap((o) => o.rules.flatMap((r: { verbs: string[] }) => r.verbs));
    expect(readerVerbs).not.toContain('patch');
  });
});

describe('apiserver side (infra/kubernetes/apiserver/)', () => {
  const apiserverDir = join(dir, 'apiserver');
  const flags = {
    'authentication-token-webhook-config-file': '/etc/tokengate/webhook.kubeconfig',
    'authentication-token-webhook-version': 'v1',
    'authentication-token-webhook-cache-ttl': '10s',
  };
  const asFlags = (list: string[]) => Object.fromEntries(list.map((a) => a.split(/=(.*)/s).slice(0, 2)));

  it('is kept out of the directory kubectl applies (these are node files, not cluster objects)', () => {
    expect(readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f))).toEqual(['rancher-reader.yaml', 'sync-reader.yaml']);
  });

  it('RKE2: v1 webhook, 10s cache, and the webhook directory mounted into the static apiserver pod', () => {
    const c = parse(readFileSync(join(apiserverDir, 'rke2.yaml'), 'utf8'));
    expect(asFlags(c['kube-apiserver-arg+'])).toEqual(flags);
    expect(c['kube-apiserver-extra-mount+']).toEqual(['/etc/tokengate:/etc/tokengate:ro']);
  });

  it('k3s: the same flags; the in-process apiserver needs no mount', () => {
    const c = parse(readFileSync(join(apiserverDir, 'k3s.yaml'), 'utf8'));
    expect(asFlags(c['kube-apiserver-arg+'])).toEqual(flags);
    expect(Object.keys(c)).toEqual(['kube-apiserver-arg+']);
  });

  it('kubeadm: the same flags as extraArgs and a read-only hostPath volume', () => {
    const c = parse(readFileSync(join(apiserverDir, 'kubeadm.yaml'), 'utf8'));
    expect(c).toMatchObject({ apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'ClusterConfiguration' });
    expect(Object.fromEntries(c.apiServer.extraArgs.map((a: { name: string; value: string }) => [a.name, a.value]))).toEqual(flags);
    expect(c.apiServer.extraVolumes).toEqual([
      { name: 'tokengate', hostPath: '/etc/tokengate', mountPath: '/etc/tokengate', readOnly: true, pathType: 'Directory' },
    ]);
  });

  it('RKE2, k3s, kubeadm (registered clusters): keep ACE on in Rancher and use these flags instead of kube-api-auth', () => {
    for (const file of ['rke2.yaml', 'k3s.yaml', 'kubeadm.yaml']) {
      const text = readFileSync(join(apiserverDir, file), 'utf8');
      expect(text, file).toMatch(/REGISTERED in Rancher[\s\S]*"Authorized Endpoint" \(ACE\) ON/);
      expect(text, file).toMatch(/kube-api-auth[\s\S]*idle/);
      expect(text, file).not.toMatch(/turn off/i);
    }
  });

  describe('rancher-provisioned.yaml (a Rancher-provisioned cluster, ACE off)', () => {
    let objects: K8sObject[] = [];
    beforeAll(async () => {
      const json = JSON.parse((await kubectl('apply', '--dry-run=client', '--validate=false', '-f', join(apiserverDir, 'rancher-provisioned.yaml'), '-o', 'json')).stdout);
      objects = json.kind === 'List' ? json.items : [json];
    }, 60_000);
    const secret = () => objects.find((o) => o.kind === 'Secret')!;
    const cluster = () => objects.find((o) => o.kind === 'Cluster')!;

    it('kubectl accepts it: a Secret and a provisioning.cattle.io/v1 Cluster, both in fleet-default', () => {
      expect(objects.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace}`)).toEqual([
        'v1 Secret fleet-default',
        'provisioning.cattle.io/v1 Cluster fleet-default',
      ]);
      expect(requests.filter((r) => r.startsWith('GET /apis/provisioning.cattle.io/v1/namespaces/fleet-default/clusters/'))).not.toEqual([]);
    });

    it('turns ACE off, so the planner appends no webhook flag of its own after ours', () => {
      expect(cluster().spec.localClusterAuthEndpoint).toEqual({ enabled: false });
    });

    it('sets the flags in one machineSelectorConfig entry for control-plane machines (a later entry would replace the list)', () => {
      const entries = cluster().spec.rkeConfig.machineSelectorConfig;
      expect(entries).toHaveLength(1);
      expect(entries[0].machineLabelSelector).toEqual({ matchLabels: { 'rke.cattle.io/control-plane-role': 'true' } });
      expect(asFlags(entries[0].config['kube-apiserver-arg'])).toEqual(flags);
      expect(entries[0].config['kube-apiserver-extra-mount']).toEqual(['/etc/tokengate:/etc/tokengate:ro']);
    });

    it('delivers the webhook kubeconfig and the credential it names to the same machines, from a Secret authorized for the cluster', () => {
      const [files] = cluster().spec.rkeConfig.machineSelectorFiles;
      expect(files.machineLabelSelector).toEqual(cluster().spec.rkeConfig.machineSelectorConfig[0].machineLabelSelector);
      const source = files.fileSources[0].secret;
      expect(source.name).toBe(secret().metadata.name);
      expect(secret().metadata.annotations!['rke.cattle.io/object-authorized-for-clusters']).toBe(cluster().metadata.name);
      const paths = Object.fromEntries(source.items.map((item: { key: string; path: string; permissions: string }) => [item.key, item.path]));
      expect(paths).toEqual({ 'webhook.kubeconfig': flags['authentication-token-webhook-config-file'], credential: '/etc/tokengate/credential' });
      for (const item of source.items) expect(item.permissions).toBe('0600');
      expect(Object.keys(secret().stringData).sort()).toEqual(['credential', 'webhook.kubeconfig']);
      const webhook = parse(secret().stringData['webhook.kubeconfig']);
      expect(webhook.users[0].user).toEqual({ tokenFile: paths.credential });
      expect(webhook.clusters[0].cluster.server).toBe('<API_BASE_URL>/v1/clusters/<CLUSTER_ID>/authenticate');
    });
  });

  it('webhook kubeconfig: kubectl reads it, it posts to /v1/clusters/<id>/authenticate with a re-read credential file', async () => {
    const file = join(apiserverDir, 'webhook.kubeconfig');
    expect(parseAllDocuments(readFileSync(file, 'utf8'))).toHaveLength(1);
    const { stdout } = await run('kubectl', ['config', 'view', '--kubeconfig', file, '-o', 'json'], { env: { PATH: process.env.PATH ?? '', HOME: tmpdir() } });
    const cfg = JSON.parse(stdout);
    expect(cfg['current-context']).toBe('webhook');
    expect(cfg.clusters[0].cluster.server).toBe('<API_BASE_URL>/v1/clusters/<CLUSTER_ID>/authenticate');
    expect(cfg.users[0].user).toEqual({ tokenFile: '/etc/tokengate/credential' });
    expect(cfg.users[0].user.token).toBeUndefined();
  });
});
