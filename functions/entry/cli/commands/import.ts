import type { Derivation } from '../../../core/mirror/derive.ts';
import type { MirrorPlan } from '../../../core/mirror/plan.ts';
import { importObjects } from '../../../services/admin/import-objects.ts';
import { flag, type Command } from '../lib/command.ts';
import { CliError } from '../lib/errors.ts';
import type { CliIo } from '../lib/io.ts';
import { classifyObjects, objectsOfFile, type FileObject } from '../lib/kube-files.ts';
import { clusterIdArgument, tableLocation, TABLE_OPTIONS } from '../lib/options.ts';
import { withTable } from '../../../adapters/dynamodb/table-access.ts';

export const importCommand: Command = {
  name: 'import',
  summary: "Import a cluster's Rancher ClusterAuthTokens, ClusterUserAttributes and hash Secrets from kubectl output.",
  description: [
    'Reads YAML or JSON as `kubectl get … -o yaml|json` prints it: single objects, List kinds, several',
    'documents. Other kinds are skipped with a warning. Everything is validated first: if any object is',
    'invalid, they are all reported by name and nothing is written. Objects are merged with the rows the',
    'cluster already has; with --prune, rows of Rancher objects that the files do not contain are removed.',
    'Native tokens and revocations are never touched. The cluster must be registered (clusters add).',
    'Give - to read standard input.',
  ].join('\n'),
  args: '<clusterId> <file>…',
  options: {
    prune: { type: 'boolean', description: 'remove rows of Rancher objects missing from the files' },
    'dry-run': { type: 'boolean', description: 'show what would change, write nothing' },
    ...TABLE_OPTIONS,
  },
  positionals: { min: 2, max: Number.POSITIVE_INFINITY },
  examples: [
    'kubectl get clusterauthtokens,clusteruserattributes,secrets -n cattle-system -o yaml > rancher.yaml',
    'tokengate import c-m-abc12xyz rancher.yaml --prune',
  ],
  async run(input, io) {
    const clusterId = clusterIdArgument(input.positionals[0]);
    const files = input.positionals.slice(1);
    const prune = flag(input, 'prune');
    const dryRun = flag(input, 'dry-run');

    const objects: FileObject[] = [];
    for (const file of files) objects.push(...objectsOfFile(await readFile(io, file), file));
    const classified = classifyObjects(objects);
    for (const skipped of classified.skipped) io.stderr(`warning: skipping ${skipped.description} (${skipped.file}): ${skipped.why}\n`);
    if (classified.otherSecrets > 0) {
      io.stderr(`skipping ${classified.otherSecrets} Secret${classified.otherSecrets === 1 ? '' : 's'} without data.hash (not token hashes)\n`);
    }
    for (const duplicate of classified.duplicates) io.stderr(`warning: ${duplicate} appears more than once; the last one counts\n`);
    if (classified.invalid.length > 0) {
      const lines = classified.invalid.map((bad) => `  ${bad.kind} ${bad.name} (${bad.file}): ${bad.problems.join('; ')}`);
      throw new CliError(`${classified.invalid.length} invalid object${classified.invalid.length === 1 ? '' : 's'}, nothing imported:\n${lines.join('\n')}`);
    }
    const { tokens, users, secrets } = classified.sources;
    if (tokens.length + users.length + secrets.length === 0 && !prune) {
      throw new CliError('the files contain no ClusterAuthToken, ClusterUserAttribute or hash Secret');
    }

    return withTable(tableLocation(input, io.env), async ({ store }) => {
      // as tokens create does: rows of an unregistered cluster would be invisible to clusters list
      if (!(await store.readCluster(clusterId))) throw new CliError(`cluster ${clusterId} is not registered (tokengate clusters add ${clusterId}); nothing imported`);
      const { derivation, plan, conflicts, warnings } = await importObjects(store, clusterId, classified.sources, { prune, dryRun });
      report(io, derivation, plan);
      const { created, updated, unchanged, deleted } = plan.counts;
      io.stdout(`${dryRun ? 'dry run, would have: ' : ''}created ${created}, updated ${updated}, unchanged ${unchanged}, deleted ${deleted}\n`);
      for (const warning of warnings) io.stderr(`warning: ${warning}\n`);
      if (conflicts === 0) return 0;
      io.stderr(
        `warning: ${conflicts} row${conflicts === 1 ? '' : 's'} changed while importing (a revoke, another import or sync) ` +
          'and kept their new state; run the import again to bring them up to date\n',
      );
      return 1;
    });
  },
};

async function readFile(io: CliIo, file: string): Promise<string> {
  try {
    return await io.readText(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message}`);
  }
}

function report(io: CliIo, derivation: Derivation, plan: MirrorPlan): void {
  const list = (names: string[]) => (names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', '));
  if (derivation.tokensWithoutUser.length > 0) {
    io.stderr(`warning: no ClusterUserAttribute for the user of ${list(derivation.tokensWithoutUser)}: refused until one is imported\n`);
  }
  if (derivation.tokensWithoutHash.length > 0) {
    io.stderr(`warning: no hash (on the token or in its Secret) for ${list(derivation.tokensWithoutHash)}: refused until one is imported\n`);
  }
  if (derivation.unreferencedSecrets.length > 0) {
    io.stderr(`skipping hash Secrets that no ClusterAuthToken is named after: ${list(derivation.unreferencedSecrets)}\n`);
  }
  if (plan.shadowedByNative.length > 0) {
    io.stderr(`warning: native tokens of the same name are kept, not overwritten: ${list(plan.shadowedByNative)}\n`);
  }
}
