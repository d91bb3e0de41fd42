/**
 * The key-rotation schedule: a systemd timer on EC2, a cron file on hosts without systemd. Both are
 * rendered into the root-only ops directory and installed by the step script, which picks one:
 * on a local test host /etc/cron.d belongs to the real machine, so the cron file stays rendered only.
 */
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

/** The command both the timer and the cron file run (the same one an operator runs on demand). */
export const ROTATION_COMMAND = `${SCRIPT_PATHS.rotate} >>${ROTATION_LOG} 2>&1`;

export function renderSchedule(engine: DatabaseEngine, schedule: KeyRotationSchedule): RenderedFile[] {
  if (schedule === "off") return [];
  const dir = SCRIPT_PATHS.scheduleDir;
  return [
    {
      path: `${dir}/${ROTATION_UNIT}.service`,
      content: [
        "[Unit]",
        "Description=opsfleet: rotate the database encryption keys",
        `After=${engine === "mariadb" ? "mariadb" : "mysql"}.service`,
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=/bin/sh -c '${ROTATION_COMMAND}'`,
        "",
      ].join("\n"),
    },
    {
      path: `${dir}/${ROTATION_UNIT}.timer`,
      content: [
        "[Unit]",
        "Description=opsfleet: scheduled database key rotation",
        "",
        "[Timer]",
        `OnCalendar=${schedule}`,
        "RandomizedDelaySec=1h",
        "Persistent=true",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
      ].join("\n"),
    },
    {
      path: `${dir}/${ROTATION_UNIT}.cron`,
      content: [
        "# opsfleet: scheduled database key rotation (used on hosts without systemd)",
        "SHELL=/bin/bash",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        `${CRON[schedule]} root ${ROTATION_COMMAND}`,
        "",
      ].join("\n"),
    },
  ];
}

export function scheduleInstallScript(schedule: KeyRotationSchedule): string {
  const dir = SCRIPT_PATHS.scheduleDir;
  const unitDir = "/etc/systemd/system";
  if (schedule === "off") {
    return `if [ -d /run/systemd/system ]; then
  systemctl disable --now ${ROTATION_UNIT}.timer >/dev/null 2>&1 || true
  rm -f ${unitDir}/${ROTATION_UNIT}.service ${unitDir}/${ROTATION_UNIT}.timer; systemctl daemon-reload
elif [ ! -e /run/opsfleet-test-host ]; then
  rm -f ${ROTATION_CRON_FILE}
fi
rm -rf ${dir}
echo "key rotation schedule: off (run ${SCRIPT_PATHS.rotate} on demand)"`;
  }
  return `if [ -d /run/systemd/system ]; then
  install -m 0644 ${dir}/${ROTATION_UNIT}.service ${dir}/${ROTATION_UNIT}.timer ${unitDir}/
  systemctl daemon-reload
  systemctl enable --now ${ROTATION_UNIT}.timer
  rm -f ${ROTATION_CRON_FILE}
  echo "key rotation schedule: systemd timer ${ROTATION_UNIT}.timer (${schedule})"
elif [ -e /run/opsfleet-test-host ]; then
  # a local test host shares /etc/cron.d with the real machine: never install there
  echo "key rotation schedule: test host, cron file rendered at ${dir}/${ROTATION_UNIT}.cron (not installed)"
else
  install -m 0644 ${dir}/${ROTATION_UNIT}.cron ${ROTATION_CRON_FILE}
  echo "key rotation schedule: ${ROTATION_CRON_FILE} (${schedule})"
fi
echo "on demand: ${SCRIPT_PATHS.rotate}"`;
}

