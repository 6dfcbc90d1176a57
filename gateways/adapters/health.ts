/**
 * Health of one external service as the gateway sees it: served on `/readyz` and `/metrics`.
 * A service may be down while the engine keeps running; `pending` is what waits for it (bounded by
 * `bound`), `dropped` what the bound cost.
 */
export interface ServiceHealth {
  readonly service: 'bus' | 'history' | 'cache';
  /** `kafka`, `timescaledb`, `postgres-partitions`, `redis`, … */
  readonly backend: string;
  readonly up: boolean;
  /** Writes or messages waiting for the service. */
  readonly pending: number;
  readonly bound: number;
  /** Writes given up because the buffer was full. */
  readonly dropped: number;
  /** Rows, entries or messages the service has accepted since start. */
  readonly written: number;
  readonly lastError?: string;
  /** Wall ms of the last successful write (0: none yet). */
  readonly lastOkAt: number;
}

export interface HealthReporter {
  health(): ServiceHealth;
}

/** Error text for health reports: message plus the cause's message, one line. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return `${error.message || 'errors'}: ${error.errors.map((e) => describeError(e)).join('; ')}`;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
    return `${typeof code === 'string' ? `${code}: ` : ''}${error.message}${cause}`.replace(/\s+/g, ' ');
  }
  return String(error);
}

/**
 * What a writer knows of its service: up or not, the last error, the last success, what it wrote and
 * what its bound made it drop. Each adapter keeps one and reports it with its own queue figures.
 */
export class ServiceStatus {
  lastError: string | undefined;
  lastOkAt = 0;
  written = 0;
  dropped = 0;

  constructor(public up = true) {}

  /** A write of `count` items went through. */
  succeeded(count: number): void {
    this.written += count;
    this.up = true;
    this.lastOkAt = Date.now();
  }

  /** A write failed: the service counts as down until the next success. */
  failed(error: unknown): void {
    this.up = false;
    this.lastError = describeError(error);
  }

  report(service: ServiceHealth['service'], backend: string, queue: { pending: number; bound: number; written?: number }): ServiceHealth {
    const base = { service, backend, up: this.up, pending: queue.pending, bound: queue.bound, dropped: this.dropped, written: queue.written ?? this.written, lastOkAt: this.lastOkAt };
    return this.lastError === undefined ? base : { ...base, lastError: this.lastError };
  }
}

/** Thrown by an adapter when its service cannot be reached or refuses a write. */
export class ServiceUnavailableError extends Error {
  constructor(readonly service: string, message: string, options?: { cause?: unknown }) {
    super(`${service}: ${message}`, options);
    this.name = 'ServiceUnavailableError';
  }
}

/** Polls until a writer is idle (everything queued so far written) or `timeoutMs` passes (then false). */
export async function drainUntil(idle: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!idle()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
