import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StudyCity, runStudy, type StudyOptions } from '../actors/index.ts';
import { generateCity, loadCityFile } from '../engine/index.ts';
import { runStudyOnKafka } from '../gateways/adapters/study-kafka.ts';
import { spawnStudyWorker, stopProcess, type WorkerProcess } from '../gateways/adapters/study-worker-process.ts';

/**
 * `npm run bench -- --only fanout`. Issue 17 asks for three figures here; two of them
 * (fanoutP99RatioVsSingle, viewersPerGatewayAtP99Under50ms) need engine and gateway roles
 * (`stratum start --role`, issue 17 item 1), which are not built yet, so only the Monte Carlo
 * scaling is measured: runs/s of one study over Kafka on loopback with 1 and then 2
 * `stratum worker` processes, and their ratio (monteCarloTwoWorkerScaling; 2.0 would be perfect).
 * The same study runs in this process first, for the cost of going through Kafka.
 */

export async function runFanoutBench(args: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const brokers = process.env['STRATUM_KAFKA_BROKERS'];
  const pending = 'not measured: needs `stratum start --role engine|gateway` (issue 17 item 1, not built yet)';
  if (brokers === undefined || brokers === '') {
    return { skipped: 'STRATUM_KAFKA_BROKERS not set (eval "$(infrastructure/native/all.sh start)")', fanoutP99RatioVsSingle: pending, viewersPerGatewayAtP99Under50ms: pending };
  }
  const dir = mkdtempSync(join(tmpdir(), 'stratum-bench-fanout-'));
  try {
    const cityFile = join(dir, 'city.json');
    const assets = args.quick ? 600 : 1500;
    writeFileSync(cityFile, JSON.stringify(generateCity({ assets, seed: 3 })));
    const cityText = readFileSync(cityFile, 'utf8');
    const study = new StudyCity(loadCityFile(cityFile));
    const runs = args.quick ? 60 : 240;
    const options: StudyOptions = { model: 'motter-lai', attack: { kind: 'random', count: 1 }, runs, seed: 5 };
    args.log(`  study: motter-lai, random attack, ${runs} runs on a generated city of ${assets} assets; Kafka at ${brokers}`);

    let started = performance.now();
    const local = await runStudy(study, options);
    const localRunsPerSecond = runs / ((performance.now() - started) / 1000);

    const measure = async (count: number): Promise<number> => {
      const topic = `stratum.bench-studies.${randomUUID()}`;
      const group = `stratum-bench-workers-${randomUUID()}`;
      const workers: WorkerProcess[] = [];
      try {
        for (let w = 0; w < count; w++) workers.push(await spawnStudyWorker({ brokers, topic, group, name: `bench-${count}-${w}` }));
        // The last join makes the group rebalance; let it settle so the study starts on a stable group.
        await new Promise((r) => setTimeout(r, 4_000));
        started = performance.now();
        const result = await runStudyOnKafka(study, cityText, options, { brokers: brokers.split(','), topic });
        const seconds = (performance.now() - started) / 1000;
        if (JSON.stringify(result) !== JSON.stringify(local)) throw new Error(`the study over Kafka with ${count} worker(s) differs from the local one`);
        return runs / seconds;
      } finally {
        await Promise.all(workers.map((w) => stopProcess(w.child)));
      }
    };
    const loadBefore = loadavg()[0]!;
    const one = await measure(1);
    const two = await measure(2);
    return {
      // Other processes on the machine take cores from the workers: the ratio means little when this is high.
      monteCarloLoadAverage1m: `${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
      monteCarloLocalRunsPerSecond: Math.round(localRunsPerSecond * 10) / 10,
      monteCarloOneWorkerRunsPerSecond: Math.round(one * 10) / 10,
      monteCarloTwoWorkerRunsPerSecond: Math.round(two * 10) / 10,
      monteCarloTwoWorkerScaling: Math.round((two / one) * 100) / 100,
      fanoutP99RatioVsSingle: pending,
      viewersPerGatewayAtP99Under50ms: pending,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
