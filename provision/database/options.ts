/**
 * Options of the encrypted-database renderers, their defaults (applied here and nowhere else) and
 * their validation. Everything rendered from them is pure text: the same bytes go to EC2 through
 * the Host component and to the local test hosts in the host tests.
 */

export type DatabaseEngine = "mariadb" | "mysql";
export const DATABASE_ENGINES: readonly DatabaseEngine[] = ["mariadb", "mysql"];

/** How often the host rotates its keys by itself (systemd timer on EC2, cron file without systemd). */
export type KeyRotationSchedule = "daily" | "weekly" | "monthly" | "off";
export const KEY_ROTATION_SCHEDULES: readonly KeyRotationSchedule[] = ["daily", "weekly", "monthly", "off"];

export interface DatabaseProvisionOptions {
  engine: DatabaseEngine;
  /** Application database created on the host. @default "app" */
  databaseName?: string;
  /** Application user, granted all privileges on `databaseName` only. @default "app" */
  appUser?: string;
  /** Host part of the application account ('%' = any; the security group limits who can connect). @default "%" */
  appUserHost?: string;
  /**
   * Directory of the key material: its own EBS volume on EC2, so keys and data are never on the
   * same disk. @default "/var/lib/mysql-keyring"
   */
  keyDir?: string;
  /** Address the server listens on. @default "0.0.0.0" */
  bindAddress?: string;
  /** Background encryption threads (MariaDB); must be > 0 or existing tablespaces are never encrypted. @default 4 */
  encryptionThreads?: number;
  /** MariaDB `innodb_encryption_rotate_key_age`; must be > 0 for the background threads to run. @default 1 */
  rotateKeyAge?: number;
  /** @default "monthly" */
  keyRotationSchedule?: KeyRotationSchedule;
  /** Binary logs older than this are purged. @default 7 */
  binlogExpireDays?: number;
  /** @default 1 */
  serverId?: number;
  /**
   * Encrypt at rest. `false` renders a deliberately UNENCRYPTED server and exists only for the
   * negative control of the host tests and for the benchmark baseline; the component never uses it.
   * @default true
   */
  encryption?: boolean;
}

export type ResolvedDatabaseOptions = Required<DatabaseProvisionOptions>;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
const HOST_PATTERN = /^[A-Za-z0-9.%_:-]{1,60}$/;
const ABS_DIR = /^\/[A-Za-z0-9._\/-]+$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function fail(key: string, value: unknown, allowed: string): never {
  throw new Error(`database option ${key}: invalid value ${JSON.stringify(value)} (allowed: ${allowed})`);
}

function intIn(key: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) fail(key, v, `a whole number from ${min} to ${max}`);
  return v;
}

/** Applies the defaults and validates; throws naming the option, the value and what is allowed. */
export function resolveDatabaseOptions(o: DatabaseProvisionOptions): ResolvedDatabaseOptions {
  const r: ResolvedDatabaseOptions = {
    engine: o.engine,
    databaseName: o.databaseName ?? "app",
    appUser: o.appUser ?? "app",
    appUserHost: o.appUserHost ?? "%",
    keyDir: o.keyDir ?? "/var/lib/mysql-keyring",
    bindAddress: o.bindAddress ?? "0.0.0.0",
    encryptionThreads: o.encryptionThreads ?? 4,
    rotateKeyAge: o.rotateKeyAge ?? 1,
    keyRotationSchedule: o.keyRotationSchedule ?? "monthly",
    binlogExpireDays: o.binlogExpireDays ?? 7,
    serverId: o.serverId ?? 1,
    encryption: o.encryption ?? true,
  };
  if (!DATABASE_ENGINES.includes(r.engine)) fail("engine", r.engine, DATABASE_ENGINES.join(", "));
  if (!IDENT.test(r.databaseName)) fail("databaseName", r.databaseName, "letters, digits and _, starting with a letter or _, at most 32 characters");
  if (!IDENT.test(r.appUser) || r.appUser.toLowerCase() === "root") {
    fail("appUser", r.appUser, "letters, digits and _, starting with a letter or _, at most 32 characters, not root");
  }
  if (!HOST_PATTERN.test(r.appUserHost)) fail("appUserHost", r.appUserHost, "a MySQL host pattern such as %, 10.0.% or 10.0.1.5");
  if (!ABS_DIR.test(r.keyDir) || r.keyDir.includes("..") || r.keyDir === "/" || r.keyDir.replace(/\/+$/, "") === "/var/lib/mysql") {
    fail("keyDir", r.keyDir, "an absolute directory outside the data directory /var/lib/mysql, e.g. /var/lib/mysql-keyring");
  }
  const ip = IPV4.exec(r.bindAddress);
  if (!ip || ip.slice(1).some((x) => Number(x) > 255)) fail("bindAddress", r.bindAddress, "an IPv4 address such as 0.0.0.0 or 10.0.1.5");
  intIn("encryptionThreads", r.encryptionThreads, 1, 255);
  intIn("rotateKeyAge", r.rotateKeyAge, 1, 1_000_000);
  if (!KEY_ROTATION_SCHEDULES.includes(r.keyRotationSchedule)) fail("keyRotationSchedule", r.keyRotationSchedule, KEY_ROTATION_SCHEDULES.join(", "));
  intIn("binlogExpireDays", r.binlogExpireDays, 1, 99);
  intIn("serverId", r.serverId, 1, 4_294_967_295);
  if (typeof r.encryption !== "boolean") fail("encryption", r.encryption, "true or false");
  return r;
}

/** Fixed locations (both engines use Debian's layout). */
export const PATHS = {
  dataDir: "/var/lib/mysql",
  /** Root-only: scripts, password files, the root client config, schedule templates. */
  opsDir: "/etc/mysql/opsfleet",
  errorLog: "/var/log/mysql/error.log",
  /** Written into the data directory once the server has run encrypted: keys must exist from then on. */
  encryptedMarker: "/var/lib/mysql/.opsfleet-encrypted",
  /** Written by db-install when it initialises an empty data directory under keys of a backed-up
   * lineage (data volume lost, key volume kept): no backup or binlog shipment until a restore. */
  needsRestoreMarker: "/var/lib/mysql/.opsfleet-needs-restore",
} as const;

/** Names the data the keys belong to (random, made with the first key backup; a restore adopts the stored one). */
export const LINEAGE_FILE = "opsfleet-lineage";

export const SCRIPT_PATHS = {
  rotate: `${PATHS.opsDir}/rotate-keys`,
  verify: `${PATHS.opsDir}/verify-encryption`,
  rootPassword: `${PATHS.opsDir}/root-password`,
  appPassword: `${PATHS.opsDir}/app-password`,
  rootClientCnf: `${PATHS.opsDir}/root-client.cnf`,
  scheduleDir: `${PATHS.opsDir}/schedule`,
} as const;
