import { spawnSync } from "node:child_process";
import { redisHostBackupPrefix, SCHEDULED_SET_ERE, renderRedisBackupStep, REDIS_BACKUP_PATHS } from "./redis";
import { scheduledRun, scheduledRunBash } from "./schedule";

const target = { bucket: "dev-backups-a1", prefix: "redis/dev-redis/dev-redis-0", region: "eu-west-1", hostLabel: "dev-redis-0", metricNamespace: "Opsfleet/Hosts/dev" };
const step = renderRedisBackupStep({
  target,
  clusterPrefix: "redis/dev-redis",
  privateIp: "10.0.1.5",
  schedule: { intervalHours: 6, startTime: "00:45" },
});

describe("Redis backup step (rendered)", () => {
  test("config names the host IP; scripts are valid bash; the schedule is the configured one", () => {
    expect(step.files.find((f) => f.path === REDIS_BACKUP_PATHS.conf)!.content).toContain("BIND_IP=10.0.1.5\n");
    for (const f of step.files.filter((x) => x.mode === "0700")) {
      expect({ f: f.path, err: spawnSync("bash", ["-n"], { input: f.content, encoding: "utf8" }).stderr }).toEqual({ f: f.path, err: "" });
    }
    expect(step.files.find((f) => f.path.endsWith(".timer"))!.content).toContain("OnCalendar=*-*-* 00/6:45:00");
  });

  // every 6 h from 05:58: runs at 05:58, 11:58, 17:58, 23:58
  const sched = { intervalHours: 6 as const, startTime: "05:58" };
  const at = (hhmmss: string) => Date.parse(`2026-11-30T${hhmmss}Z`) / 1000;
  const name = (epoch: number) => new Date(epoch * 1000).toISOString().slice(0, 16);
  test.each([
    ["05:58:00", "2026-11-30T05:58"], // on time
    ["05:58:40", "2026-11-30T05:58"], // timer spread
    ["06:01:10", "2026-11-30T05:58"], // across the 06:00 window boundary the old naming split on
    ["09:30:00", "2026-11-30T05:58"], // a catch-up run hours late still belongs to its run
    ["05:55:00", "2026-11-30T05:58"], // a clock a few minutes early
    ["11:50:00", "2026-11-30T05:58"],
    ["11:58:01", "2026-11-30T11:58"],
    ["02:00:00", "2026-11-29T23:58"], // the run of the day before
  ])("a run started at %s belongs to the scheduled run %s", (t, run) => {
    expect(name(scheduledRun("backup.redis", sched, at(t)))).toBe(run);
  });

  test("the backup script names its set by the same computation", () => {
    const epochs = ["05:58:40", "06:01:10", "09:30:00", "02:00:00", "23:59:59"].map(at);
    const bash = `${scheduledRunBash("backup.redis", sched)}\nfor e in ${epochs.join(" ")}; do scheduled_run "$e"; done`;
    const out = spawnSync("bash", ["-c", bash], { encoding: "utf8" }).stdout.trim().split("\n").map(Number);
    expect(out).toEqual(epochs.map((e) => scheduledRun("backup.redis", sched, e)));
    expect(step.files.find((f) => f.path === REDIS_BACKUP_PATHS.backup)!.content).toContain(scheduledRunBash("backup.redis", { intervalHours: 6, startTime: "00:45" }));
  });

  test("the restore never imports into a cluster that holds keys, and never puts the password on a command line", () => {
    const restore = step.files.find((f) => f.path === REDIS_BACKUP_PATHS.restore)!.content;
    expect(restore).toContain('[ "$held" = 0 ] || die');
    expect(restore).not.toMatch(/-a "\$/);
    expect(restore).not.toMatch(/requirepass/);
  });

  test("each host uploads under its own prefix; the restore reads the cluster's (every host's sets)", () => {
    const conf = step.files.find((f) => f.path === REDIS_BACKUP_PATHS.conf)!.content.split("\n");
    expect(conf).toEqual(expect.arrayContaining(["PREFIX=redis/dev-redis/dev-redis-0", "CLUSTER_PREFIX=redis/dev-redis"]));
    const backup = step.files.find((f) => f.path === REDIS_BACKUP_PATHS.backup)!.content;
    expect(backup).toContain('"s3://$BUCKET/$PREFIX/$set_name/"');
    expect(backup).not.toContain("CLUSTER_PREFIX");
    const restore = step.files.find((f) => f.path === REDIS_BACKUP_PATHS.restore)!.content;
    expect(restore).not.toMatch(/\$PREFIX\b/);
    expect(restore).toContain('s3 ls --recursive "s3://$BUCKET/$CLUSTER_PREFIX/"');
    expect(redisHostBackupPrefix("redis/dev-redis", "dev-redis-3")).toBe("redis/dev-redis/dev-redis-3");
    expect(() => redisHostBackupPrefix("redis/dev-redis", "a/b")).toThrow(/host name "a\/b"/);
    // a host prefix that is not directly under the cluster's is refused before anything is rendered
    for (const prefix of ["redis/dev-redis", "redis/other/dev-redis-0", "redis/dev-redis/a/b"]) {
      expect(() => renderRedisBackupStep({ target: { ...target, prefix }, clusterPrefix: "redis/dev-redis", privateIp: "10.0.1.5", schedule: { intervalHours: 6, startTime: "00:45" } }))
        .toThrow(/target.prefix .*allowed: the host's own prefix directly under clusterPrefix "redis\/dev-redis"/);
    }
  });

  test("the restore's listing finds the sets of every host's prefix, and of the cluster prefix from before per-host prefixes", () => {
    const restore = step.files.find((f) => f.path === REDIS_BACKUP_PATHS.restore)!.content;
    const awk = /\| awk -v p="\$CLUSTER_PREFIX\/" '([^']+)' \| sort -ru/.exec(restore)![1];
    const ls = [
      "2026-11-30 06:46:01       1234 redis/dev-redis/dev-redis-0/20261130T0645Z/10.0.1.5-7000.rdb.zst",
      "2026-11-30 06:46:01         60 redis/dev-redis/dev-redis-0/20261130T0645Z/10.0.1.5-7000.meta",
      "2026-11-30 06:46:03         60 redis/dev-redis/dev-redis-1/20261130T0645Z/10.0.1.6-7000.meta",
      "2026-11-30 00:46:03         60 redis/dev-redis/dev-redis-3/20261130T0045Z/10.0.1.8-7000.meta",
      "2026-11-29 18:46:03         60 redis/dev-redis/20261129T1845Z/10.0.1.5-7000.meta",
      "2026-11-29 18:46:03         60 redis/dev-redis-old/20261129T1845Z/x.meta",
    ].join("\n");
    const out = spawnSync("bash", ["-c", `awk -v p="redis/dev-redis/" '${awk}' | sort -ru`], { input: ls, encoding: "utf8" });
    expect(out.stdout.trim().split("\n")).toEqual(["20261130T0645Z", "20261130T0045Z", "20261129T1845Z"]);
  });

  test("without --set a restore chooses among scheduled sets only: a hand-named set never shadows newer scheduled ones", () => {
    const restore = step.files.find((f) => f.path === REDIS_BACKUP_PATHS.restore)!.content;
    expect(restore).toContain(`grep -E '${SCHEDULED_SET_ERE}'`);
    const listing = ["pre-upgrade", "drill", "20261130T0645Z", "20261130T0045Z"].join("\n");
    const out = spawnSync("bash", ["-c", `grep -E '${SCHEDULED_SET_ERE}'`], { input: listing, encoding: "utf8" });
    expect(out.stdout.trim().split("\n")).toEqual(["20261130T0645Z", "20261130T0045Z"]);
  });
});
