import { parseAllDocuments } from 'yaml';
import {
  parseClusterAuthToken,
  parseClusterUserAttribute,
  parseHashSecret,
  type RejectedObject,
} from '../../../adapters/kubernetes/rancher-objects.ts';
import type { MirrorSources } from '../../../core/mirror/derive.ts';

/** An object read from a file, with where it came from (for messages). */
export interface FileObject {
  file: string;
  object: unknown;
}

/** A file that is not YAML or JSON at all. */
export class UnreadableFileError extends Error {
  override name = 'UnreadableFileError';
}

/**
 * The Kubernetes objects in a file as `kubectl get … -o yaml|json` prints it: a single object, a
 * `kind: List`, a typed `*List` (whose items may omit kind and apiVersion, as the API server's own lists
 * do), or several YAML documents. JSON is read as the YAML it also is.
 */
export function objectsOfFile(text: string, file: string): FileObject[] {
  const documents = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(documents) ? documents : [documents];
  const objects: FileObject[] = [];
  for (const document of list) {
    const error = document.errors[0];
    if (error) throw new UnreadableFileError(`${file}: not YAML or JSON (${error.message.split('\n')[0]})`);
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    flatten(value, file, objects, undefined);
  }
  return objects;
}

function flatten(value: unknown, file: string, into: FileObject[], inherited: { kind: string; apiVersion?: string } | undefined): void {
  if (!isRecord(value)) {
    into.push({ file, object: value });
    return;
  }
  const object = inherited && value.kind === undefined ? { kind: inherited.kind, apiVersion: inherited.apiVersion, ...value } : value;
  const kind = typeof object.kind === 'string' ? object.kind : '';
  if (Array.isArray(object.items) && kind.endsWith('List')) {
    const itemKind = kind === 'List' ? undefined : { kind: kind.slice(0, -'List'.length), apiVersion: typeof object.apiVersion === 'string' ? object.apiVersion : undefined };
    for (const item of object.items) flatten(item, file, into, itemKind);
    return;
  }
  into.push({ file, object });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const RANCHER_GROUP_VERSION = 'cluster.cattle.io/v3';
const RANCHER_NAMESPACE = 'cattle-system';

export interface Classified {
  sources: MirrorSources;
  /** Objects that failed validation, by kind and name, with where they are wrong (never their values). */
  invalid: Array<RejectedObject & { kind: string; file: string }>;
  /** Objects of other kinds (or other namespaces), by `kind/name`: left out. */
  skipped: Array<{ file: string; description: string; why: string }>;
  /** Secrets that are not hash Secrets (no `data.hash`, not Opaque). */
  otherSecrets: number;
  /** Names given more than once for the same kind; the last one counts. */
  duplicates: string[];
}

/**
 * Sorts objects into the mirror's sources: ClusterAuthTokens, ClusterUserAttributes (group
 * `cluster.cattle.io/v3`) and hash Secrets (v1), validated with the sync's own parsers. Other kinds, and
 * objects of a namespace other than cattle-system, are skipped; invalid ones are collected by name.
 */
export function classifyObjects(objects: FileObject[]): Classified {
  const result: Classified = { sources: { tokens: [], users: [], secrets: [] }, invalid: [], skipped: [], otherSecrets: 0, duplicates: [] };
  const seen = new Set<string>();
  const noteName = (kind: string, name: string) => {
    const key = `${kind}/${name}`;
    if (seen.has(key)) result.duplicates.push(key);
    seen.add(key);
  };

  for (const { file, object } of objects) {
    if (!isRecord(object)) {
      result.skipped.push({ file, description: 'a value that is not an object', why: 'not a Kubernetes object' });
      continue;
    }
    const kind = typeof object.kind === 'string' ? object.kind : '';
    const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : undefined;
    const metadata = isRecord(object.metadata) ? object.metadata : {};
    const name = typeof metadata.name === 'string' ? metadata.name : '(unnamed)';
    const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
    const description = `${kind || '(no kind)'}${apiVersion ? ` ${apiVersion}` : ''} ${name}`;

    const expectedVersion = kind === 'Secret' ? 'v1' : RANCHER_GROUP_VERSION;
    const known = kind === 'ClusterAuthToken' || kind === 'ClusterUserAttribute' || kind === 'Secret';
    if (!known || (apiVersion !== undefined && apiVersion !== expectedVersion)) {
      result.skipped.push({ file, description, why: 'not a kind tokengate imports' });
      continue;
    }
    if (namespace !== undefined && namespace !== RANCHER_NAMESPACE) {
      result.skipped.push({ file, description, why: `namespace ${namespace}, not ${RANCHER_NAMESPACE}` });
      continue;
    }

    if (kind === 'ClusterAuthToken') {
      const parsed = parseClusterAuthToken(object);
      if (!parsed.ok) result.invalid.push({ ...parsed.rejected, kind, file });
      else {
        noteName(kind, parsed.value.name);
        result.sources.tokens.push(parsed.value);
      }
    } else if (kind === 'ClusterUserAttribute') {
      const parsed = parseClusterUserAttribute(object);
      if (!parsed.ok) result.invalid.push({ ...parsed.rejected, kind, file });
      else {
        noteName(kind, parsed.value.name);
        result.sources.users.push(parsed.value);
      }
    } else {
      const parsed = parseHashSecret(object);
      if (parsed === null) result.otherSecrets += 1;
      else if (!parsed.ok) result.invalid.push({ ...parsed.rejected, kind, file });
      else {
        noteName(kind, parsed.value.name);
        result.sources.secrets.push(parsed.value);
      }
    }
  }
  return result;
}
