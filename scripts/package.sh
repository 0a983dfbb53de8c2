#!/usr/bin/env bash
# Package the service exactly as `osls deploy` would, without touching AWS:
# CloudFormation template + one zip per function under .serverless/.
#
#   npm run package                       # stage dev, region eu-west-1
#   npm run package -- --stage prod --param="domainName=auth.example.com"
#
# `package` makes no AWS call (test/integration/package.test.ts proves it); the fake credentials make sure
# that nothing could reach a real account anyway, and the pinned region keeps the template reproducible.
set -euo pipefail
cd "$(dirname "$0")/.."

export AWS_ACCESS_KEY_ID=AKIAPACKAGEONLY00000
export AWS_SECRET_ACCESS_KEY=package-only-not-a-real-secret
export AWS_SESSION_TOKEN=package-only
export AWS_REGION=eu-west-1
export AWS_DEFAULT_REGION=eu-west-1
unset AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN \
      AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || true
export AWS_EC2_METADATA_DISABLED=true
export SLS_TELEMETRY_DISABLED=1 SLS_TRACKING_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_DEPRECATION_DISABLE='*'

# The arm64 argon2 binary: serverless.yml's local plugin scripts/osls-lambda-platform.cjs sees to it, so
# that `osls deploy` packages exactly what this script does.

# Defaults for a reproducible template; an explicit --stage/--region on the command line wins.
args=("$@")
[[ " $* " == *" --stage"* || " $* " == *" -s "* ]] || args+=(--stage dev)
[[ " $* " == *" --region"* || " $* " == *" -r "* ]] || args+=(--region eu-west-1)

exec npx --no-install osls package "${args[@]}"
