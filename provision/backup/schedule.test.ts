import { checkSchedule, cronFields, onCalendar, renderJobFiles, slmCron, type IntervalHours } from "./schedule";

describe("backup schedules: one shape for systemd, cron, SLM and DLM", () => {
  test.each([
    [24, "02:15", "*-*-* 02/24:15:00", "15 2-23/24 * * *", "0 15 2/24 * * ?"],
    [6, "02:15", "*-*-* 02/6:15:00", "15 2-23/6 * * *", "0 15 2/6 * * ?"],
    // 14:30 every 6 h is also 02:30, 08:30 and 20:30: anchored on the first run of the day
    [6, "14:30", "*-*-* 02/6:30:00", "30 2-23/6 * * *", "0 30 2/6 * * ?"],
    [1, "00:05", "*-*-* 00/1:05:00", "5 0-23/1 * * *", "0 5 0/1 * * ?"],
  ])("every %i h from %s", (every, at, cal, cron, slm) => {
    const s = { intervalHours: every as IntervalHours, startTime: at };
    expect(onCalendar("k", s)).toBe(cal);
    expect(cronFields("k", s)).toBe(cron);
    expect(slmCron("k", s)).toBe(slm);
  });

  test("intervals DLM rejects and bad times name the key", () => {
    expect(() => checkSchedule("backup.redis", { intervalHours: 5 as IntervalHours, startTime: "01:00" })).toThrow(/^backup\.redis\.intervalHours: invalid value 5 \(allowed: 1, 2, 3, 4, 6, 8, 12, 24/);
    expect(() => checkSchedule("backup.redis", { intervalHours: 6, startTime: "1:00" })).toThrow(/^backup\.redis\.startTime: invalid value "1:00"/);
  });

  test("a job: oneshot service + timer (calendar or period) + cron line running the same command into the log", () => {
    const files = renderJobFiles("/d", { unit: "u", description: "x", command: "/bin/job", log: "/var/log/j.log", after: "mariadb.service", when: { everyMinutes: 5 } });
    expect(files.map((f) => f.path)).toEqual(["/d/u.service", "/d/u.timer", "/d/u.cron"]);
    expect(files[0].content).toContain("ExecStart=/bin/bash -c '/bin/job >>/var/log/j.log 2>&1'");
    expect(files[0].content).toContain("After=mariadb.service");
    expect(files[1].content).toContain("OnUnitActiveSec=5min");
    expect(files[2].content).toContain("*/5 * * * * root /bin/job >>/var/log/j.log 2>&1");
    const daily = renderJobFiles("/d", { unit: "u", description: "x", command: "/bin/job", log: "/l", when: { key: "k", schedule: { intervalHours: 24, startTime: "02:15" } } });
    expect(daily[1].content).toContain("OnCalendar=*-*-* 02/24:15:00\nPersistent=true");
  });
});
