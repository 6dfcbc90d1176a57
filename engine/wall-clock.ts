/**
 * The wall clock as a port, like the virtual clock: what paces the simulation against real time
 * (`RealtimeRunner`) and the edges that wait for wall time (frame cadence in gateways' `StreamHub`,
 * session idle closing) read the time and set timers through a `WallClock`. The system one is the
 * default; tests give a `ManualWallClock` and advance it, so "after half a second at 60×" is a
 * statement about the code, not about how busy the machine is. Never used inside the simulation.
 */
export interface WallClock {
  /** Milliseconds, monotonic (only differences mean anything). */
  now(): number;
  /** Calls `fn` once, `ms` from now; a `background` timer does not keep the process alive on its own. */
  setTimeout(fn: () => void, ms: number, background?: boolean): WallTimer;
  clearTimeout(timer: WallTimer): void;
}

/** An opaque timer handle. */
export interface WallTimer {
  readonly __wallTimer?: never;
}

/** `performance.now` and Node's timers. */
export const systemWallClock: WallClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms, background) => {
    const timer = setTimeout(fn, ms);
    if (background === true) timer.unref();
    return timer as unknown as WallTimer;
  },
  clearTimeout: (timer) => clearTimeout(timer as unknown as NodeJS.Timeout),
};

interface ManualTimer extends WallTimer {
  readonly due: number;
  readonly order: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A wall clock that moves only when told: `advance(ms)` moves it and runs the timers that fall due
 * on the way, in order of their due time (then of setting), each at its own time.
 *
 * @example
 * const clock = new ManualWallClock();
 * const runner = new RealtimeRunner(engine, { speed: 60, clock });
 * runner.start();
 * await clock.advance(500); // half a wall second: the runner's ticks ran, 30 virtual seconds passed
 */
export class ManualWallClock implements WallClock {
  private time = 0;
  private order = 0;
  private readonly timers = new Set<ManualTimer>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): WallTimer {
    const timer: ManualTimer = { due: this.time + Math.max(0, ms), order: this.order++, fn, cancelled: false };
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(timer: WallTimer): void {
    const t = timer as ManualTimer;
    t.cancelled = true;
    this.timers.delete(t);
  }

  /** Timers waiting. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves the clock `ms` forward, running each timer that falls due at its due time; between two
   * timers it lets the event loop settle (`settle`, default: a macrotask turn), so the work a timer
   * starts (an engine advance) finishes before the clock moves on, as it would in real time.
   */
  async advance(ms: number, settle: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve))): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) if (t.due <= end && (next === undefined || t.due < next.due || (t.due === next.due && t.order < next.order))) next = t;
      if (next === undefined) break;
      this.timers.delete(next);
      this.time = Math.max(this.time, next.due);
      next.fn();
      await settle();
    }
    this.time = end;
    await settle();
  }
}
