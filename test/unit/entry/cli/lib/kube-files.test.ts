import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyObjects, objectsOfFile, UnreadableFileError } from '../../../../../functions/entry/cli/lib/kube-files.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../../fixtures/rancher/${name}`, import.meta.url), 'utf8');
const names = (objects: { object: unknown }[]) => objects.map(({ object }) => (object as { metadata: { name: string } }).metadata.name);

describe('objectsOfFile', () => {
  it('reads the items of a kubectl List', () => {
    expect(names(objectsOfFile(fixture('clusterauthtokens.yaml'), 'cats.yaml'))).toEqual([
      'kubeconfig-u-abc12xyz',
      'kubeconfig-user-gc4s9.c-cn2rq',
      'token-5hq2k',
    ]);
  });

  it('reads several YAML documents, and skips empty ones', () => {
    const text = '---\nkind: Secret\nmetadata: {name: a}\n---\n---\nkind: Secret\nmetadata: {name: b}\n...\n';
    expect(names(objectsOfFile(text, 'multi.yaml'))).toEqual(['a', 'b']);
  });

  it('reads kubectl -o json, a single object and a List', () => {
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'Secret', metadata: { name: 'a' } }] });
    expect(names(objectsOfFile(list, 'list.json'))).toEqual(['a']);
    expect(names(objectsOfFile(JSON.stringify({ kind: 'Secret', metadata: { name: 'b' } }), 'one.json'))).toEqual(['b']);
  });

  it("gives the items of a typed list the list's kind when they lack one, as API server lists do", () => {
    const text = JSON.stringify({
      apiVersion: 'cluster.cattle.io/v3',
      kind: 'ClusterAuthTokenList',
      items: [{ metadata: { name: 'kubeconfig-u-a' }, userName: 'u-a' }],
    });
    expect(objectsOfFile(text, 'typed.json')[0]?.object).toMatchObject({ kind: 'ClusterAuthToken', apiVersion: 'cluster.cattle.io/v3' });
  });

  it('refuses a file that is neither YAML nor JSON, naming it', () => {
    expect(() => objectsOfFile('{"kind": "Secret", ', 'broken.json')).toThrow(UnreadableFileError);
    expect(() => objectsOfFile('a: [b\n', 'broken.yaml')).toThrow(/^broken\.yaml: not YAML or JSON/);
  });
});

describe('classifyObjects', () => {
  const all = () =>
    ['clusterauthtokens.yaml', 'clusteruserattributes.yaml', 'secrets.yaml'].flatMap((file) => objectsOfFile(fixture(file), file));

  it("sorts real kubectl output into tokens, users and hash Secrets, passing over other Secrets", () => {
    const classified = classifyObjects(all());
    expect(classified.invalid).toEqual([]);
    expect(classified.skipped).toEqual([]);
    expect(classified.sources.tokens.map((token) => token.name)).toEqual(['kubeconfig-u-abc12xyz', 'kubeconfig-user-gc4s9.c-cn2rq', 'token-5hq2k']);
    expect(classified.sources.users.map((user) => user.name)).toEqual(['u-abc12xyz', 'user-gc4s9']);
    expect(classified.sources.secrets).toEqual([
      expect.objectContaining({ name: 'kubeconfig-user-gc4s9.c-cn2rq', hash: expect.stringMatching(/^\$3:1:GepdvExsvzA:/) }),
    ]);
    expect(classified.otherSecrets).toBe(1);
  });

  it('skips other kinds, look-alikes of another group and other namespaces, saying which and why', () => {
    const classified = classifyObjects([
      { file: 'f.yaml', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } } },
      { file: 'f.yaml', object: { apiVersion: 'management.cattle.io/v3', kind: 'ClusterAuthToken', metadata: { name: 't' } } },
      { file: 'f.yaml', object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kubeconfig-u-a', namespace: 'default' }, data: { hash: 'eA==' } } },
    ]);
    expect(classified.skipped).toEqual([
      { file: 'f.yaml', description: 'ConfigMap v1 cm', why: 'not a kind tokengate imports' },
      { file: 'f.yaml', description: 'ClusterAuthToken management.cattle.io/v3 t', why: 'not a kind tokengate imports' },
      { file: 'f.yaml', description: 'Secret v1 kubeconfig-u-a', why: 'namespace default, not cattle-system' },
    ]);
    expect(classified.sources).toEqual({ tokens: [], users: [], secrets: [] });
  });

  it('reports every invalid object by kind, name and file, without their values', () => {
    const classified = classifyObjects([
      { file: 'a.yaml', object: { apiVersion: 'cluster.cattle.io/v3', kind: 'ClusterAuthToken', metadata: { name: 'kubeconfig-u-a' }, userName: 'u-a', enabled: 'yes' } },
      { file: 'b.yaml', object: { apiVersion: 'cluster.cattle.io/v3', kind: 'ClusterUserAttribute', metadata: { name: 'u-a' }, groups: 'admins' } },
      { file: 'b.yaml', object: { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'kubeconfig-u-a' }, data: { hash: 'not base64!' } } },
    ]);
    expect(classified.invalid.map(({ kind, name, file }) => `${kind} ${name} ${file}`)).toEqual([
      'ClusterAuthToken kubeconfig-u-a a.yaml',
      'ClusterUserAttribute u-a b.yaml',
      'Secret kubeconfig-u-a b.yaml',
    ]);
    expect(classified.invalid[0]?.problems.join()).toContain('enabled');
    expect(JSON.stringify(classified.invalid)).not.toContain('not base64!');
  });

  it('notes names given twice', () => {
    const token = { apiVersion: 'cluster.cattle.io/v3', kind: 'ClusterAuthToken', metadata: { name: 'kubeconfig-u-a' }, userName: 'u-a', enabled: true };
    expect(classifyObjects([{ file: 'a', object: token }, { file: 'b', object: token }]).duplicates).toEqual(['ClusterAuthToken/kubeconfig-u-a']);
  });
});
