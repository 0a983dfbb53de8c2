import { X509Certificate } from 'node:crypto';
import type { ServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** HTTPS for the local server; with `clientCaPem`, mutual TLS as the API Gateway custom domain does it. */
export interface LocalTlsOptions {
  certificatePem: string;
  keyPem: string;
  /** The truststore: client certificates must chain to it. Absent: no client certificate is asked for. */
  clientCaPem?: string;
}

/**
 * What API Gateway puts in `requestContext.authentication.clientCert` of a payload-2.0 event for a client
 * certificate it verified against the truststore.
 */
export interface GatewayClientCert {
  clientCertPem: string;
  subjectDN: string;
  issuerDN: string;
  serialNumber: string;
  validity: { notBefore: string; notAfter: string };
}

/** The verdict on a request's TLS client certificate. */
export type ClientCertCheck = { kind: 'not-required' } | { kind: 'verified'; clientCert: GatewayClientCert } | { kind: 'forbidden' };

/**
 * `https.createServer` options: the client certificate is requested but not enforced by the handshake, so
 * that a missing or untrusted one is answered 403 like API Gateway does, instead of a TLS alert.
 */
export function httpsServerOptions(tls: LocalTlsOptions): ServerOptions {
  return {
    cert: tls.certificatePem,
    key: tls.keyPem,
    ...(tls.clientCaPem !== undefined ? { ca: tls.clientCaPem, requestCert: true, rejectUnauthorized: false } : {}),
  };
}

/**
 * Checks the client certificate of a request's connection the way an API Gateway custom domain with
 * mutual TLS does: it must be present and chain to the truststore, else the request is refused with 403
 * before any handler runs. A verified certificate is described as API Gateway describes it to Lambda.
 */
export function checkClientCert(socket: Socket, tls: LocalTlsOptions | undefined): ClientCertCheck {
  if (tls?.clientCaPem === undefined) return { kind: 'not-required' };
  const tlsSocket = socket as TLSSocket;
  if (!tlsSocket.authorized) return { kind: 'forbidden' };
  const peer = tlsSocket.getPeerX509Certificate?.();
  if (peer === undefined) return { kind: 'forbidden' };
  return { kind: 'verified', clientCert: gatewayClientCert(peer) };
}

/** API Gateway's description of a certificate: DNs in RFC 2253 order (`CN=c-1,O=tokengate`), dates as ISO. */
export function gatewayClientCert(certificate: X509Certificate): GatewayClientCert {
  return {
    clientCertPem: certificate.toString(),
    subjectDN: rfc2253(certificate.subject),
    issuerDN: rfc2253(certificate.issuer),
    serialNumber: certificate.serialNumber.toUpperCase(),
    validity: { notBefore: new Date(certificate.validFrom).toISOString(), notAfter: new Date(certificate.validTo).toISOString() },
  };
}

/** Node prints a DN one attribute per line, most significant first; RFC 2253 lists them the other way round. */
function rfc2253(nodeDn: string): string {
  return nodeDn
    .split('\n')
    .filter(Boolean)
    .reverse()
    .map((attribute) => {
      const equals = attribute.indexOf('=');
      const value = attribute.slice(equals + 1).replace(/([,+"\\<>;])/g, '\\$1');
      return `${attribute.slice(0, equals)}=${value}`;
    })
    .join(',');
}
