import type { Engine } from '../../engine/index.ts';
import type { CostModel } from '../../scenarios/index.ts';
import type { PgHistoryQueries, SeriesSink } from '../adapters/history-pg.ts';
import { SeriesTracker, type SeriesSample } from './history-series.ts';
import { EmbeddedHistory, type EmbeddedHistoryOptions, type HistoryQueries } from './history-store.ts';

/**
 * History of one engine: its state changes and its layer/district series go into an embedded store
 * (always; bounded) and, for the live engine with the PostgreSQL adapter on, the series also into
 * the database (the state changes already go there through the adapters' `HistorySink`).
 *
 * Durable by rebuilding, not by files of its own: it subscribes to the engine's stream when the
 * server starts, before `engine.recover` replays the data directory's journal, so the replay's state
 * changes (the same ones, at the same virtual times: the engine is deterministic) refill it. The
 * journal is the one durable record; a second store of derived rows could disagree with it after a
 * crash, and would need its own torn-tail repair and retention (gateways/history-restart.test.ts).
 * Since state snapshots, a restart replays only the journal after the newest snapshot: what the
 * store held at the snapshot travels with it as a companion file (`EmbeddedHistory.exportHeld`,
 * written with the snapshot, imported before the tail is replayed), derived at the same cut.
 */
export class EngineHistory {
  readonly embedded: EmbeddedHistory;
  private readonly tracker: SeriesTracker;
  private readonly offChanges: () => void;

  constructor(readonly engine: Engine, costModel: CostModel, bounds: EmbeddedHistoryOptions, sink?: SeriesSink) {
    this.embedded = new EmbeddedHistory(bounds);
    const store = this.embedded;
    this.offChanges = engine.stream.subscribe((change) => store.appendChange(change));
    this.tracker = new SeriesTracker(engine, costModel, (samples: SeriesSample[]) => {
      store.appendSamples(samples);
      sink?.push(samples);
    });
  }

  /** Emits the settled instant's samples: call before answering a query, and on a timer. */
  settle(): void {
    this.tracker.flushSettled();
  }

  close(): void {
    this.offChanges();
    this.tracker.close();
  }
}

/** Where a history query is answered: the store, the engine (for names and the current state) and its clock. */
export interface HistorySource {
  readonly engine: Engine;
  readonly queries: HistoryQueries;
  /** `live`, `session:<id>` or `run:<id>`. */
  readonly scope: string;
}

export interface HistoryHubOptions {
  readonly live: Engine;
  readonly costModel: CostModel;
  readonly bounds: EmbeddedHistoryOptions;
  /** With the PostgreSQL adapter: the live run's store (queries are answered there) and its sink. */
  readonly pg?: { readonly queries: PgHistoryQueries; readonly sink: SeriesSink };
}

/**
 * The live engine's history and one per replay/training session (a session's engine is replaced on
 * a backward seek; its history starts again with the new engine, which replays from zero).
 */
export class HistoryHub {
  readonly live: EngineHistory;
  private readonly sessions = new Map<string, EngineHistory>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: HistoryHubOptions) {
    this.live = new EngineHistory(options.live, options.costModel, options.bounds, options.pg?.sink);
    this.timer = setInterval(() => {
      this.live.settle();
      for (const h of this.sessions.values()) h.settle();
    }, 1_000);
    this.timer.unref();
  }

  /** A session started on `engine` (its first engine, or a new one after a backward seek). */
  sessionEngine(session: string, engine: Engine): void {
    this.sessions.get(session)?.close();
    this.sessions.set(session, new EngineHistory(engine, this.options.costModel, this.options.bounds));
  }

  sessionClosed(session: string): void {
    this.sessions.get(session)?.close();
    this.sessions.delete(session);
  }

  /** The live source: PostgreSQL when connected (`run` another run there), else the embedded store. */
  liveSource(run?: string): HistorySource {
    this.live.settle();
    const pg = this.options.pg?.queries;
    if (run !== undefined && pg !== undefined) return { engine: this.live.engine, queries: run === pg.runId ? pg : pg.forRun(run), scope: `run:${run}` };
    return { engine: this.live.engine, queries: pg ?? this.live.embedded, scope: 'live' };
  }

  sessionSource(session: string): HistorySource | undefined {
    const h = this.sessions.get(session);
    if (h === undefined) return undefined;
    h.settle();
    return { engine: h.engine, queries: h.embedded, scope: `session:${session}` };
  }

  get pg(): PgHistoryQueries | undefined {
    return this.options.pg?.queries;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.live.settle();
    this.live.close();
    for (const h of this.sessions.values()) h.close();
    this.sessions.clear();
    if (this.options.pg !== undefined) {
      await this.options.pg.sink.drain(5_000);
      this.options.pg.sink.close();
    }
  }
}
