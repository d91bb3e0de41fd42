import type { RenderedFile, RenderedStep } from "../common/types";

/** Elastic's package signing key (https://artifacts.elastic.co/GPG-KEY-elasticsearch). */
export const ELASTIC_GPG_FINGERPRINT = "46095ACC8548582C1A2699A9D27D666CD88E42B4";
export const ELASTIC_KEYRING = "/usr/share/keyrings/elasticsearch-keyring.gpg";

/** The Elastic release installed unless the config pins another (one place for every default). */
export const DEFAULT_ELASTIC_VERSION = "8.19.2";

/** Elastic 8.x packages (elasticsearch, logstash, kibana) share one version line. */
export const ELASTIC_VERSION_PATTERN = /^8\.\d{1,2}\.\d{1,2}$/;

export type ElasticPackage = "elasticsearch" | "logstash" | "kibana";

export function checkElasticVersion(version: string, what = "version"): void {
  if (!ELASTIC_VERSION_PATTERN.test(version)) {
    throw new Error(`${what}: ${JSON.stringify(version)} is not an Elastic 8.x release (allowed: 8.<minor>.<patch>, e.g. 8.19.2)`);
  }
}

/** The apt source for the version's major line, signed by the pinned keyring only. */
export function renderElasticAptSource(version: string): RenderedFile {
  checkElasticVersion(version);
  const major = version.split(".")[0];
  return {
    path: `/etc/apt/sources.list.d/elastic-${major}.x.list`,
    content: `deb [signed-by=${ELASTIC_KEYRING}] https://artifacts.elastic.co/packages/${major}.x/apt stable main\n`,
    mode: "0644",
  };
}

/**
 * Writes the apt source only after the keyring exists: a source whose signed-by file is missing
 * would make the `apt-get update` that fetches curl/gnupg fail.
 */
function renderAptSourceWrite(version: string): string {
  const src = renderElasticAptSource(version);
  return `printf '%s' '${src.content.replace(/'/g, "")}' > ${src.path}.tmp && chmod 0644 ${src.path}.tmp && mv -f ${src.path}.tmp ${src.path}`;
}

/**
 * Fetches Elastic's key once and refuses it unless its fingerprint is the pinned one, so a
 * tampered download can never become a trusted apt key.
 */
export function renderElasticKeyringScript(): string {
  return `
if [ ! -s ${ELASTIC_KEYRING} ]; then
  if ! command -v curl >/dev/null || ! command -v gpg >/dev/null; then
    apt-get update -q >/dev/null && apt-get install -y -q curl gnupg ca-certificates >/dev/null
  fi
  key=$(mktemp)
  curl -fsSL --retry 5 https://artifacts.elastic.co/GPG-KEY-elasticsearch -o "$key"
  fpr=$(gpg --show-keys --with-colons "$key" | awk -F: '$1=="fpr"{print $10; exit}')
  if [ "$fpr" != "${ELASTIC_GPG_FINGERPRINT}" ]; then
    echo "Elastic signing key has fingerprint '$fpr', expected ${ELASTIC_GPG_FINGERPRINT}: refusing it" >&2
    rm -f "$key"; exit 1
  fi
  gpg --dearmor < "$key" > ${ELASTIC_KEYRING}.tmp && chmod 0644 ${ELASTIC_KEYRING}.tmp && mv -f ${ELASTIC_KEYRING}.tmp ${ELASTIC_KEYRING}
  rm -f "$key"
fi`.trimStart();
}

/**
 * Installs `pkg` at exactly `version` if it is missing, and holds it so unattended upgrades leave
 * it alone. A different installed version is an error: upgrading an Elasticsearch cluster is a
 * rolling procedure (docs/elk.md), not something a config push should do node by node at random.
 * The install log goes to a root-only file: the elasticsearch deb prints a generated superuser
 * password (made useless later, but it must not end up in Pulumi's output either).
 */
export function renderPinnedInstallScript(pkg: ElasticPackage, version: string): string {
  checkElasticVersion(version);
  return `
want='${version}'
have=$(dpkg-query -W -f='\${Status} \${Version}' ${pkg} 2>/dev/null || true)
case "$have" in
  "install ok installed $want") echo "${pkg} $want already installed" ;;
  "install ok installed "*)
    echo "${pkg} \${have##* } is installed but the config pins $want; upgrade the cluster as described in docs/elk.md" >&2
    exit 1 ;;
  *)
    logdir="\${OPSFLEET_LOG_DIR:-/var/log/opsfleet}"; install -d -m 0700 "$logdir"
    log="$logdir/${pkg}-install.log"
    if ! { apt-get update -q && apt-get install -y -q ${pkg}="$want"; } >"$log" 2>&1; then
      echo "installing ${pkg} $want failed; see $log on the host" >&2
      exit 1
    fi
    echo "${pkg} $want installed" ;;
esac
apt-mark hold ${pkg} >/dev/null`.trimStart();
}

/** Step: Elastic apt repository + the pinned package, installed only if missing. */
export function elasticInstallStep(pkg: ElasticPackage, version: string): RenderedStep {
  return {
    name: `${pkg}-install`,
    description: `Elastic apt repository (key fingerprint pinned) and ${pkg} ${version}, installed only if missing, held`,
    files: [],
    script: [renderElasticKeyringScript(), renderAptSourceWrite(version), renderPinnedInstallScript(pkg, version)].join("\n"),
  };
}
