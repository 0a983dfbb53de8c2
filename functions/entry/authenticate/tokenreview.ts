// zod/mini: the authenticate bundle carries no other zod (see adapters/dynamodb/rows.ts).
import * as z from 'zod/mini';
import { BadRequestError } from './http-errors.ts';
import { REFUSAL_MESSAGES, SILENT_REFUSALS, type Decision } from '../../core/review.ts';

export const TOKEN_REVIEW_VERSIONS = ['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1'] as const;
export type TokenReviewVersion = (typeof TOKEN_REVIEW_VERSIONS)[number];

const tokenReviewRequestSchema = z.object({
  apiVersion: z.optional(z.enum(TOKEN_REVIEW_VERSIONS)),
  kind: z.literal('TokenReview'),
  spec: z.object({
    token: z._default(z.string(), ''),
    audiences: z.optional(z.array(z.string())),
  }),
});

export interface TokenReviewRequest {
  apiVersion: TokenReviewVersion;
  token: string;
}

/**
 * Validates a TokenReview body as the apiserver sends it (docs/reference.md, "The webhook contract"). An absent apiVersion means v1beta1;
 * anything that is not JSON, not a TokenReview, or of another apiVersion is a `BadRequestError`.
 */
export function parseTokenReview(body: string): TokenReviewRequest {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new BadRequestError('body is not JSON');
  }
  const parsed = tokenReviewRequestSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new BadRequestError(`not a TokenReview of a supported apiVersion (${where})`);
  }
  return { apiVersion: parsed.data.apiVersion ?? 'authentication.k8s.io/v1beta1', token: parsed.data.spec.token };
}

/**
 * The TokenReview reply for a decision, in the request's apiVersion. Foreign tokens and names the cluster's
 * name filter rules out (`SILENT_REFUSALS`) get no
 * `status.error`, which keeps the refusal silent and cacheable on the apiserver; refusals of our own
 * tokens carry a short reason. `status.audiences` is left out so the apiserver assumes its own.
 */
export function tokenReviewReply(apiVersion: TokenReviewVersion, decision: Decision): object {
  const status =
    decision.outcome === 'accepted'
      ? {
          authenticated: true,
          user: {
            username: decision.user.username,
            uid: decision.user.uid,
            groups: decision.user.groups,
            ...(Object.keys(decision.user.extra).length > 0 ? { extra: decision.user.extra } : {}),
          },
        }
      : decision.outcome === 'refused' && !SILENT_REFUSALS.has(decision.reason)
        ? { authenticated: false, user: {}, error: REFUSAL_MESSAGES[decision.reason] }
        : { authenticated: false, user: {} };
  return { apiVersion, kind: 'TokenReview', metadata: { creationTimestamp: null }, spec: {}, status };
}
