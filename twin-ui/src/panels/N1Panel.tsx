/**
 * Live N-1 for operators (cities whose power layer is electrical): for every single branch or
 * generator outage of the grid as it stands, the branches it would overload, worst first, from
 * `GET /api/grid/contingencies` (LODF on the server, recomputed while this panel polls). One click
 * on a row selects the outaged branch and flies the camera to it; a click on an overloaded branch
 * does the same for that one. Also the legend of the grid's line colours. Renders nothing for a
 * city without an electrical layer.
 */
import { useEffect } from 'react';
import { useStore } from 'zustand';
import { useTwin, useTwinStore } from '../context.ts';
import { rgbCss } from '../colors.ts';
import { gridStore, LOADING_STOPS, pollGrid, TRIPPED_COLOUR, UNRATED_COLOUR } from '../net/grid.ts';
import type { CityIndexUi } from '../store.ts';

/** Polls the live grid while a city is on screen (the scene, the inspector and this panel read it). */
function useGridPolling(index: CityIndexUi | null): void {
  const store = useTwinStore();
  useEffect(() => {
    if (index === null) return;
    gridStore.setState({ available: null, branches: [], contingencies: null });
    return pollGrid(gridStore, { token: () => store.getState().token, indexOf: index.indexOf });
  }, [index, store]);
}

export function GridLegend() {
  const available = useStore(gridStore, (s) => s.available);
  if (available !== true) return null;
  const gradient = LOADING_STOPS.map(([pct, c]) => `${rgbCss(c)} ${(pct / 120) * 100}%`).join(', ');
  return (
    <section className="panel legend grid-legend" aria-label="Grid line colours" data-testid="grid-legend">
      <h2>Grid loading</h2>
      <div className="heat" title="Branch colour: |flow| ÷ rating; the arrowhead points the way power flows">
        <span>0%</span>
        <span className="bar" aria-hidden="true" style={{ background: `linear-gradient(to right, ${gradient})` }} />
        <span>≥120%</span>
      </div>
      <ul>
        <li>
          <span className="dot" style={{ background: rgbCss(TRIPPED_COLOUR) }} aria-hidden="true" /> tripped or out
        </li>
        <li>
          <span className="dot" style={{ background: rgbCss(UNRATED_COLOUR) }} aria-hidden="true" /> no rating
        </li>
        <li>▲ flow direction</li>
      </ul>
    </section>
  );
}

export function N1Panel() {
  const store = useTwinStore();
  const index = useTwin((s) => s.index);
  useGridPolling(index);
  const available = useStore(gridStore, (s) => s.available);
  const n1 = useStore(gridStore, (s) => s.contingencies);
  if (available !== true || index === null) return null;
  const go = (id: string): void => {
    const actor = index.indexOf.get(id);
    if (actor === undefined) return;
    store.select(actor);
    const branch = gridStore.getState().branches.find((b) => b.actor === actor);
    // A branch: fly to its middle; a generator or bus: to itself.
    const [a, c] = branch === undefined ? [actor, actor] : [branch.fromActor, branch.toActor];
    gridStore.setState((s) => ({ flyTo: { x: (index.positions[3 * a]! + index.positions[3 * c]!) / 2, z: (index.positions[3 * a + 2]! + index.positions[3 * c + 2]!) / 2, seq: (s.flyTo?.seq ?? 0) + 1 } }));
  };
  const rows = n1?.rows ?? [];
  return (
    <section className="panel n1" aria-label="N-1 contingencies, worst first" data-testid="n1-panel" data-insecure={n1?.insecure ?? 0}>
      <h2>
        N-1 <small>{n1 === null ? 'screening…' : `${n1.insecure} of ${n1.screened} outages overload${n1.stale ? ' · updating' : ''}`}</small>
      </h2>
      {n1 !== null && n1.insecure === 0 && <p>Secure: no single branch or generator outage overloads a branch.</p>}
      <ol>
        {rows
          .filter((r) => r.overloads.length > 0)
          .map((r) => (
            <li key={r.outage} data-testid="n1-row" data-outage={r.outage}>
              <button type="button" className="link" onClick={() => go(r.outage)} title={`Select ${r.outage} and fly to it`}>
                <strong>{r.outage}</strong> out <small>→ worst {r.maxLoadingPct.toFixed(0)}%</small>
              </button>
              <div>
                {r.overloads.slice(0, 4).map((o) => (
                  <button key={o.id} type="button" className="link chip" onClick={() => go(o.id)} title={`${o.id}: ${Math.abs(o.flowMw).toFixed(0)} MW of ${o.ratingMw.toFixed(0)} MW after the outage`}>
                    {o.id} {o.loadingPct.toFixed(0)}%
                  </button>
                ))}
                {r.overloads.length > 4 && <small> +{r.overloads.length - 4} more</small>}
              </div>
            </li>
          ))}
      </ol>
    </section>
  );
}
