import { UnauthorizedError } from '../../core/errors.ts';

/**
 * The common names of an X.509 subject DN as API Gateway reports it (`CN=c-abc12,O=tokengate`, RFC 2253
 * order, or `/O=…/CN=…`). Escaped separators are not expected in cluster ids, which are DNS labels.
 */
export function commonNames(subjectDN: string): string[] {
  return subjectDN
    .split(/[,/+]/)
    .map((part) => part.trim())
    .map((part) => /^CN\s*=\s*(.*)$/i.exec(part)?.[1]?.trim())
    .filter((name): name is string => name !== undefined);
}

/**
 * With mutual TLS, API Gateway proves that the client certificate chains to the truststore, not that it
 * belongs to the cluster named in the path: that binding is ours. A request for cluster X must present a
 * certificate whose only common name is X, so one cluster's certificate cannot speak for another.
 */
export function checkClientCertificate(clusterId: string, subjectDN: string | undefined): void {
  if (subjectDN === undefined) throw new UnauthorizedError('client certificate required');
  const names = commonNames(subjectDN);
  if (names.length !== 1 || names[0] !== clusterId) {
    throw new UnauthorizedError('client certificate does not name this cluster');
  }
}
