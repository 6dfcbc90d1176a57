/**
 * Bench mode (`index.html#bench=100000`): a synthetic city of N assets and a synthetic 10 Hz delta
 * stream, no server. Measures the renderer and the store path alone; `bench/ui-bench.ts` drives it.
 */
import { gridTopology } from './fixtures.ts';
import { FrameKind, Status } from './model.ts';
import type { TwinStore } from './store.ts';

export function startBench(store: TwinStore, n: number, changedShare = 0.02): void {
  store.setTopology(gridTopology(n));
  store.setState({ token: 'bench', role: 'viewer', user: 'bench', connection: 'connected' });
  let frame = 0;
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const k = Math.max(1, Math.round(n * changedShare));
  const applyTimes: number[] = [];
  const tick = (): void => {
    const actors = new Uint32Array(k);
    const status = new Uint8Array(k);
    const level = new Float32Array(k);
    const load = new Float32Array(k);
    const stress = new Float32Array(k);
    for (let i = 0; i < k; i++) {
      actors[i] = Math.floor(rnd() * n);
      const r = rnd();
      status[i] = r < 0.05 ? Status.Failed : r < 0.15 ? Status.Degraded : Status.Ok;
      level[i] = status[i] === Status.Failed ? 0 : 1 - r * 0.5;
      stress[i] = rnd();
      load[i] = stress[i]! * 100;
    }
    const t0 = performance.now();
    store.applyFrame({ kind: frame === 0 ? FrameKind.Snapshot : FrameKind.Delta, frame: frame + 1, since: frame, clock: frame * 1000, actors, status, level, load, stress });
    applyTimes.push(performance.now() - t0);
    frame++;
  };
  setInterval(tick, 100);
  (window as unknown as { __bench?: unknown }).__bench = { n, changedPerFrame: k, applyTimes };
}
