import { spawnSync } from "node:child_process";
import { installTimerJobsScript, removeTimerJobScript, renderTimerJobFiles, type TimerJob } from "./timer-job";

const job: TimerJob = {
  unit: "opsfleet-x", description: "do x", command: "/opt/x --now", log: "/var/log/x.log",
  after: "redis.service", timer: ["OnCalendar=daily", "Persistent=true"], cron: "5 4 * * *", service: ["TimeoutStartSec=50"],
};

test("service, timer and cron line run the same command into the same log", () => {
  const [service, timer, cron] = renderTimerJobFiles("/etc/opsfleet/x", job);
  expect([service.path, timer.path, cron.path]).toEqual(["/etc/opsfleet/x/opsfleet-x.service", "/etc/opsfleet/x/opsfleet-x.timer", "/etc/opsfleet/x/opsfleet-x.cron"]);
  expect(service.content).toBe("[Unit]\nDescription=opsfleet: do x\nAfter=redis.service\n\n[Service]\nType=oneshot\nExecStart=/bin/bash -c '/opt/x --now >>/var/log/x.log 2>&1'\nTimeoutStartSec=50\n");
  expect(timer.content).toContain("[Timer]\nOnCalendar=daily\nPersistent=true\n\n[Install]\nWantedBy=timers.target");
  // cron starts with a bare environment: the job gets the same PATH as under systemd
  expect(cron.content).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n5 4 * * * root /opt/x --now >>/var/log/x.log 2>&1\n");
});

test("install picks systemd, else cron, and never writes the machine's /etc/cron.d from a test host; remove undoes either", () => {
  const install = installTimerJobsScript("/etc/opsfleet/x", [job, { unit: "opsfleet-y" }]);
  expect(install).toContain("systemctl enable --now opsfleet-x.timer");
  expect(install).toContain("systemctl enable --now opsfleet-y.timer");
  expect(install).toMatch(/elif \[ -e \/run\/opsfleet-test-host \]; then\n  echo "opsfleet-x: test host[^\n]*\nelse\n  install -m 0644 \/etc\/opsfleet\/x\/opsfleet-x.cron \/etc\/cron.d\/opsfleet-x/);
  const remove = removeTimerJobScript("opsfleet-x");
  expect(remove).toContain("systemctl disable --now opsfleet-x.timer");
  expect(remove).toContain("rm -f /etc/cron.d/opsfleet-x");
  for (const script of [install, remove]) expect(spawnSync("bash", ["-n"], { input: script }).status).toBe(0);
});

test("a job that runs every minute can leave its output to the journal under systemd (rotated); cron still appends to its log", () => {
  const [service, , cron] = renderTimerJobFiles("/d", { ...job, journal: true });
  expect(service.content).toContain("ExecStart=/opt/x --now\n");
  expect(cron.content).toContain("root /opt/x --now >>/var/log/x.log 2>&1");
});

test("a job with firstRun starts once after its first install on a host (not on a test host), so its alarm has data from the start", () => {
  const install = installTimerJobsScript("/d", [{ ...job, firstRun: true }]);
  expect(install).toContain("if [ ! -e /d/opsfleet-x.first-run ]; then");
  expect(install).toContain("systemctl start --no-block opsfleet-x.service");
  expect(install).toContain("setsid bash -c '/opt/x --now >>/var/log/x.log 2>&1' </dev/null >/dev/null 2>&1 &");
  expect(install).toMatch(/opsfleet-test-host \]; then\n    echo "opsfleet-x: test host, first run not started"/);
  expect(install).toContain("date +%s > /d/opsfleet-x.first-run");
  expect(installTimerJobsScript("/d", [job])).not.toContain("first-run");
  expect(spawnSync("bash", ["-n"], { input: install }).status).toBe(0);
});
