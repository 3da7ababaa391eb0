#!/usr/bin/env bash
# Build the Airbyte images of source-personyze and destination-personyze (`make image`).
#
#   scripts/build_images.sh
#
# 1. Builds the project's wheel from the working tree and pins the runtime requirements to the
#    versions installed in .venv (the versions the tests ran with).
# 2. Chooses the base image: $BASE_IMAGE if set; else the Dockerfile's default base when it is
#    present locally or a registry answers (then it is pulled); else a Debian bookworm base made
#    locally with debootstrap, once, and reused while it exists (personyze-local/debian).
# 3. Builds both targets of the Dockerfile and tags each image as its metadata.yaml says
#    (dockerRepository:dockerImageTag, the tag being the version in pyproject.toml) and :dev.
#
# Environment: BASE_IMAGE (use this base as is), LOCAL_BASE=1 (skip the default base),
# DEBIAN_MIRROR (mirror for debootstrap; default: the host's apt sources), PYTHON (default
# .venv/bin/python). The build's pip reaches the same index as the host: index URLs and the CA
# bundle of the host's pip configuration are passed to the build stage only.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-.venv/bin/python}"
UV="$(dirname "$PYTHON")/uv"
LOCAL_BASE_IMAGE="personyze-local/debian:bookworm-minbase"
CONTEXT="build/image"
# target of the Dockerfile -> its Airbyte metadata
declare -A METADATA=(
  [source-personyze]=source_personyze/metadata.yaml
  [destination-personyze]=target_personyze/destination_metadata/metadata.yaml
)

now() { date +%s; }
say() { printf '[image] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

docker info >/dev/null 2>&1 || die "Docker daemon not reachable (docker info failed); start dockerd first"
[ -x "$PYTHON" ] || die "$PYTHON not found: run make venv first"

VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -n 1)"
[ -n "$VERSION" ] || die "no version in pyproject.toml"
DEFAULT_BASE="$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile | head -n 1)"
[ -n "$DEFAULT_BASE" ] || die "no 'ARG BASE_IMAGE=' default in Dockerfile"

repository_of() {
  # The dockerRepository of a target's metadata.yaml, whose dockerImageTag must be $VERSION.
  "$PYTHON" -c '
import sys, yaml
path, version = sys.argv[1:]
data = yaml.safe_load(open(path))["data"]
if data["dockerImageTag"] != version:
    sys.exit(path + ": dockerImageTag " + str(data["dockerImageTag"]) + " is not " + version)
print(data["dockerRepository"])' "${METADATA[$1]}" "$VERSION"
}

# -- base image -------------------------------------------------------------------------------

image_present() { docker image inspect "$1" >/dev/null 2>&1; }

registry_answers() {
  # Any HTTP answer (401 included) means a registry is reachable; no answer in 5 s means not.
  "$PYTHON" - "$1" <<'EOF'
import sys, urllib.error, urllib.request
host = sys.argv[1]
try:
    urllib.request.urlopen(f"https://{host}/v2/", timeout=5)
except urllib.error.HTTPError:
    pass
except Exception:
    sys.exit(1)
EOF
}

registry_of() {
  local first="${1%%/*}"
  case "$first" in
    docker.io | index.docker.io) echo registry-1.docker.io ;;
    *.* | *:*) echo "$first" ;;
    *) echo registry-1.docker.io ;;
  esac
}

