/**
 * The inspector's electrical section (cities whose power layer is electrical): a branch's flow (MW
 * and direction), rating and loading % with its recent loading; a bus's load and generation; a
 * generator's output and schedule; with the live voltage monitor on, a bus's AC voltage (pu) and
 * whether it is outside its limits. Loading and MW follow the frames (load = |MW|, stress =
 * loading); direction, rating and bus figures come from the `/api/grid` poll.
 */
import { useStore } from 'zustand';
import { useTwinStore } from '../context.ts';
import type { CityIndexUi } from '../store.ts';
import { gridStore } from '../net/grid.ts';
import { Sparkline } from './Sparkline.tsx';

export function GridDetails({ index, actor }: { index: CityIndexUi; actor: number }) {
  const store = useTwinStore();
  const branch = useStore(gridStore, (s) => s.branches.find((b) => b.actor === actor));
  const bus = useStore(gridStore, (s) => s.buses.get(actor));
  const generator = useStore(gridStore, (s) => s.generators.get(actor));
  const f = store.getState().fast;
  if (branch !== undefined) {
    const mw = f.load[actor]!;
    const loading = branch.ratingMw === null ? null : f.stress[actor]! * 100;
    const [from, to] = branch.direction >= 0 ? [branch.fromActor, branch.toActor] : [branch.toActor, branch.fromActor];
    const h = f.history;
    return (
      <>
        <h3>Power flow (DC)</h3>
        <dl className="state" data-testid="grid-branch">
          <dt>Flow</dt>
          <dd data-testid="grid-flow-mw">
            {mw.toFixed(1)} MW {mw > 0 ? `${index.ids[from]} → ${index.ids[to]}` : ''}
          </dd>
          <dt>Rating</dt>
          <dd data-testid="grid-rating-mw">{branch.ratingMw === null ? 'unlimited' : `${branch.ratingMw.toFixed(0)} MW`}</dd>
          <dt>Loading</dt>
          <dd data-testid="grid-loading">{loading === null ? '—' : `${loading.toFixed(0)}%`}{branch.tripped ? ' · tripped' : ''}</dd>
        </dl>
        <Sparkline values={h.actor === actor ? h.stress.map((s) => s * 100) : []} max={120} colour="#ff8a3d" label="Recent loading %" />
      </>
    );
  }
  if (bus !== undefined || generator !== undefined) {
    return (
      <>
        <h3>Power (DC)</h3>
        <dl className="state" data-testid="grid-bus">
          {bus !== undefined && (
            <>
              <dt>Load served</dt>
              <dd>{bus.loadMw.toFixed(1)} MW</dd>
              <dt>Generation</dt>
              <dd>{bus.generationMw.toFixed(1)} MW</dd>
              {bus.vmPu !== undefined && (
                <>
                  <dt>Voltage (AC)</dt>
                  <dd data-testid="grid-bus-vm" className={bus.violation ? 'warn' : undefined}>
                    {bus.violation === 'collapse' ? 'collapsed (no AC solution)' : `${bus.vmPu.toFixed(3)} pu`}
                    {bus.violation === 'under' ? ' · below Vmin' : bus.violation === 'over' ? ' · above Vmax' : ''}
                  </dd>
                </>
              )}
            </>
          )}
          {generator !== undefined && (
            <>
              <dt>Output</dt>
              <dd>{generator.outputMw.toFixed(1)} MW</dd>
              <dt>Schedule</dt>
              <dd>{generator.scheduleMw.toFixed(1)} MW</dd>
            </>
          )}
        </dl>
      </>
    );
  }
  return null;
}
