// serverless.yml `resources:` entry for the optional custom domain (osls resolves this file as a
// variable source: `${file(scripts/domain-resources.cjs)}`).
//
// - With a domainName: all of infra/domain.yml (domain, mutual TLS, API mapping, DNS record, outputs).
// - Without: only its Outputs (ApiBaseUrl is then the execute-api URL). A CloudFormation condition alone
//   would leave a never-created domain resource with an empty certificate ARN in every template, which
//   no checker can tell from a real misconfiguration.
// - Refuses combinations that would deploy something other than what the operator asked for: a
//   domainName without its certificateArn (CloudFormation would fail half way through the deploy), and a
//   domain param (certificate, truststore, DNS zone) without a domainName, which would silently do
//   nothing — in particular, no mutual TLS although a truststore was given.
'use strict';

const DOMAIN_PARAMS = ['certificateArn', 'ownershipVerificationCertificateArn', 'truststoreUri', 'truststoreVersion', 'hostedZoneId'];
const ACM_ARN = /^arn:aws[a-zA-Z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/.+$/;

/** An error osls prints as its message alone (it prints the stack of anything a resolver throws). */
function refuse(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

module.exports = async ({ resolveVariable }) => {
  const param = async (name) => String((await resolveVariable(`param:${name}`)) ?? '');
  const domainName = await param('domainName');
  const values = Object.fromEntries(await Promise.all(DOMAIN_PARAMS.map(async (name) => [name, await param(name)])));
  const problems = [];
  if (domainName === '') {
    for (const name of DOMAIN_PARAMS) if (values[name] !== '') problems.push(`${name} is set but domainName is not: set domainName too, or leave ${name} empty`);
  } else {
    if (values.certificateArn === '') problems.push(`domainName=${domainName} needs certificateArn: the ARN of an ACM certificate for it in this region`);
    for (const name of ['certificateArn', 'ownershipVerificationCertificateArn']) {
      if (values[name] !== '' && !ACM_ARN.test(values[name])) problems.push(`${name} is not an ACM certificate ARN: ${values[name]}`);
    }
    if (values.truststoreUri !== '' && !/^s3:\/\/[^/]+\/.+/.test(values.truststoreUri)) problems.push(`truststoreUri must be s3://<bucket>/<key>: ${values.truststoreUri}`);
    if (values.truststoreVersion !== '' && values.truststoreUri === '') problems.push('truststoreVersion is set but truststoreUri is not');
  }
  if (problems.length > 0) throw refuse(`Refusing to package the custom domain params:\n  - ${problems.join('\n  - ')}`);
  const domain = await resolveVariable('file(infra/domain.yml)');
  if (domainName !== '') return domain;
  return { Outputs: domain.Outputs };
};
