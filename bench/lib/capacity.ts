import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Capacity units consumed, as DynamoDB reports them with `ReturnConsumedCapacity: TOTAL`. */
export interface Consumed {
  read: number;
  write: number;
  /** Calls by command (low-level names, e.g. QueryCommand), with their capacity. */
  byCommand: Record<string, { calls: number; units: number }>;
}

const READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand']);

/**
 * An SDK middleware on a document client that asks every call for its consumed capacity and adds it up,
 * so the product's own code paths are measured unchanged. `take()` returns the tally and starts a new one.
 */
export function meterCapacity(client: DynamoDBDocumentClient): { take(): Consumed } {
  let tally: Consumed = { read: 0, write: 0, byCommand: {} };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const output = await next(args);
      const name = String(context.commandName);
      const reported = (output.output as { ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> }).ConsumedCapacity;
      const units = (Array.isArray(reported) ? reported : reported ? [reported] : []).reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
      const entry = (tally.byCommand[name] ??= { calls: 0, units: 0 });
      entry.calls += 1;
      entry.units += units;
      if (READS.has(name)) tally.read += units;
      else tally.write += units;
      return output;
    },
    { step: 'initialize', name: 'benchConsumedCapacity', priority: 'low' },
  );
  return {
    take() {
      const taken = tally;
      tally = { read: 0, write: 0, byCommand: {} };
      return taken;
    },
  };
}
