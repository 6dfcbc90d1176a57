import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { generateCity, parseCity } from '../engine/index.ts';
import { startGateway } from '../gateways/gateway-server.ts';
import { summarise } from '../gateways/http/index.ts';
import { encodeColumns } from '../gateways/reads/state-codec.ts';
import { startServerWith } from '../gateways/server.ts';
import { DEFAULT_COST_MODEL, OutcomeMeter } from '../scenarios/index.ts';

/**
 * `npm run bench -- --only reads` (README *Roles*, "Which reads a gateway answers itself"): what the
 * engine pays to publish the live state for gateway reads (one `summarise` and one delta encoding per
 * entry, at most 10 entries a second; a snapshot per gateway start), and the latency of the live-state
 * reads answered by the engine and by a gateway, side by side in one run. The engine and the gateway
 * share this process (one event loop), so the figures compare the work of each answer, not two hosts.
 */
export async function runReadsBench(args: { quick: boolean; log: (line: string) => void }): Promise<Record<string, number | string>> {
  const redisUrl = process.env['STRATUM_REDIS_URL'];
  if (redisUrl === undefined || redisUrl === '') return { readsSkipped: 'not measured: STRATUM_REDIS_URL not set (eval "$(infrastructure/native/all.sh start)")' };
  const assets = args.quick ? 10_000 : 100_000;
  const ADMIN = `bench-reads-${randomBytes(6).toString('hex')}`;
  const env = { STRATUM_ADMIN_TOKEN: ADMIN, STRATUM_RATE_LIMIT: '10000000' };
  const fanout = { redisUrl, prefix: `stratum-bench:reads:${randomBytes(4).toString('hex')}`, maxLen: 256 };
  const city = parseCity(generateCity({ assets, seed: 5 }), 'generated');
  const engine = await startServerWith({ city, seed: 5, port: 0, quiet: true, uiDir: false, dataDir: false, fanout }, { env, rateLimitPerMinute: 10_000_000 });
  const gateway = await startGateway({ engineUrl: engine.url, fanout, port: 0, quiet: true, uiDir: false, env });
  const meter = OutcomeMeter.attach(engine.engine, DEFAULT_COST_MODEL);
  const figures: Record<string, number | string> = { readsAssets: assets };
  try {
    const round = (x: number): number => Math.round(x * 1000) / 1000;
    const time = (reps: number, fn: () => unknown): number => {
      fn();
      const started = performance.now();
      for (let i = 0; i < reps; i++) fn();
      return round((performance.now() - started) / reps);
    };
    const kernel = engine.engine.kernel;
    const actors = engine.engine.index.assetCount + engine.engine.index.cohortCount;
    const every = Uint32Array.from({ length: actors }, (_, a) => a);
    const changed = every.slice(0, 200);
    figures['readsSummariseMs'] = time(50, () => summarise(engine.engine, meter));
    figures['readsDeltaEncode200Ms'] = time(200, () => encodeColumns(changed, (a) => kernel.view(a)));
    figures['readsSnapshotEncodeMs'] = time(10, () => encodeColumns(every, (a) => kernel.view(a)));
    figures['readsSnapshotBytes'] = encodeColumns(every, (a) => kernel.view(a)).length;
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    for (const id of engine.engine.index.ids.slice(0, 20)) await fetch(`${engine.url}/api/inject`, { method: 'POST', headers, body: JSON.stringify({ type: 'fail', target: id }) });
    await new Promise((r) => setTimeout(r, 2_000));
    await fetch(`${engine.url}/api/clock`, { method: 'POST', headers, body: JSON.stringify({ action: 'pause' }) });
    await new Promise((r) => setTimeout(r, 1_500));
    const reps = args.quick ? 50 : 200;
    const latency = async (base: string, path: string): Promise<{ p50: number; p99: number; servedBy: string }> => {
      const xs: number[] = [];
      let servedBy = 'engine';
      for (let i = 0; i < reps; i++) {
        const started = performance.now();
        const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
        await res.arrayBuffer();
        servedBy = res.headers.get('x-stratum-served-by') ?? 'engine';
        xs.push(performance.now() - started);
      }
      xs.sort((a, b) => a - b);
      return { p50: round(xs[Math.floor(reps / 2)]!), p99: round(xs[Math.floor(reps * 0.99)]!), servedBy };
    };
    for (const [name, path] of [['FailedAssets', '/api/assets?status=failed'], ['Summary', '/api/summary'], ['Assets500', '/api/assets?limit=500']] as const) {
      const onEngine = await latency(engine.url, path);
      const onGateway = await latency(gateway.url, path);
      if (onGateway.servedBy !== 'gateway') throw new Error(`${path} on the gateway was not answered by it (${onGateway.servedBy})`);
      args.log(`  ${path}: engine p50 ${onEngine.p50} / p99 ${onEngine.p99} ms, gateway p50 ${onGateway.p50} / p99 ${onGateway.p99} ms`);
      figures[`reads${name}EngineP50Ms`] = onEngine.p50;
      figures[`reads${name}GatewayP50Ms`] = onGateway.p50;
      figures[`reads${name}EngineP99Ms`] = onEngine.p99;
      figures[`reads${name}GatewayP99Ms`] = onGateway.p99;
    }
    const list = async (base: string): Promise<string> => (await fetch(`${base}/api/assets?status=failed&limit=10000`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    figures['readsGatewayEqualsEngine'] = (await list(engine.url)) === (await list(gateway.url)) ? 'yes' : 'NO';
    return figures;
  } finally {
    meter.detach();
    await gateway.close();
    await engine.close();
    const r = new Redis(redisUrl);
    const keys = await r.keys(`${fanout.prefix}:*`);
    if (keys.length > 0) await r.del(...keys);
    r.disconnect();
  }
}
