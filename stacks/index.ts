/**
 * Pulumi program entry (Pulumi.yaml `main`). The only place that reads the stack config:
 * it is validated completely before the first resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config/load";
import { buildOpsfleet } from "./opsfleet";

const outputs = buildOpsfleet(loadConfig(), pulumi.getStack());

export = outputs;
