/**
 * When backups run. One schedule shape for every system — an interval of hours from the set the
 * Data Lifecycle Manager accepts, anchored at a UTC start time — rendered as a systemd timer
 * (EC2), a cron line (hosts without systemd), an Elasticsearch SLM cron and a DLM create rule, so
 * the host jobs, the snapshots and the SLM policy all say the same thing.
 */
import type { RenderedFile } from "../common/types";

/** Intervals DLM accepts for a create rule (hours); the host jobs use the same set. */
export const INTERVAL_HOURS = [1, 2, 3, 4, 6, 8, 12, 24] as const;
export type IntervalHours = (typeof INTERVAL_HOURS)[number];

export interface IntervalSchedule {
  /** @default 24 */
  intervalHours: IntervalHours;
  /** First run of the day, "HH:MM" UTC. */
  startTime: string;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Throws naming `key` when the schedule is one AWS (DLM) would reject. */
export function checkSchedule(key: string, s: IntervalSchedule): { hour: number; minute: number; every: number } {
  if (!(INTERVAL_HOURS as readonly number[]).includes(s.intervalHours)) {
    throw new Error(`${key}.intervalHours: invalid value ${JSON.stringify(s.intervalHours)} (allowed: ${INTERVAL_HOURS.join(", ")} — the intervals DLM accepts)`);
  }
  const m = HHMM.exec(s.startTime);
  if (!m) throw new Error(`${key}.startTime: invalid value ${JSON.stringify(s.startTime)} (allowed: "HH:MM", 24-hour UTC, e.g. "02:15")`);
  return { hour: Number(m[1]) % s.intervalHours, minute: Number(m[2]), every: s.intervalHours };
}

const pad = (n: number) => String(n).padStart(2, "0");

/** systemd OnCalendar, e.g. every 6 h from 02:15 -> "*-*-* 02/6:15:00". */
export function onCalendar(key: string, s: IntervalSchedule): string {
  const c = checkSchedule(key, s);
  return `*-*-* ${pad(c.hour)}/${c.every}:${pad(c.minute)}:00`;
}

/** The five cron fields, e.g. "15 2-23/6 * * *". */
export function cronFields(key: string, s: IntervalSchedule): string {
  const c = checkSchedule(key, s);
  return `${c.minute} ${c.hour}-23/${c.every} * * *`;
}

/** Elasticsearch (Quartz) cron for SLM, e.g. "0 15 2/6 * * ?". */
export function slmCron(key: string, s: IntervalSchedule): string {
  const c = checkSchedule(key, s);
  return `0 ${c.minute} ${c.hour}/${c.every} * * ?`;
}

/** A job a host runs by itself: a oneshot service started by a timer (or a cron line). */
export interface BackupJob {
  /** systemd unit name without suffix, e.g. "opsfleet-db-backup". */
  unit: string;
  description: string;
  /** Command line run as root (its output is appended to `log`). */
  command: string;
  log: string;
  /** Unit the job runs after (e.g. "mariadb.service"). */
  after?: string;
  /** A calendar schedule, or a fixed period in minutes (binlog shipping). */
  when: { schedule: IntervalSchedule; key: string } | { everyMinutes: number };
}

export function renderJobFiles(dir: string, job: BackupJob): RenderedFile[] {
  const run = `${job.command} >>${job.log} 2>&1`;
  const timer = "schedule" in job.when
    ? [`OnCalendar=${onCalendar(job.when.key, job.when.schedule)}`, "Persistent=true"]
    : ["OnBootSec=2min", `OnUnitActiveSec=${job.when.everyMinutes}min`, "AccuracySec=10s"];
  const cron = "schedule" in job.when ? cronFields(job.when.key, job.when.schedule) : `*/${job.when.everyMinutes} * * * *`;
  return [
    {
      path: `${dir}/${job.unit}.service`,
      content: ["[Unit]", `Description=opsfleet: ${job.description}`, ...(job.after ? [`After=${job.after}`] : []), "",
        "[Service]", "Type=oneshot", `ExecStart=/bin/bash -c '${run}'`, ""].join("\n"),
    },
    {
      path: `${dir}/${job.unit}.timer`,
      content: ["[Unit]", `Description=opsfleet: ${job.description} (schedule)`, "", "[Timer]", ...timer, "", "[Install]", "WantedBy=timers.target", ""].join("\n"),
    },
    {
      path: `${dir}/${job.unit}.cron`,
      content: ["# opsfleet: " + job.description + " (hosts without systemd)", "SHELL=/bin/bash",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", `${cron} root ${run}`, ""].join("\n"),
    },
  ];
}

/**
 * Installs the jobs: systemd timers on EC2, /etc/cron.d otherwise; on a local test host (which
 * shares /etc/cron.d with the machine) the files stay rendered only.
 */
export function installJobsScript(dir: string, jobs: BackupJob[]): string {
  return jobs.map((j) => `if [ -d /run/systemd/system ]; then
  install -m 0644 ${dir}/${j.unit}.service ${dir}/${j.unit}.timer /etc/systemd/system/
  systemctl daemon-reload
  systemctl enable --now ${j.unit}.timer
  echo "${j.unit}: systemd timer installed"
elif [ -e /run/opsfleet-test-host ]; then
  echo "${j.unit}: test host, cron file rendered at ${dir}/${j.unit}.cron (not installed)"
else
  install -m 0644 ${dir}/${j.unit}.cron /etc/cron.d/${j.unit}
  echo "${j.unit}: /etc/cron.d/${j.unit} installed"
fi`).join("\n");
}
