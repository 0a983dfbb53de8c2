import type { ForeignToken, ForeignTokenKind, ServiceAccountWorkload } from './token-string.ts';

/**
 * The flood report's vocabulary: who sent the foreign tokens a cluster's apiserver passed on to the webhook,
 * named from their claims (never the token, never its signature), and how a window of them adds up. Pure:
 * the counting over windows is the authenticate service's, the storage the adapter's.
 */

/** What kind of sender an offender is, which decides what names it and what to do about it. */
export type OffenderKind = 'bound-serviceaccount' | 'legacy-serviceaccount' | 'serviceaccount' | 'oidc' | 'opaque';

/**
 * One sender of foreign tokens in a window: a pod's bound ServiceAccount token, a legacy Secret-based
 * token, an OIDC subject, or "not a JWT". `expired` counts the tokens whose `exp` had passed when they
 * arrived; `latestExpiresAt` is the latest `exp` seen.
 */
export interface FloodOffender extends ServiceAccountWorkload {
  kind: OffenderKind;
  /** How an operator reads it: `namespace/serviceaccount (pod …)`, `namespace/serviceaccount (secret …)`, `subject (issuer …)`. */
  workload: string;
  count: number;
  expired: number;
  latestExpiresAt?: string;
  issuer?: string;
  subject?: string;
}

/** One cluster's foreign tokens in one window, as logged and as stored (one row per container and window). */
export interface FloodWindow {
  clusterId: string;
  windowStart: string;
  windowEnd: string;
  total: number;
  /** Tokens by the shape `parseToken` gave them (`serviceaccount-jwt`, `jwt`, `opaque`). */
  byKind: Partial<Record<ForeignTokenKind, number>>;
  /** The top offenders, most tokens first. */
  offenders: FloodOffender[];
  /** Tokens of senders past the window's bound on distinct senders: counted in `total`, named nowhere. */
  untracked: number;
}

/** Whether an offender's tokens had expired when they arrived: what `expired` and `exp` say, nothing more. */
export type ExpiryState = 'expired' | 'unexpired' | 'mixed' | 'no-exp';

/** The key under which a token's sender is counted: two tokens of one pod (or Secret, or subject) share it. */
export function offenderKeyOf(offender: Pick<FloodOffender, 'kind' | 'namespace' | 'serviceAccount' | 'pod' | 'podUid' | 'secret' | 'issuer' | 'subject'>): string {
  // NUL is in no claim we keep that matters; at worst two senders' counts merge.
  switch (offender.kind) {
    case 'bound-serviceaccount':
      return `b\u0000${offender.namespace ?? ''}\u0000${offender.serviceAccount ?? ''}\u0000${offender.pod ?? ''}\u0000${offender.podUid ?? ''}`;
    case 'legacy-serviceaccount':
      return `l\u0000${offender.namespace ?? ''}\u0000${offender.serviceAccount ?? ''}\u0000${offender.secret ?? ''}`;
    case 'opaque':
      return 'o';
    default:
      return `j\u0000${offender.issuer ?? ''}\u0000${offender.subject ?? ''}`;
  }
}

/**
 * What kind of sender a foreign token comes from: a legacy Secret-based token names its Secret and carries
 * the legacy issuer `kubernetes/serviceaccount`; any other ServiceAccount token with `kubernetes.io` claims is
 * a TokenRequest token, bound to a pod when it names one.
 */
function offenderKindOf(token: ForeignToken): OffenderKind {
  if (token.kind === 'opaque') return 'opaque';
  const workload = token.workload;
  if (token.kind !== 'serviceaccount-jwt') return 'oidc';
  if (!workload) return 'serviceaccount';
  return workload.secret !== undefined || token.issuer === 'kubernetes/serviceaccount' ? 'legacy-serviceaccount' : 'bound-serviceaccount';
}

/** The key a foreign token's sender is counted under (`offenderKeyOf` of its `offenderOf`), without building the sender. */
export function tokenKeyOf(token: ForeignToken): string {
  // the hottest line of a flood: no intermediate object
  const workload = token.workload;
  return offenderKeyOf({
    kind: offenderKindOf(token),
    issuer: token.issuer,
    subject: token.subject,
    namespace: workload?.namespace,
    serviceAccount: workload?.serviceAccount,
    pod: workload?.pod,
    podUid: workload?.podUid,
    secret: workload?.secret,
  });
}

/** The sender a foreign token names, with a count of zero: its claims, never the token. */
export function offenderOf(token: ForeignToken): FloodOffender {
  const workload = token.workload;
  const kind = offenderKindOf(token);
  if (kind === 'opaque') return { kind: 'opaque', workload: 'not a JWT', count: 0, expired: 0 };
  const claims = { ...(token.issuer !== undefined ? { issuer: token.issuer } : {}), ...(token.subject !== undefined ? { subject: token.subject } : {}) };
  if ((kind === 'bound-serviceaccount' || kind === 'legacy-serviceaccount') && workload) {
    const account = `${workload.namespace ?? '?'}/${workload.serviceAccount ?? '?'}`;
    if (kind === 'legacy-serviceaccount') {
      return {
        kind: 'legacy-serviceaccount',
        workload: workload.secret !== undefined ? `${account} (secret ${workload.secret})` : account,
        count: 0,
        expired: 0,
        ...claims,
        ...workload,
      };
    }
    const pod = workload.pod !== undefined ? `${account} (pod ${workload.pod})` : `${account} (bound to no pod)`;
    return { kind: 'bound-serviceaccount', workload: pod, count: 0, expired: 0, ...claims, ...workload };
  }
  const subject = token.subject ?? '?';
  return {
    kind,
    workload: token.issuer !== undefined ? `${subject} (issuer ${token.issuer})` : subject,
    count: 0,
    expired: 0,
    ...claims,
  };
}

