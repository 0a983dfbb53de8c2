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
