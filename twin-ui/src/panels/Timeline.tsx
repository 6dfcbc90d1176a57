import { useEffect, useRef, useState } from 'react';
import { useTwin, useTwinStore } from '../context.ts';
import { mayControlClock, mayTrain, SESSION_MAX_SPEED, SESSION_MIN_SPEED, type SessionClockRequest, type SessionInfo } from '../model.ts';
import type { TwinClient } from '../net/client.ts';
import { displayTime } from '../store.ts';
import { formatClock } from '../format.ts';
import { useTicker } from './Inspector.tsx';
import { SpeedOptions, useRequest } from './actions.tsx';

const SPEEDS = [1, 10, 60, 600, 3600];
/** Playback speeds offered for a session (the server accepts SESSION_MIN_SPEED … SESSION_MAX_SPEED). */
export const PLAYBACK_SPEEDS = [0.1, 0.5, 1, 10, 60, 100, 600, 1000].filter((s) => s >= SESSION_MIN_SPEED && s <= SESSION_MAX_SPEED);
/** A seek goes out once the scrubber has rested this long (dragging or holding an arrow key sends one seek, not hundreds). */
const SEEK_SETTLE_MS = 300;

/** The live clock: pause, resume, speed. Shown to every role; the buttons only to roles that may drive the clock. */
export function Timeline({ client }: { client: TwinClient }) {
  const source = useTwin((s) => s.source);
  const session = useTwin((s) => s.session);
  if (source !== null) return <SessionTimeline client={client} session={session} />;
  return <LiveTimeline client={client} />;
}

function LiveTimeline({ client }: { client: TwinClient }) {
  const store = useTwinStore();
  const role = useTwin((s) => s.role);
  useTicker(500);
  const { busy, run: request } = useRequest();
  const f = store.getState().fast;
  const may = mayControlClock(role);
  const run = (action: 'pause' | 'resume' | 'speed', speed?: number): Promise<boolean> => request(`Clock ${action}${speed === undefined ? '' : ` ×${speed}`}`, () => client.clock(action, speed));
  return (
    <section className="panel timeline" aria-label="Timeline" data-testid="timeline">
      {may ? (
        <>
          {f.paused ? (
            <button type="button" disabled={busy} onClick={() => void run('resume')} title="Resume the simulation" data-testid="resume">
              ▶ Resume
            </button>
          ) : (
            <button type="button" disabled={busy} onClick={() => void run('pause')} title="Pause the simulation" data-testid="pause">
              ❚❚ Pause
            </button>
          )}
          <span className="speeds" role="group" aria-label="Speed">
            {SPEEDS.map((s) => (
              <button key={s} type="button" disabled={busy} aria-pressed={f.speed === s} onClick={() => void run('speed', s)} title={`${s} simulated second${s === 1 ? '' : 's'} per real second`}>
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

/** A session's playback: scrubber (0 … end; drag, arrows, Page Up/Down, Home/End), play/pause, speed. */
function SessionTimeline({ client, session }: { client: TwinClient; session: SessionInfo | null }) {
  const store = useTwinStore();
  const role = useTwin((s) => s.role);
  useTicker(500);
  const { busy, run } = useRequest();
  /** The scrubber's position while the user moves it (null: follow the session's clock). */
  const [draft, setDraft] = useState<number | null>(null);
  const settle = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (settle.current !== null) clearTimeout(settle.current);
  }, []);
  const may = mayTrain(role);
  const f = store.getState().fast;
  const endMs = session?.clock.endMs ?? 0;
  const now = Math.min(endMs, displayTime(f, performance.now()));
  const finished = session?.kind === 'training' && session.phase === 'finished';

  const send = (request: SessionClockRequest, what: string): Promise<boolean> => run(what, () => client.sessionClock(request));
  const seek = (toMs: number): void => {
    if (settle.current !== null) clearTimeout(settle.current);
    settle.current = null;
    void send({ action: 'seek', toMs }, `Seek to ${formatClock(toMs)}`).finally(() => setDraft(null));
  };
  const move = (toMs: number): void => {
    setDraft(toMs);
    if (settle.current !== null) clearTimeout(settle.current);
    settle.current = setTimeout(() => seek(toMs), SEEK_SETTLE_MS);
  };

  if (session === null) {
    return (
      <section className="panel timeline" aria-label="Session timeline" data-testid="timeline">
        <span className="hint">Loading the session…</span>
      </section>
    );
  }
  const shown = draft ?? now;
  const handover = session.handoverMs;
  return (
    <section className="panel timeline session" aria-label="Session timeline" data-testid="timeline" data-session={session.id}>
      {f.paused ? (
        <button type="button" disabled={!may || busy || finished} onClick={() => void send({ action: 'resume' }, 'Play')} title="Play the recording" aria-label="Play" data-testid="session-play">
          ▶
        </button>
      ) : (
        <button type="button" disabled={!may || busy || finished} onClick={() => void send({ action: 'pause' }, 'Pause')} title="Pause the recording" aria-label="Pause" data-testid="session-pause">
          ❚❚
        </button>
      )}
      <div className="scrubber">
        <input
          type="range"
          min={0}
          max={endMs}
          step={1000}
          value={shown}
          disabled={!may || finished}
          onChange={(e) => move(Number(e.target.value))}
          onPointerUp={(e) => seek(Number((e.target as HTMLInputElement).value))}
          aria-label="Position in the recording"
          aria-valuetext={`${formatClock(shown)} of ${formatClock(endMs)}`}
          title="Drag, or use the arrow keys (1 s), Page Up/Down (10%), Home/End, to move through the recording"
          data-testid="scrubber"
          data-now={Math.round(now)}
        />
        {handover !== undefined && endMs > 0 && <span className="handover-mark" style={{ left: `${(100 * handover) / endMs}%` }} title={`Handover at ${formatClock(handover)}`} aria-hidden="true" />}
      </div>
      <span className="position" data-testid="session-time">
        {formatClock(shown)} / {formatClock(endMs)}
      </span>
      <label>
        <span className="sr-only">Playback speed</span>
        <select value={PLAYBACK_SPEEDS.includes(session.clock.speed) ? session.clock.speed : ''} disabled={!may || busy || finished} onChange={(e) => void send({ action: 'speed', speed: Number(e.target.value) }, `Speed ×${e.target.value}`)} aria-label="Playback speed" title="Simulated seconds per real second" data-testid="session-speed">
          {!PLAYBACK_SPEEDS.includes(session.clock.speed) && <option value="">×{session.clock.speed}</option>}
          <SpeedOptions speeds={PLAYBACK_SPEEDS} />
        </select>
      </label>
      {!may && <span className="hint">The trainer drives this session.</span>}
    </section>
  );
}
