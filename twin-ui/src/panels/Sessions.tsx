/**
 * Replay and training sessions: the source picker (live city or a session), the banner that says a
 * replay is on screen, the trainer's panel (record, start, finish, close) and the score.
 */
import { useCallback, useEffect, useState } from 'react';
import { useTwin, useTwinStore } from '../context.ts';
import { mayTrain, type CreateSessionRequest, type RecordingInfo, type SessionDecision, type SessionInfo, type SessionOutcome, type SessionScore } from '../model.ts';
import { ROUTES, type TwinClient } from '../net/client.ts';
import { formatClock, formatMoney, formatPeople } from '../format.ts';
import { SpeedOptions, useRequest } from './actions.tsx';

export function sessionLabel(s: SessionInfo): string {
  return `${s.kind === 'training' ? 'Training' : 'Replay'} · ${s.recording} · by ${s.createdBy}`;
}

function phaseText(s: SessionInfo): string {
  if (s.kind === 'replay') return s.phase === 'finished' ? 'at the end of the recording' : 'replaying the recording';
  if (s.phase === 'replaying') return `replaying until the handover at ${formatClock(s.handoverMs ?? 0)}`;
  if (s.phase === 'handed-over') return 'trainees in control';
  return 'finished and scored';
}

/** Live city or one of the running sessions. Switching resubscribes and starts from a fresh picture. */
export function SourcePicker({ client }: { client: TwinClient }) {
  const source = useTwin((s) => s.source);
  const sessions = useTwin((s) => s.sessions);
  // The session on screen stays in the list while the server's list catches up.
  const onScreen = useTwin((s) => s.session);
  const options = onScreen && !sessions.some((s) => s.id === onScreen.id) ? [onScreen, ...sessions] : sessions;
  return (
    <label className="source-picker" title="What the twin shows: the live city, or a replay or training session">
      <span className="sr-only">Source</span>
      <select value={source ?? ''} onChange={(e) => client.setSource(e.target.value === '' ? null : e.target.value)} data-testid="source" aria-label="Source on screen">
        <option value="">● Live city</option>
        {options.map((s) => (
          <option key={s.id} value={s.id}>
            {sessionLabel(s)}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Impossible to miss: what is on screen is not the live city. */
export function SourceBanner({ client }: { client: TwinClient }) {
  const source = useTwin((s) => s.source);
  const session = useTwin((s) => s.session);
  const [showScore, setShowScore] = useState(false);
  if (source === null) return null;
  // Once scored, the session's details carry the result: every viewer (the trainees too) can open it.
  const result = (session as (SessionInfo & { result?: SessionScore }) | null)?.result;
  const kind = session?.kind === 'training' ? 'TRAINING' : 'REPLAY';
  return (
    <div className={`banner source ${session?.kind ?? 'replay'}`} role="status" data-testid="source-banner" data-kind={session?.kind ?? ''} data-phase={session?.phase ?? ''}>
      <span>
        {kind} — not live. {session ? `${sessionLabel(session)} · ${phaseText(session)}` : `Session ${source}`}
      </span>
      {result !== undefined && (
        <button type="button" onClick={() => setShowScore(true)} data-testid="show-score" title="The training result: score, metrics and both decision timelines">
          Score {Math.round(result.score)} / 100
        </button>
      )}
      <button type="button" onClick={() => client.setSource(null)} data-testid="back-to-live" title="Show the live city again">
        Back to live
      </button>
      {showScore && result !== undefined && <ScoreDialog report={result} onClose={() => setShowScore(false)} />}
    </div>
  );
}

/** `GET /api/recordings` answers `{ recordings }`; accept a bare list too. */
function recordingList(reply: unknown): RecordingInfo[] {
  const list = Array.isArray(reply) ? reply : (reply as { recordings?: unknown } | null)?.recordings;
  return Array.isArray(list) ? (list as RecordingInfo[]) : [];
}

const SESSION_SPEEDS = [1, 10, 60, 100, 600, 1000];

/** Trainers and admins: record the live run, start a replay or a training session, finish, close. */
export function TrainerPanel({ client }: { client: TwinClient }) {
  const store = useTwinStore();
  const role = useTwin((s) => s.role);
  const source = useTwin((s) => s.source);
  const session = useTwin((s) => s.session);
  const [recordings, setRecordings] = useState<RecordingInfo[] | null>(null);
  const [recording, setRecording] = useState('');
  const [kind, setKind] = useState<'replay' | 'training'>('replay');
  const [handoverMin, setHandoverMin] = useState('');
  const [speed, setSpeed] = useState(60);
  const { busy, run } = useRequest();
  const [report, setReport] = useState<SessionScore | null>(null);

  const loadRecordings = useCallback(async (): Promise<RecordingInfo[]> => {
    try {
      const list = recordingList(await client.get<unknown>(ROUTES.recordings));
      setRecordings(list);
      return list;
    } catch (e) {
      store.notify('error', `Could not list the recordings: ${(e as Error).message}`);
      setRecordings([]);
      return [];
    }
  }, [client, store]);
  // Only for those who may train, once signed in: a refused token must not add a second message.
  useEffect(() => {
    if (mayTrain(role)) void loadRecordings();
  }, [loadRecordings, role]);

  if (!mayTrain(role)) return null;
  const chosen = recordings?.find((r) => r.id === recording);
  const recordLive = (): Promise<boolean> =>
    run('Recording the live run', async () => {
      const reply = await client.post<{ id: string; untilMs: number }>(ROUTES.recordings, { title: `recorded from the twin at ${new Date().toLocaleString('en-GB')}` });
      await loadRecordings();
      setRecording(reply.id);
      store.notify('ok', `Recorded the live run up to ${formatClock(reply.untilMs)} as ${reply.id}`);
    });

  const start = (): Promise<boolean> =>
    run(`Starting a ${kind} of ${recording || '(no recording)'}`, async () => {
      const body: CreateSessionRequest = { recording, kind, speed, ...(kind === 'training' && handoverMin.trim() !== '' ? { handoverMs: Math.round(Number(handoverMin) * 60_000) } : {}) };
      const reply = await client.post<{ ok: true; session: SessionInfo }>(ROUTES.sessions, body);
      store.setState((s) => ({ sessions: [...s.sessions.filter((x) => x.id !== reply.session.id), reply.session] }));
      client.setSource(reply.session.id);
      setReport(null);
      store.notify('ok', `${sessionLabel(reply.session)} started`);
    });

  const finish = (id: string): Promise<boolean> =>
    run(`Finishing session ${id}`, async () => {
      setReport(await client.post<SessionScore>(ROUTES.sessionFinish(id)));
      await client.refresh();
    });

  const close = (id: string): Promise<boolean> =>
    run(`Closing session ${id}`, async () => {
      await client.del(ROUTES.session(id));
      store.setState((s) => ({ sessions: s.sessions.filter((x) => x.id !== id) }));
      if (store.getState().source === id) client.setSource(null);
      store.notify('info', `Session ${id} closed`);
    });

  const handoverProblem = kind === 'training' && handoverMin.trim() !== '' && (!(Number(handoverMin) >= 0) || (chosen !== undefined && Number(handoverMin) * 60_000 > chosen.untilMs)) ? `The handover must be between 0 and ${chosen ? (chosen.untilMs / 60_000).toFixed(1) : '?'} minutes` : null;
  return (
    <section className="panel trainer" aria-label="Replay and training" data-testid="trainer-panel">
      <h2>Replay and training</h2>
      <button type="button" disabled={busy} onClick={() => void recordLive()} title="Save the live run so far (journal, seed, city) as a recording" data-testid="record-live">
        Record the live run
      </button>
      <label>
        Recording{' '}
        <select value={recording} onChange={(e) => setRecording(e.target.value)} data-testid="recording">
          <option value="">{recordings === null ? 'loading…' : recordings.length === 0 ? 'none yet' : 'choose…'}</option>
          {(recordings ?? []).map((r) => (
            <option key={r.id} value={r.id}>
              {r.id} ({formatClock(r.untilMs)})
            </option>
          ))}
        </select>
      </label>
      <fieldset className="kind">
        <legend>Kind</legend>
        <label>
          <input type="radio" name="session-kind" value="replay" checked={kind === 'replay'} onChange={() => setKind('replay')} data-testid="kind-replay" /> replay
        </label>
        <label>
          <input type="radio" name="session-kind" value="training" checked={kind === 'training'} onChange={() => setKind('training')} data-testid="kind-training" /> training
        </label>
      </fieldset>
      {kind === 'training' && (
        <label title="Virtual time from the start of the recording when the trainees take over; empty: when the recorded operators first acted">
          Handover at (minutes)
          <input type="number" min={0} step={0.5} value={handoverMin} onChange={(e) => setHandoverMin(e.target.value)} placeholder="first recorded decision" aria-invalid={handoverProblem !== null} aria-describedby="handover-problem" data-testid="handover" />
        </label>
      )}
      {handoverProblem && (
        <p className="bad" id="handover-problem" role="alert">
          {handoverProblem}
        </p>
      )}
      <label>
        Start speed{' '}
        <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))} data-testid="start-speed">
          <SpeedOptions speeds={SESSION_SPEEDS} />
        </select>
      </label>
      <button type="button" disabled={busy || recording === '' || handoverProblem !== null} onClick={() => void start()} title={recording ? `Start a ${kind} of ${recording}` : 'Choose a recording first'} data-testid="start-session">
        Start {kind}
      </button>
      {source !== null && session !== null && (
        <div className="row" role="group" aria-label="This session">
          {session.kind === 'training' && session.phase !== 'finished' && (
            <button type="button" disabled={busy} onClick={() => void finish(session.id)} title="Run the exercise to the end and score the trainees against the recorded operators" data-testid="finish">
              Finish and score
            </button>
          )}
          <button type="button" className="danger" disabled={busy} onClick={() => void close(session.id)} title="Close this session on the server for everyone" data-testid="close-session">
            Close session
          </button>
        </div>
      )}
      {report && <ScoreDialog report={report} onClose={() => setReport(null)} />}
    </section>
  );
}

const METRICS: readonly { label: string; of: (o: SessionOutcome) => number; delta: (d: SessionScore['metrics']['delta']) => number; format: (n: number) => string }[] = [
  { label: 'People-hours without power', of: (o) => o.peopleHoursWithout.power, delta: (d) => d.peopleHoursWithout['power'] ?? 0, format: formatPeople },
  { label: 'People-hours without water', of: (o) => o.peopleHoursWithout.water, delta: (d) => d.peopleHoursWithout['water'] ?? 0, format: formatPeople },
  { label: 'People-hours without telecom', of: (o) => o.peopleHoursWithout.telecom, delta: (d) => d.peopleHoursWithout['telecom'] ?? 0, format: formatPeople },
  { label: 'Hospital-hours degraded', of: (o) => o.hospitalHoursDegraded, delta: (d) => d.hospitalHoursDegraded, format: (n) => n.toFixed(1) },
  { label: 'Cost', of: (o) => o.cost.total, delta: (d) => d.cost, format: (n) => formatMoney(n) },
];

function signed(n: number, format: (n: number) => string): string {
  if (n === 0) return '±0';
  return n > 0 ? `+${format(n)}` : `−${format(-n).replace(/^−/, '')}`;
}

function DecisionList({ title, decisions, testid }: { title: string; decisions: readonly SessionDecision[]; testid: string }) {
  return (
    <section aria-label={title} data-testid={testid}>
      <h3>
        {title} ({decisions.length})
      </h3>
      {decisions.length === 0 ? (
        <p className="hint">No decisions.</p>
      ) : (
        <ol>
          {decisions.map((d, i) => (
            <li key={`${d.timeMs}-${i}`}>
              <b>{formatClock(d.timeMs)}</b> {d.command.type} {d.command.target}
              {typeof d.command['to'] === 'string' ? ` → ${d.command['to']}` : ''}
              {typeof d.command['share'] === 'number' ? ` ${Math.round(Number(d.command['share']) * 100)}%` : ''} <small>{d.who}</small>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** The training result: score, metrics recorded vs trainees (negative delta is better), both decision timelines. */
export function ScoreDialog({ report, onClose }: { report: SessionScore; onClose: () => void }) {
  const { recorded, trainee, delta } = report.metrics;
  const currency = trainee.cost.currency;
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div className="dialog-backdrop">
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="score-title" data-testid="score">
        <header>
          <h2 id="score-title">
            Training score <b data-testid="score-value">{Math.round(report.score)}</b> / 100
          </h2>
          <button type="button" onClick={onClose} autoFocus title="Close the score (Esc)" data-testid="close-score">
            Close
          </button>
        </header>
        <p className="hint">50 = as well as the recorded operators; higher is better. A negative difference means the trainees did better.</p>
        <table className="metrics" data-testid="score-metrics">
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col">Recorded</th>
              <th scope="col">Trainees</th>
              <th scope="col">Difference</th>
            </tr>
          </thead>
          <tbody>
            {METRICS.map((m) => {
              const d = m.delta(delta);
              const format = m.label === 'Cost' ? (n: number) => formatMoney(n, currency) : m.format;
              return (
                <tr key={m.label}>
                  <th scope="row">{m.label}</th>
                  <td>{format(m.of(recorded))}</td>
                  <td>{format(m.of(trainee))}</td>
                  <td className={d > 0 ? 'bad' : d < 0 ? 'good' : ''}>{signed(d, format)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <div className="timelines">
          <DecisionList title="Recorded operators" decisions={report.recordedDecisions} testid="recorded-decisions" />
          <DecisionList title="Trainees" decisions={report.traineeDecisions} testid="trainee-decisions" />
        </div>
      </div>
    </div>
  );
}
