import { issueCertificate, type IssuedCertificate } from './certificates.ts';

export interface LocalPkiRequest {
  /** Names the server certificate is valid for (DNS names or IP addresses). */
  serverNames: string[];
  /** Cluster ids to issue a client certificate for: CN = the id, as the mutual-TLS check expects. */
  clientIds: string[];
  validDays: number;
  now: Date;
  randomBytes(size: number): Buffer;
}

/** The files of a throwaway PKI, by file name, all PEM. */
export type LocalPkiFiles = Record<string, string>;

/** File names of a cluster's client certificate and key. */
export function clientFileNames(clusterId: string): { certificate: string; key: string } {
  return { certificate: `client-${clusterId}.pem`, key: `client-${clusterId}-key.pem` };
}

/**
 * A CA, a server certificate signed by it, and one client certificate per cluster id: what `tokengate
 * serve --tls-cert/--tls-key/--client-ca` and `tokengate webhook-config --certificate-authority
 * --client-certificate/--client-key` read. The CA key is kept so more client certificates can be added.
 */
export function createLocalPki(request: LocalPkiRequest): LocalPkiFiles {
  const notBefore = new Date(request.now.getTime() - 60_000); // tolerate a little clock skew
  const notAfter = new Date(request.now.getTime() + request.validDays * 86_400_000);
  const serial = () => request.randomBytes(16);
  const ca = issueCertificate({ usage: 'ca', commonName: 'tokengate local CA', organization: 'tokengate', notBefore, notAfter, serial: serial() });
  const server = issueCertificate({
    usage: 'server',
    commonName: request.serverNames[0] ?? 'localhost',
    altNames: request.serverNames,
    notBefore,
    notAfter,
    serial: serial(),
    issuer: ca,
  });
  const files: LocalPkiFiles = {
    'ca.pem': ca.certificatePem,
    'ca-key.pem': ca.keyPem,
    'server.pem': server.certificatePem,
    'server-key.pem': server.keyPem,
  };
  for (const clusterId of request.clientIds) {
    const client: IssuedCertificate = issueCertificate({
      usage: 'client',
      commonName: clusterId,
      organization: 'tokengate',
      notBefore,
      notAfter,
      serial: serial(),
      issuer: ca,
    });
    const names = clientFileNames(clusterId);
    files[names.certificate] = client.certificatePem;
    files[names.key] = client.keyPem;
  }
  return files;
}
