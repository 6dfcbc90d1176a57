/**
 * The audit trail: who did what, when, with what result — for every mutation, accepted or not.
 * Kept in memory in a bounded ring (oldest entries drop first) and served at `GET /api/audit`.
 */
export interface AuditEntry {
  readonly seq: number;
  /** Wall clock, ISO 8601. */
  readonly at: string;
  /** Engine virtual time (ms) when it happened. */
  readonly virtualMs: number;
  /** Token name, or `anonymous`. */
  readonly who: string;
  readonly role: string;
  /** `http` or `socket.io`/`ws`. */
  readonly via: string;
  /** e.g. `inject`, `isolate`, `clock.pause`. */
  readonly action: string;
  readonly target: string | null;
  /** `ok` or the error code (`unauthorized`, `forbidden`, `invalid`, `conflict`, …). */
  readonly result: string;
  /** HTTP status (or the equivalent for sockets). */
  readonly status: number;
  readonly detail?: string;
}

export class AuditLog {
  private readonly ring: AuditEntry[] = [];
  private next = 0;

  constructor(private readonly capacity = 10_000) {}

  record(entry: Omit<AuditEntry, 'seq' | 'at'>): AuditEntry {
    const full: AuditEntry = { seq: this.next++, at: new Date().toISOString(), ...entry };
    this.ring.push(full);
    if (this.ring.length > this.capacity) this.ring.shift();
    return full;
  }

  /** Newest last; at most `limit` entries. */
  list(limit = 100): readonly AuditEntry[] {
    return this.ring.slice(Math.max(0, this.ring.length - limit));
  }

  get count(): number {
    return this.next;
  }
}
