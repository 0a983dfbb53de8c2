import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Throwaway X.509 certificates for local mode and tests: a CA, a server certificate for loopback names and
 * client certificates whose CN is a cluster id (what the mutual-TLS check binds to the path). Node has no
 * certificate builder, so this writes the few DER structures RFC 5280 needs by hand: ECDSA P-256 keys,
 * SHA-256 signatures, basicConstraints, keyUsage, extKeyUsage, subjectAltName and key identifiers, enough
 * for Go's crypto/x509 and Node's TLS to verify the chain. Never used by the Lambda bundle.
 */

/** What a certificate is for: it decides basicConstraints, keyUsage and extKeyUsage. */
export type CertificateUsage = 'ca' | 'server' | 'client';

export interface CertificateRequest {
  usage: CertificateUsage;
  commonName: string;
  organization?: string;
  /** Subject alternative names: DNS names and IP addresses (both forms are told apart by `net.isIP`). */
  altNames?: string[];
  notBefore: Date;
  notAfter: Date;
  /** The issuing CA; absent: self-signed (only for `usage: 'ca'`). */
  issuer?: IssuedCertificate;
  /** Serial number bytes; the first bit is cleared to keep the INTEGER positive. */
  serial: Buffer;
}

export interface IssuedCertificate {
  certificatePem: string;
  /** PKCS#8 PEM of the certificate's private key. */
  keyPem: string;
}

