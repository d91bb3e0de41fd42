/**
 * Cost of at-rest encryption: sysbench oltp_read_write against two MariaDB test hosts provisioned
 * with the very same rendered steps, one encrypted (production rendering) and one with encryption
 * off, in the same run. Rounds alternate (encrypted, plain, encrypted, plain) so that drift on this
 * shared 2-core machine hits both alike. sysbench runs inside each host over the local socket.
 */
import { renderDatabaseSteps, renderUsersStep, type DatabaseProvisionOptions } from "../provision/database";
import { checkHostTestEnvironment } from "../test/hosts/guard";
import { startLab, type Lab } from "../test/hosts/lab";

const SECONDS_PER_ROUND = 10;
const ROUNDS = 2;
const TABLES = 4;
const TABLE_SIZE = 20_000;
const THREADS = 4;

interface RoundResult {
  tps: number;
  qps: number;
  p95ms: number;
}

const sysbench = (phase: "prepare" | "run" | "cleanup") =>
  [
    "sysbench oltp_read_write --db-driver=mysql --mysql-socket=/run/mysqld/mysqld.sock --mysql-user=root --mysql-db=app",
    `--tables=${TABLES} --table-size=${TABLE_SIZE} --threads=${THREADS}`,
    phase === "run" ? `--time=${SECONDS_PER_ROUND} --report-interval=0 --rand-seed=42` : "",
    phase,
  ].join(" ");

function parse(out: string): RoundResult {
  const num = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`sysbench output lacks ${re}:\n${out}`);
    return Number(m[1]);
  };
  return {
    tps: num(/transactions:\s+\d+\s+\(([\d.]+) per sec\.\)/),
    qps: num(/queries:\s+\d+\s+\(([\d.]+) per sec\.\)/),
    p95ms: num(/95th percentile:\s+([\d.]+)/),
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round2 = (x: number) => Math.round(x * 100) / 100;

export async function run(): Promise<Record<string, unknown>> {
  const env = checkHostTestEnvironment(["mariadbd", "sysbench"]);
  if (!env.ok) throw new Error(`database bench needs the local test hosts: ${env.reason}`);
  const hosts = { encrypted: "dbenc", plain: "dbplain" } as const;
  const lab: Lab = await startLab({ name: "dbbench", hosts: [{ name: hosts.encrypted, ip: "10.78.12.11" }, { name: hosts.plain, ip: "10.78.12.12" }] });
  try {
    const provision = async (host: string, o: DatabaseProvisionOptions) => {
      const { before, after } = renderDatabaseSteps(o);
      const passwords = { rootPassword: "bench-root-password-0001", appPassword: "bench-app-password-0001" };
      for (const step of [...before, renderUsersStep(o, passwords), ...after]) await lab.runStep(host, step);
      const prep = await lab.ssh(host, sysbench("prepare"), undefined, { timeoutMs: 300_000 });
      if (prep.code !== 0) throw new Error(`sysbench prepare on ${host} failed:\n${prep.stderr}${prep.stdout}`);
    };
    const base: DatabaseProvisionOptions = { engine: "mariadb", keyDir: "/etc/mysql/keyring" };
    await provision(hosts.encrypted, base);
    await provision(hosts.plain, { ...base, encryption: false });

    const results: Record<keyof typeof hosts, RoundResult[]> = { encrypted: [], plain: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const kind of ["encrypted", "plain"] as const) {
        const r = await lab.ssh(hosts[kind], sysbench("run"), undefined, { timeoutMs: (SECONDS_PER_ROUND + 60) * 1000 });
        if (r.code !== 0) throw new Error(`sysbench run on ${hosts[kind]} failed:\n${r.stderr}${r.stdout}`);
        results[kind].push(parse(r.stdout));
      }
    }
    const avg = (kind: keyof typeof hosts) => ({
      tps: round2(mean(results[kind].map((r) => r.tps))),
      qps: round2(mean(results[kind].map((r) => r.qps))),
      p95ms: round2(mean(results[kind].map((r) => r.p95ms))),
    });
    const encrypted = avg("encrypted");
    const plain = avg("plain");
    return {
      workload: `sysbench oltp_read_write, ${TABLES} tables x ${TABLE_SIZE} rows, ${THREADS} threads, ${ROUNDS} alternating rounds of ${SECONDS_PER_ROUND} s per server`,
      engine: "MariaDB 10.11 (Debian), file_key_management AES_CTR, tables FORCE + redo log + binlog + temp files encrypted",
      encrypted,
      unencrypted: plain,
      encryptedToUnencryptedTpsRatio: round2(encrypted.tps / plain.tps),
      encryptedToUnencryptedP95Ratio: round2(encrypted.p95ms / plain.p95ms),
      rounds: results,
      note: "data fits in the buffer pool: the cost measured is mostly encrypting redo/binlog writes and page flushes; both servers share this machine's CPUs",
    };
  } finally {
    await lab.stop();
  }
}
