import * as z from 'zod';
import { REFUSAL_MESSAGES, SILENT_REFUSALS, type RefusalReason } from '../../../core/review.ts';
import { explainReview, type NameFilterState, type ReviewExplanation } from '../../../services/review-token.ts';
import { flag, type Command } from '../lib/command.ts';
import { UsageError } from '../lib/errors.ts';
import { clusterIdArgument, OUTPUT_OPTION, outputFormat, tableLocation, TABLE_OPTIONS } from '../lib/options.ts';
import { formatJson, formatYaml } from '../lib/output.ts';
import { withTable } from '../../../adapters/dynamodb/table-access.ts';

const booleanText = z.enum(['true', 'false', '1', '0', 'yes', 'no']).catch('false');

/** What a refusal's reason means for the operator, where the webhook's short message says too little. */
const NOT_FOUND_DETAIL: Partial<Record<RefusalReason, string>> = {
  'name-unknown': "no such token (not in the cluster's name filter: the apiserver gets a silent refusal, which it caches)",
  'token-not-found':
    "no such token (its name is in the cluster's name filter but its row is gone: the apiserver gets status.error " +
    '"token not found" and asks again on the next use)',
  'token-not-found-unfiltered':
    'no such token (the cluster has no usable name filter, so the webhook reads unknown names within its budget: ' +
    'the apiserver gets status.error "token not found" and asks again on the next use)',
};

/** Why a cluster has no usable name filter. */
const FILTER_NOTES: Partial<Record<NameFilterState, string>> = {
  none: 'the cluster has no name filter yet: it gets one at its first sync or import',
  overflow: "the cluster's name filter holds more names than one row can: unknown names are read within the unknown-name budget",
  unreadable: "the cluster's name filter row cannot be read as one: unknown names are read within the unknown-name budget until a writer rebuilds it",
};

/** The review in words, for an operator asking why a token is refused. Never shows the token or its secret. */
export function describeReview(explanation: ReviewExplanation): string {
  const { decision } = explanation;
  switch (decision.outcome) {
    case 'accepted': {
      const { user } = decision;
      const lines = [`accepted: token ${decision.tokenName} authenticates as ${user.username}`];
      lines.push(`groups: ${user.groups.length > 0 ? user.groups.join(', ') : '(none)'}`);
      for (const [key, values] of Object.entries(user.extra)) lines.push(`extra ${key}: ${values.join(', ')}`);
      return `${lines.join('\n')}\n`;
    }
    case 'refused': {
      const detail = NOT_FOUND_DETAIL[decision.reason];
      const lines = [
        `refused: ${detail ?? REFUSAL_MESSAGES[decision.reason]} (${decision.reason}); token ${decision.tokenName}` +
          `${decision.userName ? `, user ${decision.userName}` : ''}`,
      ];
      const filterNote = decision.reason === 'token-not-found-unfiltered' && explanation.nameFilter !== undefined ? FILTER_NOTES[explanation.nameFilter] : undefined;
      if (filterNote) lines.push(`note: ${filterNote}`);
      if (explanation.rowOutsideFilter) {
        lines.push(
          `note: the table holds a row named ${decision.tokenName}, but the cluster's name filter lacks it: the webhook ` +
            'refuses the token unread until the filter holds the name again (the filter is behind the table: a defect to report)',
        );
      }
      return `${lines.join('\n')}\n`;
    }
    case 'foreign': {
      const sender = explanation.sender;
      const lines = [
        `foreign: not a Rancher token (${decision.foreign.kind}); the webhook refuses it silently (authenticated:false, ` +
          'no status.error), and the apiserver caches the refusal',
      ];
      if (sender) {
        lines.push(`sender: ${sender.workload}`, `kind: ${sender.kind}`);
        if (sender.podUid !== undefined) lines.push(`pod uid: ${sender.podUid}`);
        if (sender.node !== undefined) lines.push(`node: ${sender.node}`);
        if (sender.issuer !== undefined) lines.push(`issuer: ${sender.issuer}`);
        if (sender.subject !== undefined) lines.push(`subject: ${sender.subject}`);
        lines.push(`expires: ${sender.expiresAt !== undefined ? `${sender.expiresAt} (${sender.state})` : 'no exp'}`);
        lines.push(`likely: ${sender.likely}`);
      }
      return `${lines.join('\n')}\n`;
    }
  }
}

