/**
 * The key-rotation schedule: a timer job (provision/common/timer-job.ts) that runs the same
 * rotation script an operator runs on demand.
 */
import { installTimerJobsScript, jobCommandLine, removeTimerJobScript, renderTimerJobFiles, type TimerJob } from "../common/timer-job";
import type { RenderedFile } from "../common/types";
import { SCRIPT_PATHS, type DatabaseEngine, type KeyRotationSchedule } from "./options";

export const ROTATION_UNIT = "opsfleet-db-key-rotation";
export const ROTATION_LOG = "/var/log/mysql/key-rotation.log";
/** Without a dot: cron ignores /etc/cron.d files whose names contain one. */
export const ROTATION_CRON_FILE = `/etc/cron.d/${ROTATION_UNIT}`;

const CRON: Record<Exclude<KeyRotationSchedule, "off">, string> = {
  daily: "17 3 * * *",
  weekly: "17 3 * * 0",
  monthly: "17 3 1 * *",
};

function rotationJob(engine: DatabaseEngine, schedule: Exclude<KeyRotationSchedule, "off">): TimerJob {
  return {
    unit: ROTATION_UNIT,
    description: "rotate the database encryption keys",
    command: SCRIPT_PATHS.rotate,
    log: ROTATION_LOG,
    after: `${engine === "mariadb" ? "mariadb" : "mysql"}.service`,
    timer: [`OnCalendar=${schedule}`, "RandomizedDelaySec=1h", "Persistent=true"],
    cron: CRON[schedule],
  };
}

/** The command both the timer and the cron file run (the same one an operator runs on demand). */
export const ROTATION_COMMAND = jobCommandLine(rotationJob("mariadb", "weekly"));

export function renderSchedule(engine: DatabaseEngine, schedule: KeyRotationSchedule): RenderedFile[] {
  return schedule === "off" ? [] : renderTimerJobFiles(SCRIPT_PATHS.scheduleDir, rotationJob(engine, schedule));
}

export function scheduleInstallScript(schedule: KeyRotationSchedule): string {
  const dir = SCRIPT_PATHS.scheduleDir;
  if (schedule === "off") {
    return `${removeTimerJobScript(ROTATION_UNIT)}
rm -rf ${dir}
echo "key rotation schedule: off (run ${SCRIPT_PATHS.rotate} on demand)"`;
  }
  return `${installTimerJobsScript(dir, [{ unit: ROTATION_UNIT }])}
echo "key rotation schedule: ${schedule}; on demand: ${SCRIPT_PATHS.rotate}"`;
}
