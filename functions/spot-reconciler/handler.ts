/**
 * Lambda entry point (bundled by esbuild from this file). Module init builds the SDK clients,
 * Powertools Logger + Metrics and reads the configuration once. Invoked by the SQS FIFO event source
 * mapping only (see sqs.ts); each message reconciles.
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { readConfig } from "./config";
import { createReconciler } from "./reconcile";
import { createSqsHandler } from "./sqs";

const config = readConfig(process.env);
const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "spot-reconciler" });
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "Opsfleet/SpotFailover",
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "spot-reconciler",
  defaultDimensions: { OnDemandAsg: config.onDemandAsgName },
});
const clients = { ec2: new EC2Client({}), autoscaling: new AutoScalingClient({}), elbv2: new ElasticLoadBalancingV2Client({}) };

export const handler = createSqsHandler({ reconcile: createReconciler({ clients, config, logger, metrics }), logger, metrics, queueArn: config.queueArn });
