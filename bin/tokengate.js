#!/usr/bin/env node
// Launcher of the tokengate CLI: runs the TypeScript sources through tsx, so `npx tokengate` works right
// after `npm ci` without a build step.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every run that its 2027 releases will need Node 22; Node 20 is this project's
// supported local runtime (docs/reference.md, "Runtime facts"), and the warning would bury the CLI's own messages on stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../functions/entry/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
