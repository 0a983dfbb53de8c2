import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openTable } from '../../../../functions/adapters/dynamodb/table-access.ts';
import { startEmbeddedDynamoDb } from '../../../../functions/adapters/dynamodb/embedded.ts';
import { startLocalApi } from '../../../../functions/entry/local/stack.ts';
import { silentLog } from '../../../../functions/core/ports/telemetry.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('startEmbeddedDynamoDb', () => {
  it('serves an in-memory DynamoDB on loopback whose tables are active at once, and frees its port on close', async () => {
    const port = await freePort();
    const db = await startEmbeddedDynamoDb({ port });
    expect(db.endpoint).toBe(`http://127.0.0.1:${port}`);
    const table = openTable({ endpoint: db.endpoint, region: 'us-east-1', tableName: 'tokengate', localCredentials: true });
    const started = performance.now();
    expect(await table.ensureTable()).toBe(true);
    expect(await table.ensureTable()).toBe(false);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(await table.store.listClusters()).toEqual([]);
    await db.close();
    table.close();
    expect(await canListen(port)).toBe(true);
  });

  it('keeps the data of separate instances apart', async () => {
    const [a, b] = await Promise.all([startEmbeddedDynamoDb(), startEmbeddedDynamoDb()]);
    const tableA = openTable({ endpoint: a.endpoint, region: 'us-east-1', tableName: 'tokengate', localCredentials: true });
    const tableB = openTable({ endpoint: b.endpoint, region: 'us-east-1', tableName: 'tokengate', localCredentials: true });
    await tableA.ensureTable();
    await expect(tableB.store.listClusters()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    tableA.close();
    tableB.close();
    await Promise.all([a.close(), b.close()]);
  });
});

describe('startLocalApi', () => {
  it('releases the embedded DynamoDB when the API port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const dynamoDbPort = await freePort();
    await expect(
      startLocalApi({ port: taken, dynamoDbPort, tableName: 'tokengate', region: 'us-east-1', cacheTtlSeconds: 0, log: silentLog }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(await canListen(dynamoDbPort)).toBe(true);
    await new Promise((resolve) => blocker.close(resolve));
  });
});
