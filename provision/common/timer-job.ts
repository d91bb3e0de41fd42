/**
 * A job a host runs by itself: a oneshot systemd service started by a timer on EC2, or a line in
 * /etc/cron.d on hosts without systemd. Key rotation, health checks and backups all use this one
 * shape. Both forms are rendered into a root-only directory; the install script picks one. On a
 * local test host /etc/cron.d belongs to the real machine, so there the cron file stays rendered.
 */
import type { RenderedFile } from "./types";

export const HOST_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface TimerJob {
  /** systemd unit name without suffix, e.g. "opsfleet-db-backup"; also the /etc/cron.d file name (no dot: cron ignores those). */
  unit: string;
  /** What the job does, one line. */
  description: string;
  /** Command line run as root. */
  command: string;
  /** Log file the command's output is appended to. */
  log: string;
  /** Under systemd, leave the output to the journal (rotated) instead of `log`: for jobs that run every minute. @default false */
  journal?: boolean;
  /** Unit the job runs after (e.g. "mariadb.service"). */
  after?: string;
  /** `[Timer]` lines, e.g. ["OnCalendar=weekly", "Persistent=true"]. */
  timer: string[];
  /** The five cron fields for hosts without systemd, e.g. "17 3 * * 0". */
  cron: string;
  /** Extra `[Service]` lines, e.g. a start timeout. */
  service?: string[];
  /**
   * Start one run right after the first install on a host (in the background), so a job on a long
   * schedule reports from the start instead of leaving its alarm without data until its first slot.
   * @default false
   */
  firstRun?: boolean;
}

/** The command line both forms run: the job's command with its output appended to the log. */
export const jobCommandLine = (job: TimerJob) => `${job.command} >>${job.log} 2>&1`;

export function renderTimerJobFiles(dir: string, job: TimerJob): RenderedFile[] {
  const run = jobCommandLine(job);
  return [
    {
      path: `${dir}/${job.unit}.service`,
      content: ["[Unit]", `Description=opsfleet: ${job.description}`, ...(job.after ? [`After=${job.after}`] : []), "",
        "[Service]", "Type=oneshot", job.journal ? `ExecStart=${job.command}` : `ExecStart=/bin/bash -c '${run}'`, ...(job.service ?? []), ""].join("\n"),
    },
    {
      path: `${dir}/${job.unit}.timer`,
      content: ["[Unit]", `Description=opsfleet: ${job.description} (schedule)`, "", "[Timer]", ...job.timer, "", "[Install]", "WantedBy=timers.target", ""].join("\n"),
    },
    {
      path: `${dir}/${job.unit}.cron`,
      content: [`# opsfleet: ${job.description} (hosts without systemd)`, "SHELL=/bin/bash", HOST_PATH, `${job.cron} root ${run}`, ""].join("\n"),
    },
  ];
}

/** Installs the jobs rendered into `dir`: systemd timers on EC2, /etc/cron.d otherwise. */
export function installTimerJobsScript(dir: string, jobs: (Pick<TimerJob, "unit"> & Partial<TimerJob>)[]): string {
  return jobs.map((j) => `${installOne(dir, j)}${j.firstRun && j.command && j.log ? `\n${firstRunScript(dir, j as TimerJob)}` : ""}`).join("\n");
}

/** Once per host (a marker in `dir`): one background run now; a test host runs its jobs explicitly. */
function firstRunScript(dir: string, j: TimerJob): string {
  return `if [ ! -e ${dir}/${j.unit}.first-run ]; then
  if [ -d /run/systemd/system ]; then
    systemctl start --no-block ${j.unit}.service
    echo "${j.unit}: first run started"
  elif [ -e /run/opsfleet-test-host ]; then
    echo "${j.unit}: test host, first run not started"
  else
    setsid bash -c '${jobCommandLine(j)}' </dev/null >/dev/null 2>&1 &
    echo "${j.unit}: first run started"
  fi
  date +%s > ${dir}/${j.unit}.first-run
fi`;
}

function installOne(dir: string, j: Pick<TimerJob, "unit">): string {
  return `if [ -d /run/systemd/system ]; then
  install -m 0644 ${dir}/${j.unit}.service ${dir}/${j.unit}.timer /etc/systemd/system/
  systemctl daemon-reload
  systemctl enable --now ${j.unit}.timer
  rm -f /etc/cron.d/${j.unit}
  echo "${j.unit}: systemd timer installed"
elif [ -e /run/opsfleet-test-host ]; then
  echo "${j.unit}: test host, cron file rendered at ${dir}/${j.unit}.cron (not installed)"
else
  install -m 0644 ${dir}/${j.unit}.cron /etc/cron.d/${j.unit}
  echo "${j.unit}: /etc/cron.d/${j.unit} installed"
fi`;
}

/** Stops and removes a job installed by {@link installTimerJobsScript} (either form). */
export function removeTimerJobScript(unit: string): string {
  return `if [ -d /run/systemd/system ]; then
  systemctl disable --now ${unit}.timer >/dev/null 2>&1 || true
  rm -f /etc/systemd/system/${unit}.service /etc/systemd/system/${unit}.timer; systemctl daemon-reload
elif [ ! -e /run/opsfleet-test-host ]; then
  rm -f /etc/cron.d/${unit}
fi`;
}
