#!/usr/bin/env bash
# Lint the OpenAPI document with Redocly CLI (MIT), both as served by default and with CHAT_PATH_USERNAMES=true.
# Redocly's recommended rules (redocly.yaml); any error or warning fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${EPHEMERA_CACHE:-$HOME/.cache/ephemera}/openapi
mkdir -p "$out"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
for variant in default path-usernames; do
  flag=false; [[ $variant == path-usernames ]] && flag=true
  CHAT_PATH_USERNAMES=$flag npx tsx scripts/check/openapi.ts > "$out/openapi-$variant.json"
  echo "==> openapi-lint: $variant" >&2
  if ! npx redocly lint --config redocly.yaml --format=stylish "$out/openapi-$variant.json" > "$out/lint-$variant.txt" 2>&1 \
     || grep -qE '(warning|error) +' "$out/lint-$variant.txt"; then
    grep -vE '║|╔|╚' "$out/lint-$variant.txt" >&2
    echo "==> openapi-lint: $variant has problems (above)" >&2
    exit 1
  fi
done
echo "==> openapi-lint: no errors, no warnings" >&2
