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
  /** Client address, for requests without a valid token (anonymous rejects). */
  readonly from?: string;
}

/** Anonymous rejects kept apart: how many, from which addresses, and the latest few. */
export interface AnonymousAudit {
  readonly total: number;
  /** Rejects per client address (the busiest 20, then `other`). */
  readonly byAddress: Readonly<Record<string, number>>;
  readonly recent: readonly AuditEntry[];
}

/**
 * Entries of callers without a valid token (role `none`) go to a separate small ring and a count
 * per address: a flood of anonymous requests cannot evict the entries of real users.
 */
export class AuditLog {
  private readonly ring: AuditEntry[] = [];
  private readonly anonymous: AuditEntry[] = [];
  private readonly anonymousByAddress = new Map<string, number>();
  private anonymousTotal = 0;
  private next = 0;

  constructor(private readonly capacity = 10_000, private readonly anonymousCapacity = 1_000, private readonly maxAddresses = 10_000) {}

  record(entry: Omit<AuditEntry, 'seq' | 'at'>): AuditEntry {
    const full: AuditEntry = { seq: this.next++, at: new Date().toISOString(), ...entry };
    if (entry.role === 'none') {
      this.anonymousTotal++;
      const address = entry.from ?? 'unknown';
      // Bounded too: past maxAddresses distinct addresses, the rest are counted under `other`.
      const key = this.anonymousByAddress.has(address) || this.anonymousByAddress.size < this.maxAddresses ? address : 'other';
      this.anonymousByAddress.set(key, (this.anonymousByAddress.get(key) ?? 0) + 1);
      this.anonymous.push(full);
      if (this.anonymous.length > this.anonymousCapacity) this.anonymous.shift();
      return full;
    }
    this.ring.push(full);
    if (this.ring.length > this.capacity) this.ring.shift();
    return full;
  }

  /** Anonymous rejects: total, per address (busiest 20), the latest `limit`. */
  anonymousSummary(limit = 20): AnonymousAudit {
    const busiest = [...this.anonymousByAddress].sort((a, b) => b[1] - a[1]);
    const byAddress: Record<string, number> = {};
    for (const [address, n] of busiest.slice(0, 20)) byAddress[address] = n;
    const rest = busiest.slice(20).reduce((sum, [, n]) => sum + n, 0);
    if (rest > 0) byAddress['other'] = (byAddress['other'] ?? 0) + rest;
    return { total: this.anonymousTotal, byAddress, recent: this.anonymous.slice(Math.max(0, this.anonymous.length - limit)) };
  }

  /** Newest last; at most `limit` entries. */
  list(limit = 100): readonly AuditEntry[] {
    return this.ring.slice(Math.max(0, this.ring.length - limit));
  }

  /** Entries recorded for callers with a token (anonymous rejects are counted apart). */
  get count(): number {
    return this.next - this.anonymousTotal;
  }
}
