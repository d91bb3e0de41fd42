# Pinned-toolchain targets: everything that needs the Pulumi CLI runs inside the Dockerfile's image.
#   make preview STACK=staging     make up STACK=dev     make destroy STACK=dev
# Needs: Docker, AWS credentials (AWS_PROFILE or AWS_* env), PULUMI_BACKEND_URL (or Pulumi Cloud
# login via PULUMI_ACCESS_TOKEN) and PULUMI_CONFIG_PASSPHRASE for passphrase-encrypted stacks.
STACK ?= dev
NODE_VERSION := $(shell cat .node-version)
PULUMI_VERSION := $(shell cat .pulumi.version)
AWS_PLUGIN_VERSION := $(shell node -p "require('./package-lock.json').packages['node_modules/@pulumi/aws'].version")
COMMAND_PLUGIN_VERSION := $(shell node -p "require('./package-lock.json').packages['node_modules/@pulumi/command'].version")
TLS_PLUGIN_VERSION := $(shell node -p "require('./package-lock.json').packages['node_modules/@pulumi/tls'].version")
IMAGE := opsfleet-toolchain:node$(NODE_VERSION)-pulumi$(PULUMI_VERSION)

RUN := docker run --rm -t -v "$(CURDIR)":/workspace -w /workspace \
	-e PULUMI_BACKEND_URL -e PULUMI_ACCESS_TOKEN -e PULUMI_CONFIG_PASSPHRASE -e PULUMI_CONFIG_PASSPHRASE_FILE \
	-e AWS_PROFILE -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN \
	-v "$(HOME)/.aws":/root/.aws:ro --entrypoint /bin/sh $(IMAGE) -c

.PHONY: image install plan test test-local preview up destroy

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
	docker run --rm -t --privileged -v "$(CURDIR)":/workspace -w /workspace --entrypoint /bin/bash $(IMAGE) .ci/run

# Without Docker, on this machine (host tests skip unless root, or fail if CI/OPSFLEET_HOST_TESTS is set).
test-local: install
	npm test

preview: image
	$(RUN) "npm ci && pulumi preview --stack $(STACK) --diff"

up: image
	$(RUN) "npm ci && pulumi up --stack $(STACK)"

destroy: image
	$(RUN) "npm ci && pulumi destroy --stack $(STACK)"
