import type { Command } from '../lib/command.ts';
import { tableLocation, TABLE_OPTIONS } from '../lib/options.ts';
import { withTable } from '../../../adapters/dynamodb/table-access.ts';

export const tableCreateCommand: Command = {
  name: 'table create',
  summary: 'Create the token table if it does not exist (idempotent) and wait until it is active.',
  description: 'In AWS the table normally comes with the deployment (infra/table.yml); this is for local DynamoDBs.',
  args: '',
  options: { ...TABLE_OPTIONS },
  positionals: { min: 0, max: 0 },
  async run(input, io) {
    const location = tableLocation(input, io.env);
    return withTable(location, async (table) => {
      const created = await table.ensureTable();
      io.stderr(created ? `created table ${location.tableName}\n` : `table ${location.tableName} already exists\n`);
      return 0;
    });
  },
};
