import type { JournalEntry } from './journal.ts';
import type { ActorView, StateChange } from './protocol.ts';

/**
 * Ports: what the engine can hand to outside services, as interfaces; the Kafka, TimescaleDB and
 * Redis adapters in gateways/adapters implement them and pass the contract tests there. With no
 * services (the embedded default) none is needed: the durable journal file (journal.ts,
 * journal-file.ts) is the history, the kernel's views are the latest state, and the engine's own
 * stream is the bus. (In-process stand-ins that nothing used were removed: issue 17.)
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
