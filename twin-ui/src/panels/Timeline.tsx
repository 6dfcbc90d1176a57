import { useState } from 'react';
import { useTwin, useTwinStore } from '../context.ts';
import { mayControlClock } from '../model.ts';
import type { TwinClient } from '../net/client.ts';
import { useTicker } from './Inspector.tsx';

const SPEEDS = [1, 10, 60, 600, 3600];

/** Pause, resume, speed. Shown to every role; the buttons only to roles that may drive the clock. */
export function Timeline({ client }: { client: TwinClient }) {
  const store = useTwinStore();
  const role = useTwin((s) => s.role);
  useTicker(500);
  const [busy, setBusy] = useState(false);
  const f = store.getState().fast;
  const may = mayControlClock(role);
  const run = async (action: 'pause' | 'resume' | 'speed', speed?: number): Promise<void> => {
    setBusy(true);
    try {
      await client.clock(action, speed);
    } catch (e) {
      store.notify('error', `Clock ${action}: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel timeline" aria-label="Timeline" data-testid="timeline">
      {may ? (
        <>
          {f.paused ? (
            <button type="button" disabled={busy} onClick={() => void run('resume')} title="Resume the simulation (space)" data-testid="resume">
              ▶ Resume
            </button>
          ) : (
            <button type="button" disabled={busy} onClick={() => void run('pause')} title="Pause the simulation (space)" data-testid="pause">
              ❚❚ Pause
            </button>
          )}
          <span className="speeds" role="group" aria-label="Speed">
            {SPEEDS.map((s) => (
              <button key={s} type="button" disabled={busy} aria-pressed={f.speed === s} className={f.speed === s ? 'on' : ''} onClick={() => void run('speed', s)} title={`${s} simulated second${s === 1 ? '' : 's'} per real second`}>
                ×{s}
              </button>
            ))}
          </span>
        </>
      ) : (
        <span className="hint">{f.paused ? 'Paused by the trainer' : 'Live'}</span>
      )}
    </section>
  );
}
