#!/usr/bin/env bash
# The IaC checkers on the packaged CloudFormation templates, as .ci/run runs them:
#
#   bash scripts/iac-check.sh install        # pinned cfn-lint and checkov where missing; prints their bin dir
#   bash scripts/iac-check.sh package DIR    # packages the two variants into DIR/defaults.json, DIR/options.json
#   bash scripts/iac-check.sh cfn-lint DIR   # fails on any finding
#   bash scripts/iac-check.sh checkov DIR    # fails on any failed check
#
# The variants are those test/integration/package.test.ts checks: the defaults, and the custom domain with
# mutual TLS, DNS, a global table and sync off, since those branches of the template matter most.
# Findings we accept are skipped in the template itself, each with its reason (infra/checks.yml).
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION=1.51.0
CHECKOV_VERSION=3.3.30
venv="${TOKENGATE_IAC_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tokengate/iac-venv}"

has() { "$1" --version 2>/dev/null | grep -qF "$2"; }

case "${1:-}" in
  install)
    # Installs into a virtualenv of its own (never the system's Python), only what is missing or differs.
    need=()
    has "$venv/bin/cfn-lint" "$CFN_LINT_VERSION" || need+=("cfn-lint==$CFN_LINT_VERSION")
    has "$venv/bin/checkov" "$CHECKOV_VERSION" || need+=("checkov==$CHECKOV_VERSION")
    if ((${#need[@]})); then
      [[ -x "$venv/bin/pip" ]] || python3 -m venv "$venv" >&2
      "$venv/bin/pip" install --quiet --disable-pip-version-check "${need[@]}" >&2
    fi
    has "$venv/bin/cfn-lint" "$CFN_LINT_VERSION" && has "$venv/bin/checkov" "$CHECKOV_VERSION"
    echo "$venv/bin"
    ;;
  package)
    out="${2:?usage: iac-check.sh package DIR}"
    mkdir -p "$out"
    bash scripts/package.sh >&2
    cp .serverless/cloudformation-template-update-stack.json "$out/defaults.json"
    bash scripts/package.sh \
      --param="domainName=auth.example.com" \
      --param="certificateArn=arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000" \
      --param="truststoreUri=s3://tokengate-truststore/clusters-ca.pem" --param="truststoreVersion=3" \
      --param="hostedZoneId=Z0000000000000" --param="tableMode=global" --param="replicaRegion=eu-central-1" \
      --param="syncEnabled=false" --param="alarmEmail=ops@example.com" >&2
    cp .serverless/cloudformation-template-update-stack.json "$out/options.json"
    ;;
  cfn-lint)
    dir="${2:?usage: iac-check.sh cfn-lint DIR}"
    cfn-lint --version
    cfn-lint -- "$dir/defaults.json" "$dir/options.json"
    ;;
  checkov)
    dir="${2:?usage: iac-check.sh checkov DIR}"
    checkov --version
    # --skip-download: no call to the vendor's API (nothing leaves the machine; the checks are built in).
    checkov --framework cloudformation --compact --quiet --skip-download -f "$dir/defaults.json" -f "$dir/options.json"
    ;;
  *)
    echo "usage: iac-check.sh install | package DIR | cfn-lint DIR | checkov DIR" >&2
    exit 2
    ;;
esac
