import { useTwin, useTwinStore } from '../context.ts';
import { STATUS_CSS, layerColour, rgbCss } from '../colors.ts';
import { STATUS_NAMES } from '../model.ts';
import { AT_RISK_STRESS } from '../store.ts';

const NO_LAYERS: readonly string[] = [];

/** Layer visibility, edges, districts, heat map and crisis mode. */
export function LayersPanel() {
  const store = useTwinStore();
  const layers = useTwin((s) => s.index?.layers ?? NO_LAYERS);
  const hasCohorts = useTwin((s) => (s.index?.cohortCount ?? 0) > 0);
  const visible = useTwin((s) => s.layerVisible);
  const showLinks = useTwin((s) => s.showLinks);
  const showDeps = useTwin((s) => s.showDependencies);
  const showDistricts = useTwin((s) => s.showDistricts);
  const heatmap = useTwin((s) => s.heatmap);
  const crisis = useTwin((s) => s.crisis);
  const toggleLayer = (l: string): void => store.setState((s) => ({ layerVisible: { ...s.layerVisible, [l]: s.layerVisible[l] === false } }));
  return (
    <section className="panel layers" aria-label="Layers and display">
      <h2>Layers</h2>
      <fieldset>
        <legend className="sr-only">Visible layers</legend>
        {layers.map((l, i) => (
          <label key={l} title={`Show or hide the ${l} layer`}>
            <input type="checkbox" checked={visible[l] !== false} onChange={() => toggleLayer(l)} />
            <span className="swatch" style={{ background: rgbCss(layerColour(l, i)) }} aria-hidden="true" /> {l}
          </label>
        ))}
        {hasCohorts && (
          <label title="Show or hide citizen cohorts">
            <input type="checkbox" checked={visible['cohorts'] !== false} onChange={() => toggleLayer('cohorts')} /> cohorts
          </label>
        )}
      </fieldset>
      <fieldset>
        <legend className="sr-only">Display</legend>
        <label title="Physical links inside each layer (lines, mains, fibre, roads)">
          <input type="checkbox" checked={showLinks} onChange={() => store.setState({ showLinks: !showLinks })} /> links
        </label>
        <label title="Functional dependencies between layers (provider → dependent)">
          <input type="checkbox" checked={showDeps} onChange={() => store.setState({ showDependencies: !showDeps })} /> dependencies
        </label>
        <label title="District outlines">
          <input type="checkbox" checked={showDistricts} onChange={() => store.setState({ showDistricts: !showDistricts })} /> districts
        </label>
        <label title="Colour working assets by stress (load ÷ capacity)">
          <input type="checkbox" checked={heatmap} onChange={() => store.setState({ heatmap: !heatmap })} /> stress heat map
        </label>
      </fieldset>
      <button type="button" className={`crisis-toggle ${crisis ? 'on' : ''}`} aria-pressed={crisis} onClick={() => store.setState({ crisis: !crisis })} title="Dim everything healthy and list what is failing or at risk, worst first (key C)" data-testid="crisis-toggle">
        {crisis ? '■ Crisis mode on' : '□ Crisis mode'}
      </button>
    </section>
  );
}

export function Legend() {
  return (
    <section className="panel legend" aria-label="Legend">
      <h2>Legend</h2>
      <ul>
        {STATUS_NAMES.map((name, s) => (
          <li key={name}>
            <span className="dot" style={{ background: STATUS_CSS[s] }} aria-hidden="true" /> {name}
          </li>
        ))}
      </ul>
      <div className="heat" title="Working assets: colour follows stress from 0% (teal) to 100% (orange)">
        <span>stress 0%</span>
        <span className="bar" aria-hidden="true" />
        <span>100%</span>
      </div>
      <p className="shapes">Shapes: ▮ substation · ◆ router/SCADA · ▲ tower · ✚ hospital · ● other · floating balls = people</p>
    </section>
  );
}

/** What is failing or at risk, worst first (crisis mode). */
export function CrisisList() {
  const store = useTwinStore();
  const crisis = useTwin((s) => s.crisis);
  const summary = useTwin((s) => s.summary);
  const index = useTwin((s) => s.index);
  if (!crisis || !summary || !index) return null;
  const f = store.getState().fast;
  return (
    <section className="panel crisis" aria-label="Failing and at risk, worst first" data-testid="crisis-list">
      <h2>
        Failing or at risk <small>({summary.failing})</small>
      </h2>
      {summary.worst.length === 0 && <p>Nothing failing. Assets above {Math.round(AT_RISK_STRESS * 100)}% stress would appear here.</p>}
      <ol>
        {summary.worst.map((a) => (
          <li key={a}>
            <button type="button" className="link" onClick={() => store.select(a)} title={`Inspect ${index.ids[a]}`}>
              <span className="dot" style={{ background: STATUS_CSS[f.status[a]!] }} aria-hidden="true" />
              {index.ids[a]} <small>{STATUS_NAMES[f.status[a]!]} · {(f.stress[a]! * 100).toFixed(0)}%</small>
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}

/** Latest alerts from the server (assets entering failed or faulted). */
export function AlertsPanel() {
  const store = useTwinStore();
  const alerts = useTwin((s) => s.alerts);
  const index = useTwin((s) => s.index);
  if (alerts.length === 0 || !index) return null;
  return (
    <section className="panel alerts" aria-label="Latest failures">
      <h2>Latest failures</h2>
      <ol>
        {alerts.slice(0, 8).map((a, i) => (
          <li key={`${a.actor}-${a.time}-${i}`}>
            <button type="button" className="link" onClick={() => store.select(a.actor)} title={`Inspect ${a.id}`}>
              {a.id} <small>{a.cause}{a.causedBy !== 'input' ? ` ← ${a.causedBy}` : ''}</small>
            </button>
            {a.detail !== undefined ? <div><small>{a.detail}</small></div> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function Notices() {
  const store = useTwinStore();
  const notices = useTwin((s) => s.notices);
  return (
    <div className="notices" role="status" aria-live="polite" data-testid="notices">
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.kind}`}>
          <span>{n.text}</span>
          <button type="button" className="icon" onClick={() => store.dismiss(n.id)} aria-label="Dismiss" title="Dismiss">
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
