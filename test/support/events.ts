import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** An API Gateway HTTP API (payload 2.0) event as Lambda receives it. */
export function httpEvent(options: {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'POST';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: options.path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', accept: 'application/json, */*', ...options.headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: options.path, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'kube-apiserver' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '26/Nov/2026:12:00:00 +0000',
      timeEpoch: 1_795_000_000_000,
    },
    body: options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}

/** A TokenReview body exactly as the apiserver sends it (docs/reference.md, "The webhook contract"). */
export function tokenReviewBody(token: string, apiVersion: string | undefined = 'authentication.k8s.io/v1beta1'): string {
  return JSON.stringify({
    ...(apiVersion ? { apiVersion } : {}),
    kind: 'TokenReview',
    metadata: { creationTimestamp: null },
    spec: { token, audiences: ['https://kubernetes.default.svc'] },
    status: { user: {} },
  });
}
