# Pinned-toolchain targets: everything that needs the Pulumi CLI runs inside the Dockerfile's image.
#   make preview STACK=staging     make up STACK=dev     make destroy STACK=dev
#   make up STACK=dev YES=1        non-interactive (CI, scripts): pulumi --yes --non-interactive
#   make destroy STACK=prod ARGS=--exclude-protected     extra pulumi arguments
# Needs: Docker, AWS credentials (AWS_PROFILE or AWS_* env), PULUMI_BACKEND_URL (or Pulumi Cloud
# login via PULUMI_ACCESS_TOKEN) and PULUMI_CONFIG_PASSPHRASE(_FILE) for passphrase-encrypted stacks.
# The container runs as you (files it writes stay yours) and keeps its Linux node_modules in a
# Docker volume, never in your checkout.
STACK ?= dev
YES ?=
ARGS ?=
NODE_VERSION := $(shell cat .node-version)
PULUMI_VERSION := $(shell cat .pulumi.version)
AWS_PLUGIN_VERSION := $(shell node -p "require('./package-lock.json').packages['node_modules/@pulumi/aws'].version")
COMMAND_PLUGIN_VERSION := $(shell node -p "require('./package-lock.json').packages['node_modules/@pulumi/command'].version")
TLS_PLUGIN_VERSION := $(shell node -p "require('./package-lock.json').packages['node_modules/@pulumi/tls'].version")
IMAGE := opsfleet-toolchain:node$(NODE_VERSION)-pulumi$(PULUMI_VERSION)

# -i always (stdin for Pulumi's prompts), -t only from a terminal (so pipes and CI still work).
TTY := $(shell [ -t 0 ] && echo -t)
PULUMI_YES := $(if $(YES),--yes --non-interactive)
# node_modules inside the container: a named volume over the checkout's (the image makes it writable).
NODE_MODULES_VOLUME := -v opsfleet-node-modules:/workspace/node_modules
PASSPHRASE_FILE := $(if $(PULUMI_CONFIG_PASSPHRASE_FILE),-v "$(PULUMI_CONFIG_PASSPHRASE_FILE)":/run/pulumi-passphrase:ro -e PULUMI_CONFIG_PASSPHRASE_FILE=/run/pulumi-passphrase)

RUN := docker run --rm -i $(TTY) --user "$(shell id -u):$(shell id -g)" -e HOME=/home/opsfleet \
	-v "$(CURDIR)":/workspace -w /workspace $(NODE_MODULES_VOLUME) \
	-e PULUMI_BACKEND_URL -e PULUMI_ACCESS_TOKEN -e PULUMI_CONFIG_PASSPHRASE $(PASSPHRASE_FILE) \
	-e AWS_PROFILE -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN \
	-v "$(HOME)/.aws":/home/opsfleet/.aws:ro --entrypoint /bin/sh $(IMAGE) -c

.PHONY: image install plan test test-local test-unit preview up destroy

image:
	docker build -t $(IMAGE) --build-arg NODE_VERSION=$(NODE_VERSION) --build-arg PULUMI_VERSION=$(PULUMI_VERSION) \
	  --build-arg AWS_PLUGIN_VERSION=$(AWS_PLUGIN_VERSION) --build-arg COMMAND_PLUGIN_VERSION=$(COMMAND_PLUGIN_VERSION) \
	  --build-arg TLS_PLUGIN_VERSION=$(TLS_PLUGIN_VERSION) .

install:
	npm ci

# Offline: no Docker, no CLI, no cloud.
plan: install
	npm run plan -- --stack $(STACK)

# The whole CI run inside the pinned image. The host tests need root and Linux namespaces, hence
# --privileged; .ci/run installs their Debian packages in the (Debian bookworm) container.
test: image
	docker run --rm -i $(TTY) --privileged -v "$(CURDIR)":/workspace -w /workspace $(NODE_MODULES_VOLUME) --entrypoint /bin/bash $(IMAGE) .ci/run

# Without Docker, on this machine (the host tests need root: without it they fail, naming why).
test-local: install
	npm test

# Unit tests only (no root, no namespaces, no Debian services).
test-unit: install
	npm run test:unit

preview: image
	$(RUN) "npm ci && pulumi preview --stack $(STACK) --diff $(ARGS)"

up: image
	$(RUN) "npm ci && pulumi up --stack $(STACK) $(PULUMI_YES) $(ARGS)"

destroy: image
	$(RUN) "npm ci && pulumi destroy --stack $(STACK) $(PULUMI_YES) $(ARGS)"
