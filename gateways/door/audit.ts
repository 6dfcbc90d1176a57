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
 * Accepted inputs of one kind counted per caller and door instead of one entry each (accepted
 * telemetry: the journal already holds every reading with its source and time). Served at
 * `GET /api/audit` as `accepted`.
 */
export interface AcceptedTally {
  readonly who: string;
  readonly role: string;
  readonly via: string;
  /** e.g. `inject.telemetry`. */
  readonly action: string;
  readonly accepted: number;
  /** Wall clock of the first and the latest, ISO 8601. */
  readonly firstAt: string;
  readonly lastAt: string;
  /** Engine virtual time (ms) of the first and the latest. */
  readonly firstVirtualMs: number;
  readonly lastVirtualMs: number;
}

/** A running count of accepted inputs of one (who, role, via, action): `count` allocates nothing. */
export class TallyCounter {
  accepted = 0;
  firstWallMs = 0;
  lastWallMs = 0;
  firstVirtualMs = 0;
  lastVirtualMs = 0;

  constructor(readonly who: string, readonly role: string, readonly via: string, readonly action: string) {}

  private sinceWallRead = 0;

  /**
   * Counts `n` accepted inputs at virtual time `virtualMs`. The wall clock is read when the
   * virtual time moves and at least every 256 inputs, not per input (a clock read costs about as
   * much as the rest of the door's hot path): `lastAt` is exact to within that.
   */
  count(virtualMs: number, n = 1): void {
    if (this.accepted === 0) {
      this.firstWallMs = this.lastWallMs = Date.now();
      this.firstVirtualMs = virtualMs;
    } else if (virtualMs !== this.lastVirtualMs || (this.sinceWallRead += n) >= 256) {
      this.lastWallMs = Date.now();
      this.sinceWallRead = 0;
    }
    this.accepted += n;
    this.lastVirtualMs = virtualMs;
  }

  toJSON(): AcceptedTally {
    return {
      who: this.who,
      role: this.role,
      via: this.via,
      action: this.action,
      accepted: this.accepted,
      firstAt: new Date(this.firstWallMs).toISOString(),
      lastAt: new Date(this.lastWallMs).toISOString(),
      firstVirtualMs: this.firstVirtualMs,
      lastVirtualMs: this.lastVirtualMs,
    };
  }
}

/**
 * Entries of callers without a valid token (role `none`) go to a separate small ring and a count
 * per address: a flood of anonymous requests cannot evict the entries of real users.
 *
 * Accepted telemetry is not an entry per reading but a `TallyCounter` per (who, role, via): at
 * 100,000 readings/s one entry each would fill the 10,000-entry ring in a tenth of a second and
 * evict every operator action and refusal before anyone could read it, while the journal already
 * holds each accepted reading with its source (door and token name) and time. Every refusal
 * (telemetry included) and every other action keeps its own entry.
 */
export class AuditLog {
  /** A circular buffer: recording is O(1) (an array's shift() would move all 10,000 entries each time). */
  private readonly ring: (StoredEntry | undefined)[];
  private head = 0;
  private size = 0;
  private readonly anonymous: StoredEntry[] = [];
  private readonly anonymousByAddress = new Map<string, number>();
  private anonymousTotal = 0;
  private next = 0;
  private readonly tallies = new Map<string, TallyCounter>();

  constructor(private readonly capacity = 10_000, private readonly anonymousCapacity = 1_000, private readonly maxAddresses = 10_000, private readonly maxTallies = 1_000) {
    this.ring = new Array<StoredEntry | undefined>(capacity);
  }

  /**
   * The counter of accepted `action` inputs of one caller through one door (callers keep it and
   * call `count`). Bounded: past `maxTallies` distinct keys (sessions come and go) the rest share
   * one counter with `via: 'other'`.
   */
  tally(who: string, role: string, via: string, action: string): TallyCounter {
    const key = `${who}\u0000${role}\u0000${via}\u0000${action}`;
    let counter = this.tallies.get(key);
    if (counter === undefined) {
      if (this.tallies.size >= this.maxTallies && who !== 'other') return this.tally('other', 'other', 'other', action);
      counter = new TallyCounter(who, role, via, action);
      this.tallies.set(key, counter);
    }
    return counter;
  }

  /** The accepted-input counters, busiest first. */
  acceptedTallies(): readonly AcceptedTally[] {
    return [...this.tallies.values()].filter((t) => t.accepted > 0).sort((a, b) => b.accepted - a.accepted).map((t) => t.toJSON());
  }

  record(entry: Omit<AuditEntry, 'seq' | 'at'>): void {
    // The wall time is kept as a number and formatted when read: formatting per input costs more than the rest of the entry.
    const stored: StoredEntry = { seq: this.next++, wallMs: Date.now(), entry };
    if (entry.role === 'none') {
      this.anonymousTotal++;
      const address = entry.from ?? 'unknown';
      // Bounded too: past maxAddresses distinct addresses, the rest are counted under `other`.
      const key = this.anonymousByAddress.has(address) || this.anonymousByAddress.size < this.maxAddresses ? address : 'other';
      this.anonymousByAddress.set(key, (this.anonymousByAddress.get(key) ?? 0) + 1);
      this.anonymous.push(stored);
      if (this.anonymous.length > this.anonymousCapacity) this.anonymous.splice(0, this.anonymous.length - this.anonymousCapacity);
      return;
    }
    this.ring[(this.head + this.size) % this.capacity] = stored;
    if (this.size < this.capacity) this.size++;
    else this.head = (this.head + 1) % this.capacity;
  }

  /** Anonymous rejects: total, per address (busiest 20), the latest `limit`. */
  anonymousSummary(limit = 20): AnonymousAudit {
    const busiest = [...this.anonymousByAddress].sort((a, b) => b[1] - a[1]);
    const byAddress: Record<string, number> = {};
    for (const [address, n] of busiest.slice(0, 20)) byAddress[address] = n;
    const rest = busiest.slice(20).reduce((sum, [, n]) => sum + n, 0);
    if (rest > 0) byAddress['other'] = (byAddress['other'] ?? 0) + rest;
    return { total: this.anonymousTotal, byAddress, recent: this.anonymous.slice(Math.max(0, this.anonymous.length - limit)).map(full) };
  }

  /** Newest last; at most `limit` entries. */
  list(limit = 100): readonly AuditEntry[] {
    const n = Math.min(limit, this.size);
    const out: AuditEntry[] = [];
    for (let k = this.size - n; k < this.size; k++) out.push(full(this.ring[(this.head + k) % this.capacity]!));
    return out;
  }

  /** Entries recorded for callers with a token (anonymous rejects are counted apart). */
  get count(): number {
    return this.next - this.anonymousTotal;
  }
}

interface StoredEntry {
  readonly seq: number;
  readonly wallMs: number;
  readonly entry: Omit<AuditEntry, 'seq' | 'at'>;
}

function full(stored: StoredEntry): AuditEntry {
  return { seq: stored.seq, at: new Date(stored.wallMs).toISOString(), ...stored.entry };
}

