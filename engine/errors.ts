/**
 * Typed errors of the engine. Each names what was wrong and where, so that a user can fix the input
 * without reading code. Adapters wrap these; they never leak stack traces to clients.
 */

export interface Problem {
  /** JSON path into the input, e.g. `$.assets[3].capacity`. */
  readonly path: string;
  readonly reason: string;
}

/** Base class so callers can tell our errors from programming faults. */
export class StratumError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A city, scenario or journal file (or body) that does not validate. Nothing was started or changed. */
export class ValidationError extends StratumError {
  readonly source: string;
  readonly problems: readonly Problem[];

  constructor(source: string, problems: readonly Problem[]) {
    const shown = problems.slice(0, 20).map((p) => `  ${source}: ${p.path}: ${p.reason}`);
    const more = problems.length > 20 ? [`  … and ${problems.length - 20} more`] : [];
    super(`invalid ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${[...shown, ...more].join('\n')}`);
    this.source = source;
    this.problems = problems;
  }
}

/** An input that refers to something the running engine does not have (unknown asset id, …). */
export class UnknownTargetError extends StratumError {}

/** A request that is valid in form but impossible in the current live state (HTTP 409). */
export class ConflictError extends StratumError {}

/** The simulation could not settle an instant (a zero-latency message loop). */
export class DivergenceError extends StratumError {}
