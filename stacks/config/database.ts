/** `opsfleet:database`: the encrypted MySQL/MariaDB host. Passwords are the secrets dbRootPassword / dbAppPassword. */
import { z } from "zod";
import { instanceType, intBetween } from "./common";
import { GP3, gp3IopsProblem } from "./aws-limits";
import { DATABASE_ENGINES, KEY_ROTATION_SCHEDULES } from "../../provision/database/options";

const identifier = (what: string) =>
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/, { message: `must be a ${what}: letters, digits and _, starting with a letter or _, at most 32 characters` });

export const databaseConfigSchema = z
  .strictObject({
    engine: z.enum(DATABASE_ENGINES).default("mariadb")
      .describe("mariadb: Debian 12's MariaDB 10.11 with file_key_management (encrypts tables, redo log, binlog, temp files). mysql: MySQL 8.4 LTS from Oracle's apt repository with component_keyring_file."),
    instanceType: instanceType.default("t3.medium").describe("EC2 instance type of the database host."),
    subnetIndex: intBetween(0, 5).default(0).describe("Which private subnet (AZ) the host goes in: index into the private subnets."),
    dataVolumeSizeGb: intBetween(8, 16384).default(50).describe("Encrypted gp3 EBS volume for the data directory /var/lib/mysql (GiB)."),
    dataVolumeIops: intBetween(GP3.minIops, GP3.maxIops).default(3000).describe("gp3 IOPS of the data volume: 3000 always, above that at most 500 per GiB of dataVolumeSizeGb, up to 80000 (AWS's gp3 limits)."),
    keyVolumeSizeGb: intBetween(1, 16).default(1).describe("Separate encrypted gp3 EBS volume for the key material (GiB): keys never share a disk with the data."),
    databaseName: identifier("database name").default("app").describe("Application database created on the host."),
    appUser: identifier("user name").refine((u) => u.toLowerCase() !== "root", { message: "must not be root (the application gets its own user)" })
      .default("app").describe("Application user: all privileges on databaseName only; its password is the secret dbAppPassword."),
    appUserHost: z.string().regex(/^[A-Za-z0-9.%_:-]{1,60}$/, { message: "must be a MySQL host pattern such as %, 10.0.% or 10.0.1.5" }).default("%")
      .describe("Host part of the application account; the security group already limits 3306 to the client security groups."),
    keyRotationSchedule: z.enum(KEY_ROTATION_SCHEDULES).default("monthly")
      .describe("Automatic key rotation on the host (systemd timer). MariaDB rotation restarts the server for a few seconds (the key plugin reads keys at startup only); MySQL's does not. off: on demand only."),
    encryptionThreads: intBetween(1, 64).optional().describe("MariaDB innodb_encryption_threads (background (re-)encryption of tablespaces). Default 4."),
    binlogExpireDays: intBetween(1, 99).default(7).describe("Binary logs older than this many days are purged."),
  })
  .superRefine((c, ctx) => {
    const iops = gp3IopsProblem(c.dataVolumeIops, c.dataVolumeSizeGb);
    if (iops) ctx.addIssue({ code: "custom", path: ["dataVolumeIops"], input: c.dataVolumeIops, message: `${iops} (dataVolumeSizeGb ${c.dataVolumeSizeGb})` });
    if (c.engine === "mysql" && c.encryptionThreads !== undefined) {
      ctx.addIssue({ code: "custom", path: ["encryptionThreads"], input: c.encryptionThreads, message: "only applies to engine mariadb (MySQL encrypts tablespaces synchronously); remove it or set engine: mariadb" });
    }
  })
  .describe("Encrypted database host.");

export type DatabaseConfig = z.infer<typeof databaseConfigSchema>;
