import { useEffect, useMemo, useState } from 'react';
import { useTwin, useTwinStore } from '../context.ts';
import type { CityIndexUi } from '../store.ts';
import { ROUTES, type Command, type TwinClient } from '../net/client.ts';

type EventKind = 'fail' | 'flood' | 'storm' | 'cyber';

interface Planned {
  readonly commands: Command[];
  readonly actors: number[];
  readonly summary: string;
}

const MAX_TARGETS = 400;

function ground(index: CityIndexUi, a: number): [number, number] {
  return [index.positions[3 * a]!, index.positions[3 * a + 2]!];
}

/** Assets within `radius` metres of a centre, severity falling from `peak` at the centre to 30% of it at the edge. */
export function floodTargets(index: CityIndexUi, centre: number, radius: number, peak: number): { actor: number; severity: number }[] {
  const [cx, cz] = ground(index, centre);
  const out: { actor: number; severity: number }[] = [];
  for (let a = 0; a < index.assetCount; a++) {
    const [x, z] = ground(index, a);
    const d = Math.hypot(x - cx, z - cz);
    if (d <= radius) out.push({ actor: a, severity: peak * (1 - 0.7 * (d / radius)) });
  }
  return out.sort((p, q) => q.severity - p.severity).slice(0, MAX_TARGETS);
}

/** Assets within `width` metres of the segment start→end (a storm track). */
export function stormTargets(index: CityIndexUi, start: number, end: number, width: number, peak: number): { actor: number; severity: number }[] {
  const [ax, az] = ground(index, start);
  const [bx, bz] = ground(index, end);
  const len2 = Math.max(1e-9, (bx - ax) ** 2 + (bz - az) ** 2);
  const out: { actor: number; severity: number }[] = [];
  for (let a = 0; a < index.assetCount; a++) {
    const [x, z] = ground(index, a);
    const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (z - az) * (bz - az)) / len2));
    const d = Math.hypot(x - (ax + t * (bx - ax)), z - (az + t * (bz - az)));
    if (d <= width) out.push({ actor: a, severity: peak * (1 - 0.7 * (d / width)) });
  }
  return out.sort((p, q) => q.severity - p.severity).slice(0, MAX_TARGETS);
}

interface ScenarioInfo {
  readonly name: string;
  readonly description?: string;
}

