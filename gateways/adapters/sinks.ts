import type { ActorView, CachePort, Engine, HistoryPort, JournalEntry, StateChange } from '../../engine/index.ts';
import { drainUntil, ServiceStatus, type HealthReporter, type ServiceHealth } from './health.ts';

/**
 * Write-behind between the engine and a slow or failing service. The engine never waits for a
 * service: its state changes and journal entries go into a bounded buffer that a background loop
 * writes out, retrying with backoff while the service is down. When the buffer is full the oldest
 * state changes are dropped (counted in `dropped`); journal entries are never dropped — whoever
 * needs them durable (the Kafka consumer, before it commits offsets) waits on `journalDurable`.
 */
export interface SinkOptions {
  /** State changes held while the service is down (default 200,000). */
  readonly maxPendingChanges?: number;
  /** Rows per write (default 5,000). */
  readonly batchSize?: number;
  /** Backoff between retries, ms (default 100, doubling up to `maxBackoffMs`). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export class HistorySink implements HealthReporter {
  private changes: StateChange[] = [];
  private journal: JournalEntry[] = [];
  private readonly waiters: Array<{ seq: number; resolve: () => void }> = [];
  private durableSeq = -1;
  private loop: Promise<void> | undefined;
  private readonly status = new ServiceStatus();
  private closed = false;
  private readonly maxPending: number;
  private readonly batchSize: number;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;

  constructor(readonly target: HistoryPort, readonly runId: string, readonly backend: string, options: SinkOptions = {}) {
    this.maxPending = options.maxPendingChanges ?? 200_000;
    this.batchSize = options.batchSize ?? 5_000;
    this.minBackoff = options.minBackoffMs ?? 100;
    this.maxBackoff = options.maxBackoffMs ?? 2_000;
  }

  /** Queues changes (never blocks; beyond the bound the oldest go). */
  pushChanges(changes: readonly StateChange[]): void {
    for (const c of changes) this.changes.push(c);
    const over = this.changes.length - this.maxPending;
    if (over > 0) {
      this.changes.splice(0, over);
      this.status.dropped += over;
    }
    this.kick();
  }

  /** Queues journal entries (in seq order). */
  pushJournal(entries: readonly JournalEntry[]): void {
    for (const e of entries) this.journal.push(e);
    this.kick();
  }

  /** Declares entries up to `seq` stored already (a process that restored its journal from the store). */
  markDurable(seq: number): void {
    this.durableSeq = Math.max(this.durableSeq, seq);
    this.release();
  }

  /** Resolves once every journal entry up to `seq` is stored (waits through outages). */
  journalDurable(seq: number): Promise<void> {
    if (seq <= this.durableSeq) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ seq, resolve });
      this.kick();
    });
  }

  /** Waits until everything queued so far is written (or `timeoutMs` passes: then false). */
  async drain(timeoutMs = 10_000): Promise<boolean> {
    return drainUntil(() => this.changes.length === 0 && this.journal.length === 0 && this.loop === undefined, timeoutMs);
  }

  health(): ServiceHealth {
    return this.status.report('history', this.backend, { pending: this.changes.length + this.journal.length, bound: this.maxPending });
  }

  private kick(): void {
    if (this.loop !== undefined || this.closed) return;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
      if (!this.closed && (this.changes.length > 0 || this.journal.length > 0)) this.kick();
    });
  }

  private async run(): Promise<void> {
    let backoff = this.minBackoff;
    while (!this.closed && (this.journal.length > 0 || this.changes.length > 0)) {
      try {
        // The journal first: consumers wait on it before committing their offsets.
        if (this.journal.length > 0) {
          const batch = this.journal.slice(0, this.batchSize);
          await this.target.appendJournal(this.runId, batch);
          this.journal.splice(0, batch.length);
          this.status.succeeded(batch.length);
          this.durableSeq = Math.max(this.durableSeq, batch[batch.length - 1]!.seq);
          this.release();
        } else {
          const batch = this.changes.slice(0, this.batchSize);
          await this.target.appendChanges(batch);
          // Dropping may have shifted the queue meanwhile; remove what was written, if still there.
          const at = this.changes.indexOf(batch[0]!);
          if (at >= 0) this.changes.splice(at, batch.length);
          this.status.succeeded(batch.length);
        }
        backoff = this.minBackoff;
      } catch (error) {
        this.status.failed(error);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(this.maxBackoff, backoff * 2);
      }
    }
  }

  private release(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.seq <= this.durableSeq) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.loop;
  }
}

/**
 * Latest state per actor, written behind. Pending writes are a map id → latest view, so the buffer
 * is bounded by the number of actors by construction and an outage costs no history: when the
 * cache returns it gets the latest value of everything that changed meanwhile.
 */
export class CacheSink implements HealthReporter {
  private pending = new Map<string, ActorView>();
  private loop: Promise<void> | undefined;
  private readonly status = new ServiceStatus();
  private closed = false;

  constructor(readonly target: CachePort, readonly backend: string, private readonly bound: number, private readonly options: SinkOptions = {}) {}

  push(id: string, view: ActorView): void {
    this.pending.set(id, view);
    this.kick();
  }

  async drain(timeoutMs = 10_000): Promise<boolean> {
    return drainUntil(() => this.pending.size === 0 && this.loop === undefined, timeoutMs);
  }

  health(): ServiceHealth {
    return this.status.report('cache', this.backend, { pending: this.pending.size, bound: this.bound });
  }

  private kick(): void {
    if (this.loop !== undefined || this.closed) return;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
      if (!this.closed && this.pending.size > 0) this.kick();
    });
  }

  private async run(): Promise<void> {
    let backoff = this.options.minBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 2_000;
    while (!this.closed && this.pending.size > 0) {
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.target.putLatest([...batch]);
        this.status.succeeded(batch.size);
        backoff = this.options.minBackoffMs ?? 100;
      } catch (error) {
        // Put back what newer pushes did not replace.
        for (const [id, view] of batch) if (!this.pending.has(id)) this.pending.set(id, view);
        this.status.failed(error);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(max, backoff * 2);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.loop;
  }
}

/**
 * Connects an engine's state-change stream and input journal to a history sink, and its latest
 * states to a cache sink. Changes are gathered per turn of the event loop; journal entries are
 * picked up after each batch of changes and whenever `syncJournal` is called (after a submit).
 */
export class EngineTap {
  private persisted: number;
  private changes: StateChange[] = [];
  private scheduled = false;
  private readonly off: () => void;

  constructor(private readonly engine: Engine, private readonly history: HistorySink | undefined, private readonly cache: CacheSink | undefined, options: { journalFrom?: number } = {}) {
    this.persisted = options.journalFrom ?? engine.journal.length;
    this.off = engine.stream.subscribe((change) => {
      this.changes.push(change);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flushChanges());
      }
    });
  }

  /** Queues journal entries not yet queued; returns the seq of the last one (-1 when none exist). */
  syncJournal(): number {
    const journal = this.engine.journal;
    if (this.persisted < journal.length) {
      this.history?.pushJournal(journal.since(this.persisted));
      this.persisted = journal.length;
    }
    return journal.length - 1;
  }

  private flushChanges(): void {
    this.scheduled = false;
    this.syncJournal();
    const batch = this.changes;
    this.changes = [];
    if (batch.length === 0) return;
    this.history?.pushChanges(batch);
    if (this.cache !== undefined) {
      const index = this.engine.index;
      for (const c of batch) {
        const id = index.ids[c.actor];
        if (id !== undefined) this.cache.push(id, c.after);
      }
    }
  }

  close(): void {
    this.off();
    this.flushChanges();
  }
}
