import { Component, useEffect, useMemo, type ReactNode } from 'react';
import { StoreContext, useTwin } from './context.ts';
import type { TwinStore } from './store.ts';
import { createClient, tokenFromFragment, type TwinClient } from './net/client.ts';
import { mayInject } from './model.ts';
import { CityScene } from './scene/CityScene.tsx';
import { Headline } from './panels/Headline.tsx';
import { Inspector } from './panels/Inspector.tsx';
import { IncidentChart } from './panels/HistoryCharts.tsx';
import { AlertsPanel, CrisisList, LayersPanel, Legend, Notices } from './panels/Side.tsx';
import { Timeline } from './panels/Timeline.tsx';
import { InjectPanel } from './panels/InjectPanel.tsx';
import { WaterPanel } from './panels/WaterPanel.tsx';
import { GridLegend, N1Panel } from './panels/N1Panel.tsx';
import { SignIn } from './panels/SignIn.tsx';
import { HeldActions, TelemetryAlerts } from './panels/Estimation.tsx';
import { SourceBanner, SourcePicker, TrainerPanel } from './panels/Sessions.tsx';

const TOKEN_KEY = 'stratum.token';

function ConnectionBadge() {
  const connection = useTwin((s) => s.connection);
  const watchingSession = useTwin((s) => s.source !== null);
  // "live" only when the live city is on screen: a connected replay is not live.
  const label = { idle: 'offline', connecting: 'connecting…', connected: watchingSession ? 'connected · session' : 'live', lost: 'connection lost — reconnecting', unauthorised: 'signed out' }[connection];
  return (
    <span className={`badge ${connection}`} role="status" data-testid="connection" data-state={connection} title="Connection to the engine">
      ● {label}
    </span>
  );
}

function Shell({ client, store }: { client: TwinClient; store: TwinStore }) {
  const role = useTwin((s) => s.role);
  const user = useTwin((s) => s.user);
  const name = useTwin((s) => s.topology?.name ?? '');
  const lost = useTwin((s) => s.connection === 'lost');
  const sourceKind = useTwin((s) => (s.source === null ? 'live' : (s.session?.kind ?? 'replay')));
  // The headline summary is recomputed from the live columns at 4 Hz, never per delta.
  useEffect(() => {
    const id = setInterval(() => store.refreshSummary(), 250);
    return () => clearInterval(id);
  }, [store]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const t = e.target as HTMLElement;
      if (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA') return;
      if (e.key === 'Escape') store.select(null);
      else if (e.key === 'c' || e.key === 'C') store.setState((s) => ({ crisis: !s.crisis }));
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
  return (
    <div className={`app ${lost ? 'stale' : ''} source-${sourceKind}`} data-testid="app" data-stale={lost ? 'true' : 'false'} data-source={sourceKind}>
      <header className="topbar">
        <h1>
          Stratum Twin <small>{name}</small>
        </h1>
        <SourcePicker client={client} />
        <ConnectionBadge />
        <span className="who" title="Your role decides which panels you see">
          {user ?? ''} {role ? `· ${role}` : ''}
        </span>
        <button
          type="button"
          onClick={() => {
            sessionStorage.removeItem(TOKEN_KEY);
            client.disconnect();
            store.setState({ token: null, role: null, connection: 'idle' });
          }}
          title="Sign out"
        >
          Sign out
        </button>
      </header>
      <SourceBanner client={client} />
      {lost && (
        <div className="banner lost" role="alert" data-testid="connection-banner">
          Connection to the engine lost — what you see is frozen at the last update and may be out of date. Reconnecting…
        </div>
      )}
      <Headline />
      <div className="main">
        <aside className="left">
          {/* While the engine is out of reach every control that would send something is off: the
              operator sees at once that it cannot act, instead of a toast after each click. The
              inject panel comes first so it is above the fold at 1280×720. */}
          <fieldset className="controls" disabled={lost}>
            {mayInject(role) && (sourceKind === 'live' ? <InjectPanel client={client} /> : <p className="panel hint">Injection acts on the live city: go back to live to inject.</p>)}
          </fieldset>
          <LayersPanel />
          <Legend />
          <WaterPanel client={client} />
          <GridLegend />
          <fieldset className="controls" disabled={lost}>
            <TrainerPanel client={client} />
          </fieldset>
        </aside>
        <CityScene />
        <aside className="right">
          <Inspector client={client} />
          {sourceKind === 'live' && <HeldActions client={client} />}
          <TelemetryAlerts />
          <IncidentChart client={client} />
          <N1Panel />
          <CrisisList />
          <AlertsPanel />
        </aside>
      </div>
      <fieldset className="controls" disabled={lost}>
        <Timeline client={client} />
      </fieldset>
      <Notices />
    </div>
  );
}

export function App({ store }: { store: TwinStore }) {
  const client = useMemo(() => createClient(store), [store]);
  const token = useTwin((s) => s.token);
  const connect = (t: string): void => {
    sessionStorage.setItem(TOKEN_KEY, t);
    client.connect(t).catch(() => sessionStorage.removeItem(TOKEN_KEY));
  };
  useEffect(() => {
    const t = tokenFromFragment() ?? sessionStorage.getItem(TOKEN_KEY);
    if (t) connect(t);
    return () => client.disconnect();
  }, [client]);
  return token ? <Shell client={client} store={store} /> : (<><SignIn onSubmit={connect} /><Notices /></>);
}

/** Shows what broke instead of a blank screen; the operator can reload. */
class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };
  static getDerivedStateFromError(error: Error): { error: Error } {
    return { error };
  }
  override render(): ReactNode {
    if (this.state.error) {
      return (
        <main className="signin" role="alert">
          <div>
            <h1>The twin stopped</h1>
            <p>{this.state.error.message}</p>
            <button type="button" onClick={() => window.location.reload()}>
              Reload
            </button>
          </div>
        </main>
      );
    }
    return this.props.children;
  }
}

export function Root({ store }: { store: TwinStore }) {
  return (
    <ErrorBoundary>
      <StoreContext.Provider value={store}>
        <App store={store} />
      </StoreContext.Provider>
    </ErrorBoundary>
  );
}
