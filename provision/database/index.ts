/** Renderers of the encrypted database host (MariaDB 10.11 / MySQL 8.4). */
export * from "./options";
export * from "./steps";
export { ROTATION_COMMAND, ROTATION_CRON_FILE, ROTATION_UNIT } from "./schedule";
export { MARIADB_ENCRYPTION_CNF, MARIADB_KEY_ID_CNF, mariadbKeyFiles } from "./mariadb";
export { MYSQL_ENCRYPTION_CNF, MYSQL_KEYRING_CONFIG, MYSQL_MANIFEST, mysqlKeyringFile } from "./mysql";
