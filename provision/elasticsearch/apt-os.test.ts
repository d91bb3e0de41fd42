import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  checkElasticVersion, ELASTIC_GPG_FINGERPRINT, elasticInstallStep, renderElasticAptSource, renderElasticKeyringScript, renderPinnedInstallScript,
} from "./apt";
import { elasticsearchOsStep, ES_PACKAGE_SYSCTL_FILE, ES_SYSCTL_FILE, renderSystemdOverride, renderSysctl } from "./os";

describe("Elastic apt repository", () => {
  test("source line: the version's major line, signed by the pinned keyring only", () => {
    expect(renderElasticAptSource("8.19.2")).toEqual({
      path: "/etc/apt/sources.list.d/elastic-8.x.list",
      content: "deb [signed-by=/usr/share/keyrings/elasticsearch-keyring.gpg] https://artifacts.elastic.co/packages/8.x/apt stable main\n",
      mode: "0644",
    });
  });
  test("the key is accepted only with Elastic's fingerprint", () => {
    expect(ELASTIC_GPG_FINGERPRINT).toBe("46095ACC8548582C1A2699A9D27D666CD88E42B4");
    expect(renderElasticKeyringScript()).toContain(`if [ "$fpr" != "${ELASTIC_GPG_FINGERPRINT}" ]; then`);
  });
  test("versions other than 8.x.y are refused with what is allowed", () => {
    expect(() => checkElasticVersion("9.0.0", "opsfleet:elk.version")).toThrow('opsfleet:elk.version: "9.0.0" is not an Elastic 8.x release (allowed: 8.<minor>.<patch>, e.g. 8.19.2)');
    expect(() => checkElasticVersion("8.19")).toThrow(/not an Elastic 8.x release/);
    expect(() => renderPinnedInstallScript("elasticsearch", "8.19.2; rm -rf /")).toThrow();
  });
  test("the whole install step is valid bash and writes the source after the keyring", () => {
    const s = elasticInstallStep("logstash", "8.19.2").script;
    expect(spawnSync("bash", ["-n"], { input: s }).status).toBe(0);
    expect(s.indexOf("gpg --dearmor")).toBeLessThan(s.indexOf("/etc/apt/sources.list.d/elastic-8.x.list"));
  });
});

describe("pinned install, run with stub dpkg-query/apt-get/apt-mark", () => {
  let dir: string;
  const run = (installed: string) => {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const stub = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >> ${dir}/calls\n${body}\n`, { mode: 0o755 });
    stub("dpkg-query", installed ? `printf '%s' '${installed}'` : "exit 1");
    stub("apt-get", 'echo "The generated password for the elastic built-in superuser is : autogen"');
    stub("apt-mark", "");
    fs.writeFileSync(path.join(dir, "calls"), "");
    const r = spawnSync("bash", ["-c", `set -euo pipefail\n${renderPinnedInstallScript("elasticsearch", "8.19.2")}`], {
      encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, OPSFLEET_LOG_DIR: path.join(dir, "log") },
    });
    return { ...r, calls: fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") };
  };
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-apt-")); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("missing: installs exactly the pinned version, holds it, keeps the deb's generated password out of the output", () => {
    const r = run("");
    expect(r.status).toBe(0);
    expect(r.calls).toEqual(["dpkg-query -W -f=${Status} ${Version} elasticsearch", "apt-get update -q", "apt-get install -y -q elasticsearch=8.19.2", "apt-mark hold elasticsearch"]);
    expect(r.stdout).toBe("elasticsearch 8.19.2 installed\n");
    expect(r.stdout + r.stderr).not.toContain("autogen");
    expect(fs.readFileSync(path.join(dir, "log", "elasticsearch-install.log"), "utf8")).toContain("autogen");
  });
  test("already installed at the pinned version: nothing installed", () => {
    const r = run("install ok installed 8.19.2");
    expect(r.status).toBe(0);
    expect(r.calls).toEqual(["dpkg-query -W -f=${Status} ${Version} elasticsearch", "apt-mark hold elasticsearch"]);
  });
  test("another version installed: fails naming both, installs nothing", () => {
    const r = run("install ok installed 8.17.0");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("elasticsearch 8.17.0 is installed but the config pins 8.19.2");
    expect(r.calls.filter((c) => c.startsWith("apt-get"))).toEqual([]);
  });
});

describe("OS tuning step", () => {
  test("files: vm.max_map_count and the systemd limits override", () => {
    expect(renderSysctl()).toContain("vm.max_map_count=1048576\n");
    expect(renderSystemdOverride()).toBe("# Managed by opsfleet\n[Service]\nLimitMEMLOCK=infinity\nLimitNOFILE=65535\n");
    const step = elasticsearchOsStep();
    expect(step.files.map((f) => [f.path, f.mode])).toEqual([
      ["/etc/sysctl.d/zz-opsfleet-elasticsearch.conf", "0644"],
      ["/etc/systemd/system/elasticsearch.service.d/opsfleet-limits.conf", "0644"],
    ]);
    expect(step.script).toContain("swapoff -a");
  });
  test("after a reboot our value wins over the Elasticsearch package's own file (systemd's own ordering)", () => {
    // A root with the deb's sysctl file (8.x ships 262144), Debian's 99-sysctl.conf and ours; systemd
    // lists the files in the order it applies them at boot, and the last assignment wins.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "opsfleet-sysctl-"));
    try {
      const put = (p: string, content: string) => {
        fs.mkdirSync(path.join(root, path.dirname(p)), { recursive: true });
        fs.writeFileSync(path.join(root, p), content);
      };
      put(ES_PACKAGE_SYSCTL_FILE, "vm.max_map_count=262144\n");
      put("/etc/sysctl.d/99-sysctl.conf", "# Debian: link to /etc/sysctl.conf\n");
      put(ES_SYSCTL_FILE, renderSysctl());
      const r = spawnSync("systemd-analyze", [`--root=${root}`, "cat-config", "sysctl.d"], { encoding: "utf8" });
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(0);
      const values = [...r.stdout.matchAll(/^vm\.max_map_count\s*=\s*(\d+)$/gm)].map((m) => Number(m[1]));
      expect(values).toEqual([262144, 1048576]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
  test("on a test host (OPSFLEET_LAB=1) it leaves the shared kernel, swap and fstab alone", () => {
    const r = spawnSync("bash", ["-c", `set -euo pipefail\nOPSFLEET_CHANGED=""\n${elasticsearchOsStep().script}`], { encoding: "utf8", env: { ...process.env, OPSFLEET_LAB: "1" } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("test host: leaving the shared kernel's vm.max_map_count, swap and /etc/fstab alone");
  });
});
