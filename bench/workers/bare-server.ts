// The HTTP baseline: a bare node:http server that reads the body, parses it and answers a constant
// TokenReview, the least any webhook can do per request.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { failToStart, serveCommands } from '../lib/child.ts';

try {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { apiVersion?: string };
      const body = JSON.stringify({
        apiVersion: review.apiVersion ?? 'authentication.k8s.io/v1beta1',
        kind: 'TokenReview',
        status: { authenticated: false },
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serveCommands({ port: (server.address() as AddressInfo).port }, {});
} catch (error) {
  failToStart(error);
}
