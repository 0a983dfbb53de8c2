// PLACEHOLDER written by the deploy engineer (issue 4) so that `npm run package` has an entry point
// for the sync function. The sync engineer replaces this file with the real handler.
import type { ScheduledHandler } from 'aws-lambda';

export const handler: ScheduledHandler = async () => {
  throw new Error('tokengate sync: placeholder handler, not implemented yet');
};
