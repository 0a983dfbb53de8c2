import { describe, expect, it } from 'vitest';
import { commandHelp, parseCommandArgs } from '../../../../functions/entry/cli/lib/command.ts';
import { UsageError } from '../../../../functions/entry/cli/lib/errors.ts';
import { findCommand, loadCommands } from '../../../../functions/entry/cli/main.ts';

const COMMANDS = await loadCommands();
import { durationSchema, formatDuration, tableLocation } from '../../../../functions/entry/cli/lib/options.ts';
import { runCli } from '../../../support/local-stack.ts';

const command = (name: string) => {
  const found = COMMANDS.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no command ${name}`);
  return found;
};

describe('command selection', () => {
  it('picks a two-word command and hands it the remaining arguments', () => {
    const found = findCommand(['clusters', 'rotate-credential', 'c-1', '--grace', '5m']);
    expect(found?.command.name).toBe('clusters rotate-credential');
    expect(found?.args).toEqual(['c-1', '--grace', '5m']);
  });

  it('has every command of issue 2', () => {
    expect(COMMANDS.map((candidate) => candidate.name)).toEqual(
      expect.arrayContaining([
        'clusters add', 'clusters list', 'clusters remove', 'clusters rotate-credential', 'import', 'review', 'serve',
        'table create', 'tokens create', 'tokens list', 'tokens revoke', 'webhook-config',
      ]),
    );
  });

  it('gives every command a distinct name', () => {
    const names = COMMANDS.map((candidate) => candidate.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('parseCommandArgs', () => {
  it('reads options and positionals', () => {
    const input = parseCommandArgs(command('tokens create'), ['c-1', '--user', 'alice', '--group', 'a', '--group', 'b']);
    expect(input).toEqual({ values: { user: 'alice', group: ['a', 'b'] }, positionals: ['c-1'] });
  });

  it('answers help for --help and -h, even with other arguments missing', () => {
    expect(parseCommandArgs(command('import'), ['--help'])).toBe('help');
    expect(parseCommandArgs(command('import'), ['-h'])).toBe('help');
  });

  it('refuses an unknown option, a missing argument and an extra one as usage errors', () => {
    expect(() => parseCommandArgs(command('clusters add'), ['c-1', '--colour'])).toThrow(new UsageError("unknown option '--colour'"));
    expect(() => parseCommandArgs(command('tokens revoke'), ['c-1'])).toThrow(/missing argument: expected <clusterId> <tokenName>/);
    expect(() => parseCommandArgs(command('clusters add'), ['c-1', 'c-2'])).toThrow(/unexpected argument "c-2"/);
    expect(() => parseCommandArgs(command('serve'), ['--port'])).toThrow(UsageError);
  });
});

describe('durations', () => {
  it.each([
    ['0', 0],
    ['45s', 45_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
  ])('reads %s', (text, ms) => {
    expect(durationSchema.parse(text)).toBe(ms);
    expect(durationSchema.parse(formatDuration(ms))).toBe(ms);
  });

  it.each(['', '1', '1x', '-1h', 'h', '1.5h', '20000d'])('refuses %j', (text) => {
    expect(durationSchema.safeParse(text).success).toBe(false);
  });
});

describe('tableLocation', () => {
  const input = (values: Record<string, string>) => ({ values, positionals: [] });

  it('prefers options over the environment over the defaults', () => {
    expect(tableLocation(input({}), {})).toEqual({ tableName: 'tokengate', region: 'us-east-1' });
    expect(tableLocation(input({}), { DYNAMODB_ENDPOINT: 'http://127.0.0.1:1', TABLE_NAME: 'env-table', AWS_REGION: 'eu-west-1' })).toEqual({
      tableName: 'env-table',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:1',
      localCredentials: true,
    });
    expect(
      tableLocation(input({ endpoint: 'http://127.0.0.1:2', table: 'opt-table', region: 'eu-central-1' }), {
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:1',
        TABLE_NAME: 'env-table',
        AWS_REGION: 'eu-west-1',
      }),
    ).toEqual({ tableName: 'opt-table', region: 'eu-central-1', endpoint: 'http://127.0.0.1:2', localCredentials: true });
  });

  it('signs a local endpoint with placeholder credentials only when no AWS credentials are configured', () => {
    const local = { DYNAMODB_ENDPOINT: 'http://127.0.0.1:1' };
    expect(tableLocation(input({}), local)).toMatchObject({ localCredentials: true });
    expect(tableLocation(input({}), { ...local, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE' })).not.toHaveProperty('localCredentials');
    expect(tableLocation(input({}), { ...local, AWS_PROFILE: 'dev' })).not.toHaveProperty('localCredentials');
    expect(tableLocation(input({}), {})).not.toHaveProperty('localCredentials');
  });

  it('ignores DYNAMODB_ENDPOINT when told to (serve starts its own store)', () => {
    expect(tableLocation(input({}), { DYNAMODB_ENDPOINT: 'http://127.0.0.1:1' }, false)).not.toHaveProperty('endpoint');
  });

  it('refuses an endpoint that is not an http(s) URL', () => {
    expect(() => tableLocation(input({ endpoint: 'localhost:8000' }), {})).toThrow(UsageError);
  });
});

describe('main', () => {
  it('prints the command list for --help (exit 0) and without a command (exit 2, on stderr)', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('clusters rotate-credential');
    const nothing = await runCli([]);
    expect(nothing.code).toBe(2);
    expect(nothing.stdout).toBe('');
    expect(nothing.stderr).toContain('Usage: tokengate <command>');
  });

  it.each(COMMANDS.map((candidate) => candidate.name))('has --help for %s, without touching any table', async (name) => {
    const result = await runCli([...name.split(' '), '--help'], { env: { DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: tokengate ${name}`);
    expect(result.stdout).toContain('--help');
    expect(result.stderr).toBe('');
  });

  it('explains an unknown command and an incomplete group with exit 2', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const group = await runCli(['tokens']);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('tokens revoke');
  });

  it('answers a bad cluster id with one message and a pointer to --help, before any table access', async () => {
    const result = await runCli(['clusters', 'add', 'C_Bad'], { env: { DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'tokengate clusters add: invalid cluster id "C_Bad": expected a lower-case DNS label of at most 63 characters, like c-m-abc12xyz or local\n' +
        "Run 'tokengate clusters add --help' for usage.\n",
    );
  });

  it.each([
    [['serve', '--port', '70000'], 'tokengate serve: --port: expected a port number from 0 to 65535'],
    [['serve', '--cache-ttl=-1'], 'tokengate serve: --cache-ttl: expected 0 to 3600 seconds'],
    [['serve', '--cache-ttl', '-1'], 'tokengate serve: --cache-ttl: expected 0 to 3600 seconds'],
    [['serve', '--host', '-x'], "tokengate serve: option '--host' argument is ambiguous; for a value starting with a dash write --host=-XYZ"],
    [['tokens', 'create', 'c-1', '--user', 'a', '--expires-in', '-5h'], 'tokengate tokens create: --expires-in: a lifetime cannot be negative; give e.g. 8h or 7d, or 0 for a token that never expires'],
    [['tokens', 'create', 'c-1', '--user', 'a', '--expires-in=-5h'], 'tokengate tokens create: --expires-in: a lifetime cannot be negative'],
    [['tokens', 'create', 'c-1', '--user', ''], 'tokengate tokens create: --user: must not be empty or blank\n'],
    [['tokens', 'create', 'c-1', '--user', 'alice', '--group', ' '], 'tokengate tokens create: --group: must not be empty or blank\n'],
    [['tokens', 'create', 'c-1'], 'tokengate tokens create: --user is required: the username the apiserver will see\n'],
    [['clusters', 'rotate-credential', 'c-1', '--grace', 'an hour'], 'tokengate clusters rotate-credential: --grace: expected a duration like 30s, 15m, 1h, 1h30m or 7d'],
    [['tokens', 'create', 'c-1', '--user', 'a', '--name', 'Bad:Name'], 'tokengate tokens create: --name: "Bad:Name" is not a valid token name'],
    [['tokens', 'list', 'c-1', '-o', 'xml'], 'tokengate tokens list: --output: expected one of table, wide, json, yaml, name'],
    [['completion', 'powershell'], 'tokengate completion: shell: expected one of bash, zsh, fish'],
  ])('refuses %j before doing anything', async (argv, message) => {
    const result = await runCli(argv, { env: { DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' } });
    expect(result.code).toBe(2);
    expect(result.stderr.startsWith(message)).toBe(true);
  });

  it('lists every option of a command in its help', () => {
    const help = commandHelp(command('serve'));
    for (const option of ['--host', '--port', '--dynamodb-port', '--cache-ttl', '--endpoint', '--table', '--region']) expect(help).toContain(option);
  });
});
