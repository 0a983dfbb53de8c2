import { describe, expect, it } from 'vitest';
import { errorBody } from '../../../../functions/entry/authenticate/error-body.ts';

describe('errorBody', () => {
  it('is a metav1.Status the webhook client decodes, so the apiserver logs our message', () => {
    expect(errorBody(401, 'unknown cluster or wrong caller credential')).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'unknown cluster or wrong caller credential',
      reason: 'Unauthorized',
      code: 401,
      error: { code: 401, message: 'unknown cluster or wrong caller credential' },
    });
  });

  it('gives a 500 the InternalError reason, which the client retries, and no 4xx a retried reason', () => {
    expect(errorBody(500, 'token store unavailable').reason).toBe('InternalError');
    for (const code of [400, 401, 403, 404, 405, 413]) {
      expect(['InternalError', 'ServerTimeout', 'Timeout', 'TooManyRequests']).not.toContain(errorBody(code, 'x').reason);
    }
  });
});