/** Adds one token, seen at `nowMs`, to its sender's tally (a new one when `offender` is undefined). */
export function countToken(offender: FloodOffender | undefined, token: ForeignToken, nowMs: number): FloodOffender {
  const counted = offender ?? offenderOf(token);
  counted.count += 1;
  const expiresAtMs = token.expiresAtMs;
  if (expiresAtMs !== undefined) {
    if (expiresAtMs <= nowMs) counted.expired += 1;
    // a sender repeats one token: format its exp only when a later one comes
    const latestMs = latestExpiries.get(counted);
    if ((latestMs === undefined || expiresAtMs > latestMs) && Math.abs(expiresAtMs) <= MAX_DATE_MS) {
      latestExpiries.set(counted, expiresAtMs);
      counted.latestExpiresAt = new Date(expiresAtMs).toISOString();
    }
  }
  return counted;
}

/** The latest `exp` of each sender being counted, in milliseconds (beside its ISO form, for cheap comparison). */
const latestExpiries = new WeakMap<FloodOffender, number>();
/** The largest time a Date holds. */
const MAX_DATE_MS = 8.64e15;

/** Whether an offender's tokens had expired: all of them, none, some, or they carry no `exp` (legacy tokens). */
export function expiryStateOf(offender: Pick<FloodOffender, 'count' | 'expired' | 'latestExpiresAt'>): ExpiryState {
  if (offender.latestExpiresAt === undefined) return 'no-exp';
  if (offender.expired >= offender.count) return 'expired';
  return offender.expired === 0 ? 'unexpired' : 'mixed';
}

/**
 * Why the cluster refused such tokens before asking the webhook, as far as the claims tell (we cannot see
 * the pod): the operator's first lead (docs/troubleshooting.md walks through each).
 */
export function likelyCauseOf(offender: Pick<FloodOffender, 'kind' | 'count' | 'expired' | 'latestExpiresAt'>): string {
  const state = expiryStateOf(offender);
  switch (offender.kind) {
    case 'bound-serviceaccount':
      if (state === 'expired') return 'token expired: the client keeps an old token instead of rereading its projected file, or the pod is gone and nothing refreshes it';
      return 'token unexpired yet refused: its pod or ServiceAccount was deleted (a copy of the token lives on), or it is another cluster\'s token';
    case 'legacy-serviceaccount':
      return 'legacy Secret token: its Secret or ServiceAccount was deleted or invalidated, or it is another cluster\'s token';
    case 'serviceaccount':
      return 'ServiceAccount token without kubernetes.io claims: another cluster\'s or an old issuer\'s token';
    case 'oidc':
      return state === 'expired' ? 'OIDC token expired: the client does not refresh it' : 'OIDC token of an issuer this cluster does not trust';
    default:
      return 'not a JWT: a misconfigured client, a cut token, or a scanner';
  }
}

/** A sender as a report shows it: its counts, what its `exp` claims say, and the likely cause to start from. */
export interface ReportedOffender extends FloodOffender {
  state: ExpiryState;
  likely: string;
}

/** The sender with its expiry state and likely cause: what the log line and `tokengate floods` show of it. */
export function reportedOffender(offender: FloodOffender): ReportedOffender {
  return { ...offender, state: expiryStateOf(offender), likely: likelyCauseOf(offender) };
}

/** Offenders named in a window's report and kept in its row. */
export const TOP_OFFENDERS = 10;

/**
 * Adds windows of one cluster up (the rows of several containers and windows): totals, kinds and each
 * sender's counts summed, the latest `exp` kept, the top `top` senders named, the rest counted untracked.
 */
export function mergeFloodWindows(windows: FloodWindow[], top = TOP_OFFENDERS): FloodWindow | undefined {
  const [firstWindow] = windows;
  if (!firstWindow) return undefined;
  const offenders = new Map<string, FloodOffender>();
  const byKind: FloodWindow['byKind'] = {};
  let total = 0;
  let windowStart = firstWindow.windowStart;
  let windowEnd = firstWindow.windowEnd;
  for (const window of windows) {
    total += window.total;
    if (window.windowStart < windowStart) windowStart = window.windowStart;
    if (window.windowEnd > windowEnd) windowEnd = window.windowEnd;
    for (const [kind, count] of Object.entries(window.byKind) as [ForeignTokenKind, number][]) byKind[kind] = (byKind[kind] ?? 0) + count;
    for (const offender of window.offenders) {
      const key = offenderKeyOf(offender);
      const known = offenders.get(key);
      if (!known) offenders.set(key, { ...offender });
      else {
        known.count += offender.count;
        known.expired += offender.expired;
        if (offender.latestExpiresAt !== undefined && (known.latestExpiresAt === undefined || offender.latestExpiresAt > known.latestExpiresAt)) {
          known.latestExpiresAt = offender.latestExpiresAt;
        }
      }
    }
  }
  const ranked = [...offenders.values()].sort((a, b) => b.count - a.count).slice(0, top);
  return {
    clusterId: firstWindow.clusterId,
    windowStart,
    windowEnd,
    total,
    byKind,
    offenders: ranked,
    untracked: total - ranked.reduce((sum, offender) => sum + offender.count, 0),
  };
}