/** Pick a scenario from the library or place an event; preview; inject. Rendered only for roles that may inject. */
export function InjectPanel({ client }: { client: TwinClient }) {
  const store = useTwinStore();
  const index = useTwin((s) => s.index);
  const selected = useTwin((s) => s.selected);
  const [kind, setKind] = useState<EventKind>('fail');
  const [severity, setSeverity] = useState(1);
  const [radius, setRadius] = useState(400);
  const [stormStart, setStormStart] = useState<number | null>(null);
  const [cyberTarget, setCyberTarget] = useState<string>('');
  const [attack, setAttack] = useState<'compromise' | 'ddos' | 'ransomware'>('ransomware');
  const [planned, setPlanned] = useState<Planned | null>(null);
  const [busy, setBusy] = useState(false);
  const [scenarios, setScenarios] = useState<ScenarioInfo[] | null>(null);
  const [scenario, setScenario] = useState('');

  const controlCentres = useMemo(() => {
    if (!index) return [];
    const out: string[] = [];
    for (let a = 0; a < index.assetCount; a++) if (/scada|control|data|core-router/i.test(index.kinds[index.kindOf[a]!]!)) out.push(index.ids[a]!);
    return out.slice(0, 200);
  }, [index]);

  useEffect(() => {
    let live = true;
    client
      .get<ScenarioInfo[] | { scenarios: ScenarioInfo[] }>(ROUTES.scenarios)
      .then((r) => live && setScenarios(Array.isArray(r) ? r : r.scenarios))
      .catch(() => live && setScenarios([]));
    return () => {
      live = false;
    };
  }, [client]);

  // Any change of the plan's inputs invalidates the preview.
  useEffect(() => {
    setPlanned(null);
    store.setState({ preview: [] });
  }, [kind, severity, radius, stormStart, cyberTarget, attack, selected, store]);

  if (!index) return null;
  const selId = selected !== null && selected < index.assetCount ? index.ids[selected]! : null;

  const plan = (): Planned | null => {
    if (kind === 'fail') {
      if (selected === null || selected >= index.assetCount) return null;
      return { commands: [{ type: 'fail', target: selId!, severity }], actors: [selected], summary: `Fail ${selId} (severity ${severity})` };
    }
    if (kind === 'flood' && selected !== null) {
      const t = floodTargets(index, selected, radius, severity);
      return { commands: t.map(({ actor, severity: s }) => ({ type: 'fail', target: index.ids[actor]!, severity: Math.round(s * 100) / 100, hazard: 'flood' })), actors: t.map((x) => x.actor), summary: `Flood ${radius} m around ${index.ids[selected]}: ${t.length} assets` };
    }
    if (kind === 'storm' && stormStart !== null && selected !== null) {
      const t = stormTargets(index, stormStart, selected, radius, severity);
      return { commands: t.map(({ actor, severity: s }) => ({ type: 'fail', target: index.ids[actor]!, severity: Math.round(s * 100) / 100, hazard: 'wind' })), actors: t.map((x) => x.actor), summary: `Storm track ${index.ids[stormStart]} → ${index.ids[selected]}, ${radius} m wide: ${t.length} assets` };
    }
    if (kind === 'cyber' && cyberTarget) {
      const a = index.indexOf.get(cyberTarget);
      if (a === undefined) return null;
      return { commands: [{ type: 'cyber', target: cyberTarget, attack, severity }], actors: [a], summary: `Cyber ${attack} on ${cyberTarget}` };
    }
    return null;
  };

  const preview = (): void => {
    const p = plan();
    setPlanned(p);
    store.setState({ preview: p?.actors ?? [] });
    if (!p) store.notify('warn', 'Nothing to preview: choose the target first (click an asset on the map).');
  };

  const inject = async (): Promise<void> => {
    const p = planned ?? plan();
    if (!p) {
      store.notify('warn', 'Nothing to inject: choose the target first (click an asset on the map).');
      return;
    }
    setBusy(true);
    let ok = 0;
    try {
      for (const c of p.commands) {
        await client.command(c);
        ok++;
      }
      store.notify('ok', `Injected: ${p.summary}`);
    } catch (e) {
      store.notify('error', `Inject stopped after ${ok} of ${p.commands.length}: ${(e as Error).message}`);
    } finally {
      setBusy(false);
      setPlanned(null);
      store.setState({ preview: [] });
    }
  };

  const runScenario = async (): Promise<void> => {
    if (!scenario) return;
    setBusy(true);
    try {
      await client.post(ROUTES.scenarioRun(scenario), {});
      store.notify('ok', `Scenario ${scenario} started`);
    } catch (e) {
      store.notify('error', `Scenario ${scenario}: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel inject" aria-label="Scenario and event injection" data-testid="inject-panel">
      <h2>Inject</h2>
      {scenarios && scenarios.length > 0 && (
        <div className="row">
          <label>
            Scenario{' '}
            <select value={scenario} onChange={(e) => setScenario(e.target.value)} title="Scenarios from the library">
              <option value="">choose…</option>
              {scenarios.map((s) => (
                <option key={s.name} value={s.name} title={s.description}>
                  {s.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" disabled={busy || !scenario} onClick={() => void runScenario()}>
            Run
          </button>
        </div>
      )}
      <label>
        Event{' '}
        <select value={kind} onChange={(e) => setKind(e.target.value as EventKind)} data-testid="event-kind">
          <option value="fail">asset failure</option>
          <option value="flood">flood area</option>
          <option value="storm">storm track</option>
          <option value="cyber">cyber attack</option>
        </select>
      </label>
      {(kind === 'fail' || kind === 'flood') && (
        <p className="hint" data-testid="inject-target">
          {kind === 'fail' ? 'Target' : 'Centre'}: {selId ?? <em>click an asset on the map</em>}
        </p>
      )}
      {kind === 'storm' && (
        <p className="hint">
          From {stormStart !== null ? index.ids[stormStart] : <em>—</em>}{' '}
          <button type="button" disabled={selected === null} onClick={() => setStormStart(selected)} title="Use the selected asset as the storm's start">
            set start
          </button>{' '}
          to {selId ?? <em>click an asset</em>}
        </p>
      )}
      {kind === 'cyber' && (
        <>
          <label>
            Control centre{' '}
            <select value={cyberTarget} onChange={(e) => setCyberTarget(e.target.value)}>
              <option value="">choose…</option>
              {controlCentres.map((id) => (
                <option key={id} value={id}>
                  {id}
                </option>
              ))}
            </select>
          </label>
          <label>
            Attack{' '}
            <select value={attack} onChange={(e) => setAttack(e.target.value as typeof attack)}>
              <option value="compromise">compromise</option>
              <option value="ddos">DDoS</option>
              <option value="ransomware">ransomware</option>
            </select>
          </label>
        </>
      )}
      {(kind === 'flood' || kind === 'storm') && (
        <label>
          {kind === 'flood' ? 'Radius' : 'Width'} {radius} m
          <input type="range" min={50} max={3000} step={50} value={radius} onChange={(e) => setRadius(Number(e.target.value))} />
        </label>
      )}
      <label>
        Severity {severity.toFixed(2)}
        <input type="range" min={0.1} max={1} step={0.05} value={severity} onChange={(e) => setSeverity(Number(e.target.value))} />
      </label>
      <div className="row">
        <button type="button" disabled={busy} onClick={preview} title="Mark on the map what this event would hit" data-testid="preview">
          Preview
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void inject()} title="Send the event to the engine" data-testid="inject">
          Inject
        </button>
      </div>
      {planned && <p className="hint" data-testid="plan">{planned.summary}</p>}
    </section>
  );
}
