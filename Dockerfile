# Pinned toolchain for preview/up/destroy: the same Node, Pulumi CLI and provider plugins on every
# laptop and CI runner. Versions come from .node-version, .pulumi.version and package-lock.json
# (make keeps the build args in sync; see Makefile).
ARG NODE_VERSION=22.20.0
FROM node:${NODE_VERSION}-bookworm-slim

ARG PULUMI_VERSION=3.270.0
ARG AWS_PLUGIN_VERSION=7.48.0
ARG COMMAND_PLUGIN_VERSION=1.2.1
ARG TLS_PLUGIN_VERSION=5.6.1

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl git openssh-client \
 && rm -rf /var/lib/apt/lists/*

# Pulumi CLI at an exact version, then the provider plugins the program's npm packages expect,
# baked in so a preview never downloads a different plugin.
RUN curl -fsSL https://get.pulumi.com | sh -s -- --version "${PULUMI_VERSION}" \
 && install -m 0755 /root/.pulumi/bin/pulumi* /usr/local/bin/ \
 && pulumi version | grep -qx "v${PULUMI_VERSION}" \
 && export PULUMI_HOME=/opt/pulumi \
 && pulumi plugin install resource aws "${AWS_PLUGIN_VERSION}" \
 && pulumi plugin install resource command "${COMMAND_PLUGIN_VERSION}" \
 && pulumi plugin install resource tls "${TLS_PLUGIN_VERSION}" \
 && chmod -R a+rwX /opt/pulumi

# `make` runs the container as the calling user (--user uid:gid, HOME=/home/opsfleet), so files it
# writes in the checkout stay the user's; node_modules lives in a Docker volume mounted over
# /workspace/node_modules, which starts as this world-writable directory.
RUN mkdir -p -m 1777 /home/opsfleet /workspace/node_modules
ENV PULUMI_HOME=/opt/pulumi
WORKDIR /workspace
ENV PULUMI_SKIP_UPDATE_CHECK=true
ENTRYPOINT ["pulumi"]
