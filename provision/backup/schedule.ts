/**
 * When backups run. One schedule shape for every system — an interval of hours from the set the
 * Data Lifecycle Manager accepts, anchored at a UTC start time — rendered as a systemd timer
 * (EC2), a cron line (hosts without systemd), an Elasticsearch SLM cron and a DLM create rule, so
 * the host jobs, the snapshots and the SLM policy all say the same thing.
 */
import { renderTimerJobFiles, type TimerJob } from "../common/timer-job";
import type { RenderedFile } from "../common/types";

/** Intervals DLM accepts for a create rule (hours); the host jobs use the same set. */
export const INTERVAL_HOURS = [1, 2, 3, 4, 6, 8, 12, 24] as const;
export type IntervalHours = (typeof INTERVAL_HOURS)[number];

export interface IntervalSchedule {
  /** @default 24 */
  intervalHours: IntervalHours;
  /** A run time, "HH:MM" UTC; runs repeat every `intervalHours` around the clock (02:15 every 6 h: 02:15, 08:15, 14:15, 20:15). */
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

/** A run that starts up to this long before its scheduled time still belongs to it (clock skew, a manual run). */
export const RUN_TOLERANCE_SECONDS = 300;

/**
 * The scheduled run a backup started at `nowEpoch` (seconds) belongs to: the most recent scheduled
 * time at or before it (plus the tolerance). Every host's run of one schedule slot names the same
 * time however late its timer fired (spread, catch-up after a reboot), until the next slot begins.
 */
export function scheduledRun(key: string, s: IntervalSchedule, nowEpoch: number, toleranceSeconds = RUN_TOLERANCE_SECONDS): number {
  const c = checkSchedule(key, s);
  const period = c.every * 3600;
  const offset = c.hour * 3600 + c.minute * 60;
  return Math.floor((nowEpoch + toleranceSeconds - offset) / period) * period + offset;
}

/** The same computation in bash: `scheduled_run EPOCH` prints the epoch of the scheduled run. */
export function scheduledRunBash(key: string, s: IntervalSchedule, toleranceSeconds = RUN_TOLERANCE_SECONDS): string {
  const c = checkSchedule(key, s);
  const period = c.every * 3600;
  const offset = c.hour * 3600 + c.minute * 60;
  return `scheduled_run() { echo $(( ($1 + ${toleranceSeconds} - ${offset}) / ${period} * ${period} + ${offset} )); }`;
}

/** A backup job: a timer job whose schedule is a backup interval or a fixed period in minutes. */
export interface BackupJob extends Omit<TimerJob, "timer" | "cron"> {
  /** A calendar schedule, or a fixed period in minutes (binlog shipping). */
  when: { schedule: IntervalSchedule; key: string } | { everyMinutes: number };
}

export function toTimerJob({ when, ...job }: BackupJob): TimerJob {
  return "schedule" in when
    ? { ...job, timer: [`OnCalendar=${onCalendar(when.key, when.schedule)}`, "Persistent=true"], cron: cronFields(when.key, when.schedule) }
    : { ...job, timer: ["OnBootSec=2min", `OnUnitActiveSec=${when.everyMinutes}min`, "AccuracySec=10s"], cron: `*/${when.everyMinutes} * * * *` };
}

export const renderJobFiles = (dir: string, job: BackupJob): RenderedFile[] => renderTimerJobFiles(dir, toTimerJob(job));
