import { BACKUP_JOBS, backupJobs } from "./metrics";
import { renderDatabaseBackupStep } from "./database";
import { renderRedisBackupStep } from "./redis";
import { renderEsSnapshotStep } from "./elasticsearch";

/** `SYSTEM/JOB` pairs a rendered step's scripts publish (success and failure paths). */
const published = (files: { content: string }[]) =>
  [...new Set(files.flatMap((f) => [...f.content.matchAll(/\bmetric (\w+) (\w+) [01] /g)].map((m) => `${m[1]}/${m[2]}`)))].sort();

test("the jobs table is exactly what the rendered scripts publish (the alarms watch these dimensions)", () => {
  const db = renderDatabaseBackupStep({
    database: { engine: "mariadb" }, target: { bucket: "b-1a", prefix: "database/dev-db", region: "eu-west-1", hostLabel: "dev-db-host", metricNamespace: "Opsfleet/Hosts/dev" },
    keyParameter: "/opsfleet/dev/database/keys", keyStoreKmsKeyId: "alias/x", schedule: { intervalHours: 24, startTime: "02:15" }, recoveryPointMinutes: 5,
  });
  const redis = renderRedisBackupStep({ target: { bucket: "b-1a", prefix: "redis/dev-redis/dev-redis-0", region: "eu-west-1", hostLabel: "dev-redis-0", metricNamespace: "Opsfleet/Hosts/dev" }, clusterPrefix: "redis/dev-redis", privateIp: "10.0.1.5", schedule: { intervalHours: 6, startTime: "00:45" } });
  expect(published(db.files)).toEqual(BACKUP_JOBS.database.map((j) => `database/${j}`).sort());
  expect(published(redis.files)).toEqual(BACKUP_JOBS.redis.map((j) => `redis/${j}`).sort());
  const es = renderEsSnapshotStep({ bucket: "b-1a", basePath: "elasticsearch/dev-es", schedule: { intervalHours: 24, startTime: "01:30" }, expireAfterDays: 14, minCount: 5, maxCount: 50,
    status: { region: "eu-west-1", hostLabel: "dev-es-master-0", metricNamespace: "Opsfleet/Hosts/dev" } }, "https://10.0.1.11:9200");
  expect(published(es.files)).toEqual(BACKUP_JOBS.elasticsearch.map((j) => `elasticsearch/${j}`).sort());
});

test("jobs per host with their intervals in minutes: full and binlog on the database host, rdb on every Redis host", () => {
  expect(backupJobs({ database: { host: "dev-db-host", intervalHours: 12, recoveryPointMinutes: 5 }, redis: { hosts: ["dev-redis-0", "dev-redis-1"], intervalHours: 6 } })).toEqual([
    { system: "database", job: "full", host: "dev-db-host", intervalMinutes: 720 },
    { system: "database", job: "binlog", host: "dev-db-host", intervalMinutes: 5 },
    { system: "redis", job: "rdb", host: "dev-redis-0", intervalMinutes: 360 },
    { system: "redis", job: "rdb", host: "dev-redis-1", intervalMinutes: 360 },
  ]);
  expect(backupJobs({ elasticsearch: { host: "dev-es-master-0", intervalHours: 24 } })).toEqual([{ system: "elasticsearch", job: "slm", host: "dev-es-master-0", intervalMinutes: 1440 }]);
  expect(backupJobs({})).toEqual([]);
});
