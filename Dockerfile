# The Airbyte images of source-personyze and destination-personyze: one target each.
#
#   make image      # scripts/build_images.sh: stages the build context and builds both targets
#
# The build context is not the repository: scripts/build_images.sh stages build/image/ with the
# project's wheel (built from the working tree), requirements.txt (the runtime dependencies
# pinned to the versions the tests ran with) and pip-ca.pem (the host's CA bundle for the build's
# pip, possibly empty). Neither the CA bundle nor any index setting reaches the final images.
#
# BASE_IMAGE: Airbyte's Python connector base by default (the base declared in both
# metadata.yaml files); any Debian-like image with or without Python 3.11 works, such as the
# debootstrapped Debian bookworm that scripts/build_images.sh makes when no registry is reachable.

ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73

# -- runtime: the base, Python 3, and Airbyte's non-root user -------------------------------
FROM ${BASE_IMAGE} AS runtime
# Airbyte's bases already have Python and the user `airbyte` (uid 1000); a bare Debian gets them.
RUN set -eu; \
    if ! command -v python3 >/dev/null 2>&1; then \
        export DEBIAN_FRONTEND=noninteractive; \
        apt-get update; \
        apt-get upgrade -y; \
        apt-get install -y --no-install-recommends python3; \
        apt-get clean; \
        rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log; \
    fi; \
    if ! id -u airbyte >/dev/null 2>&1; then \
        groupadd --system --gid 1000 airbyte; \
        useradd --system --uid 1000 --gid airbyte --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin airbyte; \
    fi; \
    mkdir -p /airbyte/integration_code; \
    chown airbyte:airbyte /airbyte /airbyte/integration_code

# -- build: a virtual environment with the pinned requirements, then the wheel --------------
FROM runtime AS build
ARG PIP_INDEX_URL=
ARG PIP_EXTRA_INDEX_URL=
RUN set -eu; \
    if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then \
        apt-get update; \
        apt-get install -y --no-install-recommends python3-venv; \
    fi; \
    python3 -m venv /opt/personyze
COPY requirements.txt pip-ca.pem /tmp/build/
RUN set -eu; \
    if [ -s /tmp/build/pip-ca.pem ]; then export PIP_CERT=/tmp/build/pip-ca.pem; fi; \
    [ -n "$PIP_INDEX_URL" ] || unset PIP_INDEX_URL; \
    [ -n "$PIP_EXTRA_INDEX_URL" ] || unset PIP_EXTRA_INDEX_URL; \
    /opt/personyze/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps \
        --requirement /tmp/build/requirements.txt
COPY *.whl /tmp/build/
RUN set -eu; \
    /opt/personyze/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps \
        /tmp/build/*.whl; \
    /opt/personyze/bin/pip check; \
    /opt/personyze/bin/pip uninstall --yes --quiet pip

# -- connector: the environment, run as `airbyte` --------------------------------------------
FROM runtime AS connector
ARG CONNECTOR_VERSION=dev
COPY --from=build /opt/personyze /opt/personyze
ENV PATH=/opt/personyze/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1
# The destination's default rejects and ledger files are relative to the working directory.
WORKDIR /airbyte/integration_code
USER airbyte
LABEL io.airbyte.version=${CONNECTOR_VERSION}

FROM connector AS destination-personyze
ENV AIRBYTE_ENTRYPOINT=/opt/personyze/bin/destination-personyze
ENTRYPOINT ["/opt/personyze/bin/destination-personyze"]
LABEL io.airbyte.name=personyze/destination-personyze

FROM connector AS source-personyze
ENV AIRBYTE_ENTRYPOINT=/opt/personyze/bin/source-personyze
ENTRYPOINT ["/opt/personyze/bin/source-personyze"]
LABEL io.airbyte.name=personyze/source-personyze
