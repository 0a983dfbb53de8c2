import { describe, expect, it } from 'vitest';
import { checkClientCertificate, commonNames } from '../../../../functions/entry/authenticate/client-certificate.ts';
import { UnauthorizedError } from '../../../../functions/core/errors.ts';

describe('checkClientCertificate', () => {
  it('accepts a certificate whose common name is the cluster in the path', () => {
    expect(() => checkClientCertificate('c-abc12', 'CN=c-abc12,O=tokengate')).not.toThrow();
    expect(() => checkClientCertificate('c-abc12', '/O=tokengate/CN=c-abc12')).not.toThrow();
  });

  it.each([
    ['no certificate', undefined],
    ["another cluster's certificate", 'CN=c-other,O=tokengate'],
    ['a certificate without a common name', 'O=tokengate,OU=c-abc12'],
    ['a common name that only starts with the cluster id', 'CN=c-abc12x'],
    ['two common names', 'CN=c-abc12,CN=c-other'],
  ])('refuses %s', (_label, subject) => {
    expect(() => checkClientCertificate('c-abc12', subject)).toThrow(UnauthorizedError);
  });

  it('reads common names case-insensitively by attribute and trims spaces', () => {
    expect(commonNames('cn = c-abc12 , O=x')).toEqual(['c-abc12']);
  });
});

describe('subject DN parsing (RFC 4514)', () => {
  it.each([
    ['an escaped comma that would forge a second RDN', 'O=evil\\,CN=c-abc12'],
    ['an escaped comma inside the common name', 'CN=c-abc12\\,O=x'],
    ['a hex-escaped comma', 'O=evil\\2CCN=c-abc12'],
    ['an escaped plus that would forge a multi-valued RDN', 'O=evil\\+CN=c-abc12'],
    ['a quoted value hiding a separator', 'O="evil,CN=c-abc12"'],
    ['an unreadable DN', 'CN=c-abc12,garbage'],
  ])('refuses %s', (_label, subject) => {
    expect(() => checkClientCertificate('c-abc12', subject)).toThrow(UnauthorizedError);
  });

  it('reads a common name out of a multi-valued RDN', () => {
    expect(commonNames('O=tokengate+CN=c-abc12,C=DE')).toEqual(['c-abc12']);
    expect(() => checkClientCertificate('c-abc12', 'CN=c-abc12+O=tokengate')).not.toThrow();
  });

  it('decodes escaped characters inside a value', () => {
    expect(commonNames('CN=a\\,b\\+c\\\\d\\"e,O=x')).toEqual(['a,b+c\\d"e']);
    expect(commonNames('CN=c\\2Dabc12')).toEqual(['c-abc12']);
    expect(commonNames('CN="c-abc12"')).toEqual(['c-abc12']);
  });

  it('refuses two common names in one multi-valued RDN', () => {
    expect(() => checkClientCertificate('c-abc12', 'CN=c-abc12+CN=c-other')).toThrow(UnauthorizedError);
  });
});
