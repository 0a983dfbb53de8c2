/**
 * Errors a CLI user can cause. `describeError` (`describe-error.ts`, called by `main.ts`) is the one place that turns any error into
 * the message and exit code the user sees.
 */

/** The command line itself is wrong (unknown option, missing argument, bad value): exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command was understood but cannot be done (no such cluster, invalid import file…): exit 1. */
export class CliError extends Error {
  override name = 'CliError';
}
