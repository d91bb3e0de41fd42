/**
 * Benchmark runner: `npm run bench` runs every bench/*.bench.ts (or only those named:
 * `npm run bench -- spot redis`), prints each one's figures and writes them to
 * bench/results/<name>.json plus bench/results/all.json. Figures are measured in one run on this
 * machine; compare ratios, not absolute numbers.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

interface BenchModule {
  run(): Promise<Record<string, unknown>>;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const dir = __dirname;
  const names = fs.readdirSync(dir).filter((f) => f.endsWith(".bench.ts")).map((f) => f.replace(/\.bench\.ts$/, "")).sort();
  const unknown = only.filter((n) => !names.includes(n));
  if (unknown.length) throw new Error(`unknown benchmark(s) ${unknown.join(", ")}; available: ${names.join(", ")}`);
  const selected = only.length ? names.filter((n) => only.includes(n)) : names;
  const outDir = path.join(dir, "results");
  fs.mkdirSync(outDir, { recursive: true });
  const machine = { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30) };
  const all: Record<string, unknown> = { machine, startedAt: new Date().toISOString() };
  let failed = 0;
  for (const name of selected) {
    const t0 = process.hrtime.bigint();
    console.log(`\n=== bench: ${name}`);
    try {
      const mod = (await import(path.join(dir, `${name}.bench.ts`))) as BenchModule;
      const result = await mod.run();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const record = { name, machine, seconds: Math.round(seconds * 10) / 10, result };
      console.log(JSON.stringify(result, null, 2));
      fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(record, null, 2) + "\n");
      all[name] = result;
    } catch (e) {
      failed++;
      console.error(`bench ${name} failed: ${e instanceof Error ? e.stack : String(e)}`);
      all[name] = { error: e instanceof Error ? e.message : String(e) };
    }
  }
  fs.writeFileSync(path.join(outDir, "all.json"), JSON.stringify(all, null, 2) + "\n");
  console.log(`\nresults written to ${path.relative(process.cwd(), outDir)}/`);
  if (failed) process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