/** Raised for a request that cannot make a valid certificate. */
export class CertificateRequestError extends Error {
  override name = 'CertificateRequestError';
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** Issues one certificate with a fresh P-256 key. */
export function issueCertificate(request: CertificateRequest): IssuedCertificate {
  if (request.issuer === undefined && request.usage !== 'ca') throw new CertificateRequestError('only a CA certificate may be self-signed');
  if (request.notAfter.getTime() <= request.notBefore.getTime()) throw new CertificateRequestError('notAfter must be after notBefore');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const subjectKeyId = keyIdentifier(publicKey);

  let issuerName: Buffer;
  let issuerKey: KeyObject;
  let authorityKeyId: Buffer;
  if (request.issuer) {
    const issuerCert = new X509Certificate(request.issuer.certificatePem);
    if (!issuerCert.ca) throw new CertificateRequestError('the issuer is not a CA certificate');
    issuerName = subjectNameDer(issuerCert.raw);
    issuerKey = createPrivateKey(request.issuer.keyPem);
    authorityKeyId = keyIdentifier(createPublicKey(request.issuer.certificatePem));
  } else {
    issuerName = name(request.commonName, request.organization);
    issuerKey = privateKey;
    authorityKeyId = subjectKeyId;
  }

  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(positive(request.serial)),
    sequence(oid(OID.ecdsaWithSha256)),
    issuerName,
    sequence(time(request.notBefore), time(request.notAfter)),
    name(request.commonName, request.organization),
    spki,
    explicit(3, sequence(...extensions(request, subjectKeyId, authorityKeyId))),
  );
  const signature = sign('sha256', tbs, issuerKey);
  const certificate = sequence(tbs, sequence(oid(OID.ecdsaWithSha256)), bitString(signature));
  return {
    certificatePem: pem('CERTIFICATE', certificate),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function extensions(request: CertificateRequest, subjectKeyId: Buffer, authorityKeyId: Buffer): Buffer[] {
  const list: Buffer[] = [];
  if (request.usage === 'ca') {
    list.push(extension(OID.basicConstraints, true, sequence(boolean(true))));
    // digitalSignature, keyCertSign, cRLSign
    list.push(extension(OID.keyUsage, true, keyUsageBits(0x86)));
  } else {
    list.push(extension(OID.basicConstraints, true, sequence()));
    list.push(extension(OID.keyUsage, true, keyUsageBits(0x80))); // digitalSignature (ECDSA keys sign, never encipher)
    list.push(extension(OID.extKeyUsage, false, sequence(oid(request.usage === 'server' ? OID.serverAuth : OID.clientAuth))));
  }
  const altNames = request.altNames ?? [];
  if (altNames.length > 0) list.push(extension(OID.subjectAltName, false, sequence(...altNames.map(generalName))));
  list.push(extension(OID.subjectKeyIdentifier, false, octetString(subjectKeyId)));
  list.push(extension(OID.authorityKeyIdentifier, false, sequence(tlv(0x80, authorityKeyId))));
  return list;
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING's bytes. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // An EC P-256 SPKI ends with the 65-byte uncompressed point, preceded by the BIT STRING's unused-bits byte.
  return createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
}

function generalName(value: string): Buffer {
  const family = isIP(value);
  if (family === 4) return tlv(0x87, Buffer.from(value.split('.').map(Number)));
  if (family === 6) return tlv(0x87, ipv6Bytes(value));
  if (!/^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(value)) throw new CertificateRequestError(`not a DNS name or IP address: ${value}`);
  return tlv(0x82, Buffer.from(value, 'ascii'));
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.includes('::') ? address.split('::') : [address, ''];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(address.includes('::') ? missing : 0).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}

/** The issuer's subject Name exactly as encoded in its certificate, so chain building matches byte for byte. */
function subjectNameDer(certificate: Buffer): Buffer {
  const tbs = children(certificate)[0] as Buffer;
  // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, …
  return children(tbs)[5] as Buffer;
}

/** The encoded children of a constructed DER element (each with its own tag and length). */
function children(element: Buffer): Buffer[] {
  const { headerLength, length } = readLength(element, 0);
  const content = element.subarray(headerLength, headerLength + length);
  const parts: Buffer[] = [];
  for (let offset = 0; offset < content.length; ) {
    const child = readLength(content, offset);
    parts.push(content.subarray(offset, offset + child.headerLength + child.length));
    offset += child.headerLength + child.length;
  }
  return parts;
}

function readLength(buffer: Buffer, offset: number): { headerLength: number; length: number } {
  const first = buffer[offset + 1] ?? 0;
  if (first < 0x80) return { headerLength: 2, length: first };
  const count = first & 0x7f;
  let length = 0;
  for (let index = 0; index < count; index += 1) length = length * 256 + (buffer[offset + 2 + index] ?? 0);
  return { headerLength: 2 + count, length };
}

function name(commonName: string, organization?: string): Buffer {
  const rdn = (type: string, value: string) => tlv(0x31, sequence(oid(type), tlv(0x0c, Buffer.from(value, 'utf8'))));
  return sequence(...(organization ? [rdn(OID.organization, organization)] : []), rdn(OID.commonName, commonName));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

function keyUsageBits(bits: number): Buffer {
  let unused = 0;
  while (unused < 7 && ((bits >> unused) & 1) === 0) unused += 1;
  return tlv(0x03, Buffer.from([unused, bits]));
}

function time(at: Date): Buffer {
  const iso = at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:T]/g, '');
  const year = at.getUTCFullYear();
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return year < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

function positive(serial: Buffer): Buffer {
  const copy = Buffer.from(serial.length > 0 ? serial : [1]);
  copy[0] = (copy[0] as number) & 0x7f;
  if (copy.every((byte) => byte === 0)) copy[copy.length - 1] = 1;
  return copy;
}

function integer(value: Buffer): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0 && ((value[start + 1] as number) & 0x80) === 0) start += 1;
  const trimmed = value.subarray(start);
  return tlv(0x02, ((trimmed[0] as number) & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) chunk.unshift((value & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

const boolean = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0]));
const octetString = (value: Buffer) => tlv(0x04, value);
const bitString = (value: Buffer) => tlv(0x03, Buffer.concat([Buffer.from([0]), value]));
const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const explicit = (tag: number, inner: Buffer) => tlv(0xa0 + tag, inner);

function tlv(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: number[];
  if (length < 0x80) header = [tag, length];
  else {
    const lengthBytes: number[] = [];
    for (let value = length; value > 0; value = Math.floor(value / 256)) lengthBytes.unshift(value % 256);
    header = [tag, 0x80 | lengthBytes.length, ...lengthBytes];
  }
  return Buffer.concat([Buffer.from(header), content]);
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
