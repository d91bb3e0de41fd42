import { spawnSync } from "node:child_process";
import { renderRedisBackupStep, REDIS_BACKUP_PATHS } from "./redis";

const step = renderRedisBackupStep({
  target: { bucket: "dev-backups-a1", prefix: "redis/dev-redis", region: "eu-west-1", hostLabel: "dev-redis-0", metricNamespace: "Opsfleet/Hosts/dev" },
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
    // one set per 6-hour slot: every host's run of the same slot lands together
    expect(step.files.find((f) => f.path === REDIS_BACKUP_PATHS.backup)!.content).toContain("period=21600");
  });

  test("the restore never imports into a cluster that holds keys, and never puts the password on a command line", () => {
    const restore = step.files.find((f) => f.path === REDIS_BACKUP_PATHS.restore)!.content;
    expect(restore).toContain('[ "$held" = 0 ] || die');
    expect(restore).not.toMatch(/-a "\$/);
    expect(restore).not.toMatch(/requirepass/);
  });
});
