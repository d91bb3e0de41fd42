/**
 * Runs the esbuild bundle in a fresh Node process, as the Lambda runtime would: env from the caller,
 * AWS answered by a FakeAccount (scenario), one EventBridge event from a file delivered through SQS. Prints the bundle's own stdout
 * (Powertools JSON logs, EMF metrics), then `RESULT <json>` and `INIT_MS <module init time>`.
 * Usage: tsx run-bundle.ts <bundle.js> <event.json>
 */
import * as fs from "node:fs";
import { EC2Client } from "@aws-sdk/client-ec2";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { wireFakeAccount } from "./mock-clients";
import { scenarioAccount } from "./scenario";
import { sqsDelivery } from "./sqs";

async function main() {
  const [bundle, eventFile] = process.argv.slice(2);
  const account = scenarioAccount((process.env.SPOT_SOURCE as "fleet" | "asg") ?? "fleet");
  wireFakeAccount(account, { ec2: EC2Client, autoscaling: AutoScalingClient, elbv2: ElasticLoadBalancingV2Client });
  const event = JSON.parse(fs.readFileSync(eventFile, "utf8"));
  if (event.time) event.time = new Date(Date.now() - 30_000).toISOString();
  const t0 = process.hrtime.bigint();
  const { handler } = require(bundle);
  const initMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const result = await handler(sqsDelivery(event, { queueArn: process.env.RECONCILE_QUEUE_ARN }));
  process.stdout.write(`RESULT ${JSON.stringify(result)}\nINIT_MS ${initMs}\n`);
}
main().catch((e) => { console.error(e); process.exit(1); });
