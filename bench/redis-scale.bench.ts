/**
 * Redis Cluster scaling on local test hosts (namespaces on one machine: compare runs and ratios,
 * not EC2 numbers): a 3-host cluster holding KEYS keys grows to 4 hosts and shrinks back to 3
 * through the real rendered steps. Figures: keys (and slots) moved per second while the slots are
 * spread, and the time from the count change (the new host's steps start / the cluster step
 * starts) to a healthy cluster.
 */
import { randomBytes } from "node:crypto";
import { Cluster } from "ioredis";
import { checkHostTestEnvironment } from "../test/hosts/guard";
import { startLab, type Lab } from "../test/hosts/lab";
import { allNodeAddrs, clusterNodes, clusterProblem, provisionRedisHosts, redisCmd, runClusterStep } from "../test/hosts/redis-lab";

const KEYS = 50_000;
const VALUE_BYTES = 200;
const HOSTS = [1, 2, 3, 4].map((i) => ({ name: `rsb${i}`, ip: `10.78.15.1${i}` }));
const seconds = (t0: number) => Math.round((Date.now() - t0) / 10) / 100;
/** "slots spread in 12.3 s" from the cluster step's output. */
const spreadSeconds = (out: string) => Number(/slots spread in ([\d.]+) s/.exec(out)?.[1] ?? NaN);

export async function run(): Promise<Record<string, unknown>> {
  const env = checkHostTestEnvironment(["redis-server", "redis-cli"]);
  if (!env.ok) throw new Error(`redis-scale bench needs local test hosts: ${env.reason}`);
  const password = `bench-${randomBytes(12).toString("hex")}`;
  const params = { password, maxmemoryMb: 256 };
  let lab: Lab | undefined;
  let client: Cluster | undefined;
  try {
    lab = await startLab({ name: "rscaleb", hosts: HOSTS });
    const three = HOSTS.slice(0, 3);
    await provisionRedisHosts(lab, params, three);
    await runClusterStep(lab, 120_000, three);
    client = new Cluster([{ host: HOSTS[0].ip, port: 7000 }], { redisOptions: { password } });
    client.on("error", () => undefined);
    const value = "v".repeat(VALUE_BYTES);
    for (let i = 0; i < KEYS; i += 2000) {
      await Promise.all(Array.from({ length: Math.min(2000, KEYS - i) }, (_, j) => client!.set(`key:${i + j}`, value)));
    }

    // scale-out 3 -> 4: the count change creates host 4 (its steps), then the cluster step re-runs
    const t0 = Date.now();
    await provisionRedisHosts(lab, params, [HOSTS[3]]);
    const provisionS = seconds(t0);
    const t1 = Date.now();
    const out = await runClusterStep(lab, 600_000, HOSTS);
    const stepS = seconds(t1);
    const outToHealthyS = seconds(t0);
    const problem = await clusterProblem(allNodeAddrs(lab, HOSTS), password);
    if (out.action !== "scaled-out" || problem) throw new Error(`3 -> 4 not healthy (${out.action}): ${problem}`);
    const newMaster = (await clusterNodes(`${HOSTS[0].ip}:7000`, password)).find((n) => n.ip === HOSTS[3].ip && n.flags.includes("master"))!;
    const movedOut = Number(await redisCmd(newMaster.addr, password, "DBSIZE"));
    const spreadOut = spreadSeconds(out.result.stdout);

    // scale-in 4 -> 3: the cluster step re-runs with three hosts (Pulumi deletes host 4 afterwards)
    const leaving = (await clusterNodes(`${HOSTS[0].ip}:7000`, password)).find((n) => n.ip === HOSTS[3].ip && n.flags.includes("master"))!;
    const movedIn = Number(await redisCmd(leaving.addr, password, "DBSIZE"));
    const t2 = Date.now();
    const back = await runClusterStep(lab, 600_000, three);
    const inToHealthyS = seconds(t2);
    const problemIn = await clusterProblem(allNodeAddrs(lab, three), password);
    if (back.action !== "scaled-in" || problemIn) throw new Error(`4 -> 3 not healthy (${back.action}): ${problemIn}`);
    const spreadIn = spreadSeconds(back.result.stdout);
    let present = 0;
    for (const n of (await clusterNodes(`${HOSTS[0].ip}:7000`, password)).filter((x) => x.flags.includes("master"))) {
      present += Number(await redisCmd(n.addr, password, "DBSIZE"));
    }
    if (present !== KEYS) throw new Error(`keys after 3 -> 4 -> 3: ${present}, expected ${KEYS}`);

    const moved = (keysMoved: number, spreadS: number) =>
      ({ slotsMoved: 4096, keysMoved, spreadS, keysMovedPerS: Math.round(keysMoved / spreadS), slotsMovedPerS: Math.round(4096 / spreadS) });
    return {
      keys: KEYS,
      valueBytes: VALUE_BYTES,
      scaleOut3to4: { countChangeToHealthyS: outToHealthyS, newHostStepsS: provisionS, clusterStepS: stepS, ...moved(movedOut, spreadOut) },
      scaleIn4to3: { countChangeToHealthyS: inToHealthyS, ...moved(movedIn, spreadIn) },
      keysAfter: present,
      note: "one machine, shared cores, fsync on a shared disk: per-slot overhead (SETSLOT on every master) dominates; compare runs, not EC2",
    };
  } finally {
    client?.disconnect();
    await lab?.stop();
  }
}
