import { randomBytes, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CertificateRequestError, issueCertificate } from '../../../../functions/adapters/tls/certificates.ts';
import { createLocalPki } from '../../../../functions/adapters/tls/local-pki.ts';

const notBefore = new Date('2026-12-01T00:00:00Z');
const notAfter = new Date('2026-12-31T00:00:00Z');

describe('issueCertificate', () => {
  const ca = issueCertificate({ usage: 'ca', commonName: 'test CA', organization: 'tokengate', notBefore, notAfter, serial: randomBytes(16) });

  it('makes a self-signed CA certificate', () => {
    const cert = new X509Certificate(ca.certificatePem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('O=tokengate\nCN=test CA');
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  it('makes a server certificate for DNS names and IPv4/IPv6 addresses, signed by the CA', () => {
    const server = issueCertificate({ usage: 'server', commonName: 'localhost', altNames: ['localhost', '127.0.0.1', '::1'], notBefore, notAfter, serial: randomBytes(16), issuer: ca });
    const cert = new X509Certificate(server.certificatePem);
    const caCert = new X509Certificate(ca.certificatePem);
    expect(cert.ca).toBe(false);
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.validFrom).toBe('Dec  1 00:00:00 2026 GMT');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
  });

  it('refuses a self-signed leaf and an inverted validity', () => {
    expect(() => issueCertificate({ usage: 'client', commonName: 'c-1', notBefore, notAfter, serial: randomBytes(16) })).toThrow(CertificateRequestError);
    expect(() => issueCertificate({ usage: 'ca', commonName: 'x', notBefore: notAfter, notAfter: notBefore, serial: randomBytes(16) })).toThrow(CertificateRequestError);
  });
});

describe('createLocalPki', () => {
  it('issues one client certificate per cluster id, CN = the id, for client authentication', () => {
    const files = createLocalPki({ serverNames: ['127.0.0.1'], clientIds: ['c-a', 'c-b'], validDays: 1, now: notBefore, randomBytes });
    expect(Object.keys(files).sort()).toEqual(
      ['ca-key.pem', 'ca.pem', 'client-c-a-key.pem', 'client-c-a.pem', 'client-c-b-key.pem', 'client-c-b.pem', 'server-key.pem', 'server.pem'].sort(),
    );
    const client = new X509Certificate(files['client-c-b.pem'] as string);
    expect(client.subject).toBe('O=tokengate\nCN=c-b');
    expect(client.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(client.checkIssued(new X509Certificate(files['ca.pem'] as string))).toBe(true);
  });
});
