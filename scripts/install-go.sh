#!/usr/bin/env bash
# Makes Go available for the conformance suite where it is missing or older than test/conformance/go.mod
# needs. Debian's golang-go is too old (1.19), so the official toolchain is fetched the way `go` itself
# fetches toolchains (GOTOOLCHAIN): as the module golang.org/toolchain from the Go module proxy.
# Prints the directory to put first on PATH (nothing to do: the current go's).
set -euo pipefail
version="${TOKENGATE_GO_VERSION:-1.26.8}"
need="$(awk '/^go /{print $2; exit}' "$(dirname "$0")/../test/conformance/go.mod")"

if command -v go >/dev/null 2>&1; then
  have="$(go env GOVERSION | sed 's/^go//')"
  if [[ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" == "$need" ]]; then
    dirname "$(command -v go)"
    exit 0
  fi
fi

case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) echo "unsupported machine $(uname -m)" >&2; exit 1 ;; esac
dest="${TOKENGATE_GO_HOME:-$HOME/.cache/tokengate-go}/go$version"
if [[ ! -x "$dest/bin/go" ]]; then
  proxy="${GOPROXY:-https://proxy.golang.org}"
  proxy="${proxy%%,*}"
  [[ "$proxy" == "direct" || "$proxy" == "off" ]] && proxy=https://proxy.golang.org
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "fetching go$version (linux/$arch) from $proxy" >&2
  curl -fsSL --retry 3 -o "$tmp/toolchain.zip" "$proxy/golang.org/toolchain/@v/v0.0.1-go$version.linux-$arch.zip"
  (cd "$tmp" && unzip -q toolchain.zip)
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest"
  mv "$tmp/golang.org/toolchain@v0.0.1-go$version.linux-$arch" "$dest"
  chmod +x "$dest/bin/"* "$dest/pkg/tool/"*/* 2>/dev/null || true
fi
echo "$dest/bin"