/**
 * The review as `-o json|yaml` print it: the same field names as `tokens list` (`userName`, `expiresAt` as
 * an ISO timestamp), the refusal's message next to its reason, and a foreign token's sender with the field
 * names of `tokengate floods`' offenders.
 */
export function reviewView(explanation: ReviewExplanation) {
  const { decision } = explanation;
  const filter = explanation.nameFilter !== undefined ? { nameFilter: explanation.nameFilter } : {};
  switch (decision.outcome) {
    case 'accepted':
      return {
        outcome: decision.outcome,
        tokenName: decision.tokenName,
        userName: decision.user.username,
        user: decision.user,
        ...(decision.expiresAtMs !== undefined ? { expiresAt: new Date(decision.expiresAtMs).toISOString() } : {}),
        ...filter,
      };
    case 'refused':
      return {
        outcome: decision.outcome,
        tokenName: decision.tokenName,
        ...(decision.userName !== undefined ? { userName: decision.userName } : {}),
        reason: decision.reason,
        message: REFUSAL_MESSAGES[decision.reason],
        silent: SILENT_REFUSALS.has(decision.reason),
        ...filter,
        ...(explanation.rowOutsideFilter ? { rowOutsideFilter: true } : {}),
      };
    case 'foreign':
      return { outcome: decision.outcome, tokenKind: decision.foreign.kind, silent: true, ...(explanation.sender ? { sender: explanation.sender } : {}) };
  }
}

export const reviewCommand: Command = {
  name: 'review',
  summary: 'Review a token against the table as the API would, and say why it is accepted or refused.',
  description:
    'Exit status 0 when accepted, 1 when refused or not a Rancher-shaped token. A foreign token (a\n' +
    'ServiceAccount or OIDC JWT, anything else) is named by its sender as tokengate floods names it; a name\n' +
    "the cluster's name filter lacks is refused as the webhook refuses it, silently. Give - as the token to\n" +
    'read it from standard input (keeps it out of the shell history and the process list). The caller\n' +
    'credential is not checked and no cache is involved.',
  args: '<clusterId> <token|->',
  options: {
    'allow-system-groups': { type: 'boolean', description: 'keep groups starting with system: (env ALLOW_SYSTEM_GROUPS)' },
    ...OUTPUT_OPTION,
    ...TABLE_OPTIONS,
  },
  positionals: { min: 2, max: 2 },
  examples: ['tokengate review c-m-abc12xyz - < token.txt', 'tokengate review c-m-abc12xyz kubeconfig-u-abc12xyz:xxxx…'],
  async run(input, io) {
    const clusterId = clusterIdArgument(input.positionals[0]);
    const given = input.positionals[1] as string;
    const token = given === '-' ? (await io.readText('-')).trim() : given;
    if (token === '') throw new UsageError('the token is empty');
    const format = outputFormat(input);
    const allowSystemGroups = flag(input, 'allow-system-groups') || ['true', '1', 'yes'].includes(booleanText.parse(io.env.ALLOW_SYSTEM_GROUPS));
    return withTable(tableLocation(input, io.env), async ({ store, reviews }) => {
      const explanation = await explainReview(reviews, clusterId, token, { now: io.now(), allowSystemGroups });
      const { decision } = explanation;
      if (decision.outcome !== 'foreign' && !(await store.readCluster(clusterId))) {
        io.stderr(`note: cluster ${clusterId} is not registered, so its apiservers cannot call the webhook yet\n`);
      }
      if (format === 'json') io.stdout(formatJson(reviewView(explanation)));
      else if (format === 'yaml') io.stdout(formatYaml(reviewView(explanation)));
      else if (format === 'name') io.stdout(decision.outcome === 'foreign' ? '' : `token/${decision.tokenName}\n`);
      else io.stdout(describeReview(explanation));
      return decision.outcome === 'accepted' ? 0 : 1;
    });
  },
};