apt_uri() {
  # The first Debian URI of the host's apt sources whose suites match $1 (deb822 or one-line).
  local pattern="$1"
  {
    awk -v p="$pattern" '/^URIs:/ {u=$2} /^Suites:/ && $0 ~ p {print u}' \
      /etc/apt/sources.list.d/*.sources 2>/dev/null
    awk -v p="$pattern" '$1 == "deb" && $0 ~ p {print $2}' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
  } | grep -i debian | head -n 1 || true
}

debian_mirror() {
  local uri="${DEBIAN_MIRROR:-$(apt_uri ' bookworm( |$)')}"
  echo "${uri:-http://deb.debian.org/debian}"
}

make_local_base() {
  command -v debootstrap >/dev/null || die "debootstrap not installed (apt-get install -y debootstrap)"
  [ "$(id -u)" = 0 ] || die "making the local base needs root (debootstrap)"
  local mirror rootfs started
  mirror="$(debian_mirror)"
  rootfs="$(mktemp -d "${TMPDIR:-/tmp}/personyze-rootfs.XXXXXX")"
  started="$(now)"
  say "making $LOCAL_BASE_IMAGE: debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -n 20 "$rootfs.log" >&2; rm -rf "$rootfs" "$rootfs.log"; die "debootstrap failed"; }
  # The build stage installs Python from these suites, security updates included.
  local security
  security="$(apt_uri 'bookworm-security')"
  {
    echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    [ -z "$security" ] || echo "deb $security bookworm-security main"
  } >"$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/*
  tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["/bin/bash"]' \
    --change "LABEL org.opencontainers.image.description=\"debootstrap --variant=minbase bookworm $mirror\"" \
    - "$LOCAL_BASE_IMAGE" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  say "made $LOCAL_BASE_IMAGE in $(($(now) - started)) s"
}

choose_base() {
  if [ -n "${BASE_IMAGE:-}" ]; then
    image_present "$BASE_IMAGE" || docker pull "$BASE_IMAGE" >&2 || die "base $BASE_IMAGE unavailable"
    echo "$BASE_IMAGE"; return
  fi
  if [ "${LOCAL_BASE:-0}" != 1 ]; then
    if image_present "$DEFAULT_BASE"; then echo "$DEFAULT_BASE"; return; fi
    local registry
    registry="$(registry_of "$DEFAULT_BASE")"
    if registry_answers "$registry"; then
      say "pulling the default base $DEFAULT_BASE"
      if docker pull "$DEFAULT_BASE" >&2; then echo "$DEFAULT_BASE"; return; fi
    fi
    say "default base $DEFAULT_BASE not present and $registry not reachable: using the local base"
  fi
  if image_present "$LOCAL_BASE_IMAGE"; then
    say "reusing $LOCAL_BASE_IMAGE"
  else
    make_local_base
  fi
  echo "$LOCAL_BASE_IMAGE"
}

# -- build context: the wheel, pinned requirements, the CA bundle of the build's pip ------------

pip_setting() {
  # The first of: environment variable, pip's configuration (any file pip reads).
  local env_name="$1" key="$2" value
  value="${!env_name:-}"
  [ -n "$value" ] || value="$("$PYTHON" -m pip config get "global.$key" 2>/dev/null || true)"
  echo "$value"
}

remote_only() {
  # Keep http(s) URLs: file:// indexes and local paths on the host are not in the build.
  local url out=()
  for url in $1; do case "$url" in http://* | https://*) out+=("$url") ;; esac; done
  echo "${out[*]:-}"
}

prepare_context() {
  rm -rf "$CONTEXT" && mkdir -p "$CONTEXT"
  "$UV" build --wheel --out-dir "$CONTEXT" . >/dev/null 2>"$CONTEXT/uv-build.log" \
    || { cat "$CONTEXT/uv-build.log" >&2; die "wheel build failed"; }
  rm -f "$CONTEXT/uv-build.log"
  "$UV" pip freeze --python "$PYTHON" --exclude-editable >"$CONTEXT/venv-freeze.txt"
  "$UV" pip compile pyproject.toml --quiet --python-version 3.11 --no-header --no-annotate \
    --constraint "$CONTEXT/venv-freeze.txt" --output-file "$CONTEXT/requirements.txt"
  rm -f "$CONTEXT/venv-freeze.txt"
  local cert
  cert="$(pip_setting PIP_CERT cert)"
  [ -n "$cert" ] || cert="${SSL_CERT_FILE:-}"
  if [ -n "$cert" ] && [ -f "$cert" ]; then cp "$cert" "$CONTEXT/pip-ca.pem"; else : >"$CONTEXT/pip-ca.pem"; fi
}

# -- build --------------------------------------------------------------------------------------

main() {
  local total_started base started index extra repository connector
  total_started="$(now)"
  base="$(choose_base)"
  say "base image: $base"
  prepare_context
  index="$(remote_only "$(pip_setting PIP_INDEX_URL index-url)")"
  extra="$(remote_only "$(pip_setting PIP_EXTRA_INDEX_URL extra-index-url)")"
  local images=()
  for connector in source-personyze destination-personyze; do
    repository="$(repository_of "$connector")"
    images+=("$repository:$VERSION")
    started="$(now)"
    docker build --network host --file Dockerfile --target "$connector" \
      --build-arg "BASE_IMAGE=$base" \
      --build-arg "CONNECTOR_VERSION=$VERSION" \
      --build-arg "PIP_INDEX_URL=$index" \
      --build-arg "PIP_EXTRA_INDEX_URL=$extra" \
      --tag "$repository:$VERSION" --tag "$repository:dev" \
      "$CONTEXT" >"$CONTEXT/$connector.build.log" 2>&1 \
      || { tail -n 40 "$CONTEXT/$connector.build.log" >&2; die "docker build of $connector failed"; }
    say "built $repository:$VERSION (and :dev) in $(($(now) - started)) s"
  done
  say "total $(($(now) - total_started)) s"
  for image in "$base" "${images[@]}"; do
    say "$(docker image inspect --format '{{.Size}}' "$image" | awk '{printf "%4d MB", $1 / 1e6}')  $image"
  done
}

main "$@"
