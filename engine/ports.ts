import { EventEmitter } from 'node:events';
import type { JournalEntry } from './journal.ts';
import type { ActorView, StateChange } from './protocol.ts';

/**
 * Ports: what the engine needs from the outside world, as interfaces. The in-process classes below
 * are the embedded defaults; Kafka, TimescaleDB and Redis adapters in gateways/ implement the same
 * interfaces and pass the same contract tests.
 */

/** Message bus (Kafka in production): topics of keyed byte or string values. */
export interface BusPort {
  publish(topic: string, key: string, value: Uint8Array | string): Promise<void>;
  subscribe(topic: string, handler: (key: string, value: Uint8Array | string) => void | Promise<void>): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** History store (TimescaleDB in production). Times are virtual ms. */
export interface HistoryPort {
  appendChanges(changes: readonly StateChange[]): Promise<void>;
  appendJournal(runId: string, entries: readonly JournalEntry[]): Promise<void>;
  readJournal(runId: string): Promise<JournalEntry[]>;
  /** Changes of one actor within [fromMs, toMs], oldest first. */
  actorHistory(actor: number, fromMs: number, toMs: number): Promise<StateChange[]>;
  close(): Promise<void>;
}

/** Latest-state cache (Redis in production), keyed by actor id. */
export interface CachePort {
  putLatest(entries: ReadonlyArray<readonly [string, ActorView]>): Promise<void>;
  getLatest(ids: readonly string[]): Promise<Array<ActorView | undefined>>;
  close(): Promise<void>;
}

/** In-process bus: an EventEmitter per topic. Delivery is asynchronous, like a real broker's. */
export class InProcessBus implements BusPort {
  private readonly emitter = new EventEmitter();

  async publish(topic: string, key: string, value: Uint8Array | string): Promise<void> {
    setImmediate(() => this.emitter.emit(topic, key, value));
  }

  async subscribe(topic: string, handler: (key: string, value: Uint8Array | string) => void | Promise<void>): Promise<() => Promise<void>> {
    const listener = (key: string, value: Uint8Array | string): void => void handler(key, value);
    this.emitter.on(topic, listener);
    return async () => void this.emitter.off(topic, listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/** In-memory history, bounded: the oldest changes go first once `maxChanges` is reached. */
export class MemoryHistory implements HistoryPort {
  private changes: StateChange[] = [];
  private readonly journals = new Map<string, JournalEntry[]>();

  constructor(private readonly maxChanges = 1_000_000) {}

  async appendChanges(changes: readonly StateChange[]): Promise<void> {
    this.changes.push(...changes);
    if (this.changes.length > this.maxChanges) this.changes = this.changes.slice(this.changes.length - this.maxChanges);
  }

  async appendJournal(runId: string, entries: readonly JournalEntry[]): Promise<void> {
    const list = this.journals.get(runId) ?? [];
    list.push(...entries);
    this.journals.set(runId, list);
  }

  async readJournal(runId: string): Promise<JournalEntry[]> {
    return [...(this.journals.get(runId) ?? [])];
  }

  async actorHistory(actor: number, fromMs: number, toMs: number): Promise<StateChange[]> {
    return this.changes.filter((c) => c.actor === actor && c.time >= fromMs && c.time <= toMs);
  }

  async close(): Promise<void> {}
}

/** In-process latest-state cache. */
export class MemoryCache implements CachePort {
  private readonly latest = new Map<string, ActorView>();

  async putLatest(entries: ReadonlyArray<readonly [string, ActorView]>): Promise<void> {
    for (const [id, view] of entries) this.latest.set(id, view);
  }

  async getLatest(ids: readonly string[]): Promise<Array<ActorView | undefined>> {
    return ids.map((id) => this.latest.get(id));
  }

  async close(): Promise<void> {}
}
