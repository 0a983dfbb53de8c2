import * as z from 'zod';
import { REFUSAL_MESSAGES, type Decision } from '../../../core/review.ts';
import { reviewToken } from '../../../services/review-token.ts';
import { flag, type Command } from '../lib/command.ts';
import { UsageError } from '../lib/errors.ts';
import { clusterIdArgument, OUTPUT_OPTION, outputFormat, tableLocation, TABLE_OPTIONS } from '../lib/options.ts';
import { formatJson, formatYaml } from '../lib/output.ts';
import { withTable } from '../../../adapters/dynamodb/table-access.ts';

const booleanText = z.enum(['true', 'false', '1', '0', 'yes', 'no']).catch('false');

/** The decision in words, for an operator asking why a token is refused. Never shows the secret. */
export function describeDecision(decision: Decision): string {
  switch (decision.outcome) {
    case 'accepted': {
      const { user } = decision;
      const lines = [`accepted: token ${decision.tokenName} authenticates as ${user.username}`];
      lines.push(`groups: ${user.groups.length > 0 ? user.groups.join(', ') : '(none)'}`);
      for (const [key, values] of Object.entries(user.extra)) lines.push(`extra ${key}: ${values.join(', ')}`);
      return `${lines.join('\n')}\n`;
    }
    case 'refused':
      return (
        `refused: ${REFUSAL_MESSAGES[decision.reason]} (${decision.reason}); token ${decision.tokenName}` +
        `${decision.userName ? `, user ${decision.userName}` : ''}\n`
      );
    case 'foreign': {
      const { foreign } = decision;
      const claims = [foreign.issuer ? `iss ${foreign.issuer}` : '', foreign.subject ? `sub ${foreign.subject}` : ''].filter(Boolean);
      return (
        `foreign: not a Rancher token (${foreign.kind}${claims.length > 0 ? `; ${claims.join(', ')}` : ''}); ` +
        'the webhook refuses it silently (authenticated:false, no status.error)\n'
      );
    }
  }
}

/**
 * The decision as `-o json|yaml` print it: the same field names as `tokens list` (`userName`,
 * `expiresAt` as an ISO timestamp) and the refusal's message next to its reason.
 */
export function decisionView(decision: Decision) {
  switch (decision.outcome) {
    case 'accepted':
      return {
        outcome: decision.outcome,
        tokenName: decision.tokenName,
        userName: decision.user.username,
        user: decision.user,
        ...(decision.expiresAtMs !== undefined ? { expiresAt: new Date(decision.expiresAtMs).toISOString() } : {}),
      };
    case 'refused':
      return {
        outcome: decision.outcome,
        tokenName: decision.tokenName,
        ...(decision.userName !== undefined ? { userName: decision.userName } : {}),
        reason: decision.reason,
        message: REFUSAL_MESSAGES[decision.reason],
      };
    case 'foreign':
      return { outcome: decision.outcome, foreign: decision.foreign };
  }
}

export const reviewCommand: Command = {
  name: 'review',
  summary: 'Review a token against the table as the API would, and say why it is accepted or refused.',
  description:
    'Exit status 0 when accepted, 1 when refused or not a Rancher-shaped token. Give - as the token to\n' +
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
      const decision = await reviewToken(reviews, clusterId, token, { now: io.now(), allowSystemGroups });
      if (decision.outcome !== 'foreign' && !(await store.readCluster(clusterId))) {
        io.stderr(`note: cluster ${clusterId} is not registered, so its apiservers cannot call the webhook yet\n`);
      }
      if (format === 'json') io.stdout(formatJson(decisionView(decision)));
      else if (format === 'yaml') io.stdout(formatYaml(decisionView(decision)));
      else if (format === 'name') io.stdout(decision.outcome === 'foreign' ? '' : `token/${decision.tokenName}\n`);
      else io.stdout(describeDecision(decision));
      return decision.outcome === 'accepted' ? 0 : 1;
    });
  },
};
