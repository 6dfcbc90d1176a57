import { useEffect } from 'react';
import { useStore } from 'zustand';
import { useTwin } from '../context.ts';
import type { TwinClient } from '../net/client.ts';
import { PRESSURE_STOPS, pressureGradient, waterView, type WaterNow } from '../water.ts';

/** How often the panel asks for the network's state (the solver snapshots every 15 virtual minutes, and at once on a change). */
const POLL_MS = 2000;

/**
 * The water network (cities on EPANET, live city only): a legend of junction pressure colours in
 * metres (the scene colours each junction asset by its pressure), tank levels with the time left
 * when draining, and pumps running or stopped. Nothing shows for a city whose water is solved by
 * connectivity.
 */
export function WaterPanel({ client }: { client: TwinClient }) {
  const live = useTwin((s) => s.source === null);
  const now = useStore(waterView, (s) => s.now);
  const colours = useStore(waterView, (s) => s.pressureColours);
  useEffect(() => {
    if (!live) {
      waterView.setState((s) => ({ now: null, version: s.version + 1 }));
      return;
    }
    let stopped = false;
    const poll = (): void => {
      client
        .get<WaterNow>('/api/water')
        .then((reply) => {
          if (!stopped) waterView.setState((s) => ({ now: reply, version: s.version + 1 }));
        })
        .catch(() => undefined);
    };
    poll();
    const id = setInterval(poll, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(id);
    };
  }, [client, live]);
  if (now === null || !now.hydraulic) return null;
  const pressures = now.junctions?.pressureM ?? [];
  const required = now.requiredPressureM ?? 20;
  const below = pressures.filter((p) => p < required).length;
  const tanks = now.tanks ?? [];
  const pumps = now.pumps ?? [];
  const running = pumps.filter((p) => p.running).length;
  const top = PRESSURE_STOPS[PRESSURE_STOPS.length - 1]!.m;
  return (
    <section className="panel water" aria-label="Water network (EPANET)" data-testid="water-panel" data-junctions={pressures.length} data-below={below} data-pumps-running={running} data-pumps-stopped={pumps.length - running}>
      <h2>Water (EPANET)</h2>
      <label className="toggle">
        <input type="checkbox" checked={colours} onChange={(e) => waterView.setState({ pressureColours: e.target.checked })} /> Colour junctions by pressure
      </label>
      <div className="pressure-legend" data-testid="pressure-legend" title={`Junction pressure, metres of water; full demand served at ${required} m and above`}>
        <span className="bar" style={{ background: pressureGradient() }} aria-hidden="true" />
        <span className="ticks">
          {PRESSURE_STOPS.map((s) => (
            <span key={s.m} style={{ left: `${(s.m / top) * 100}%` }}>
              {s.m}
            </span>
          ))}
        </span>
        <small>pressure, m · {below} of {pressures.length} junctions below {required} m</small>
      </div>
      {tanks.length > 0 && (
        <>
          <h3>Tanks</h3>
          <ul className="tanks" data-testid="water-tanks">
            {tanks.slice(0, 8).map((t) => {
              const share = (t.levelM - t.minLevelM) / Math.max(1e-9, t.maxLevelM - t.minLevelM);
              return (
                <li key={t.tank} data-tank={t.tank} data-level={t.levelM}>
                  <span className="name">{t.asset ?? t.tank}</span>
                  <span className="level" aria-hidden="true">
                    <span style={{ width: `${Math.max(0, Math.min(1, share)) * 100}%` }} />
                  </span>
                  <span>
                    {t.levelM.toFixed(2)} m{t.hoursToEmpty !== null ? ` · dry in ${t.hoursToEmpty.toFixed(1)} h` : ''}
                  </span>
                </li>
              );
            })}
            {tanks.length > 8 && <li className="hint">and {tanks.length - 8} more</li>}
          </ul>
        </>
      )}
      {pumps.length > 0 && (
        <p data-testid="water-pumps">
          Pumps: {running} running · {pumps.length - running} stopped
          {pumps.length <= 4 && ` (${pumps.map((p) => `${p.id} ${p.running ? 'running' : 'stopped'}`).join(', ')})`}
        </p>
      )}
    </section>
  );
}
