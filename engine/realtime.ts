import type { Engine } from './engine.ts';
import { systemWallClock, type WallClock, type WallTimer } from './wall-clock.ts';

/**
 * Drives an engine in real time: the virtual clock follows the wall clock × speed (a `WallClock`
 * port, wall-clock.ts: the system's by default, a manual one in tests). This is the only place of the
 * engine that reads the wall clock, and it only decides how far to run; what happens in the
 * simulation depends on the journal alone, so a real-time run replays exactly in batch mode.
 */
export class RealtimeRunner {
  private speed: number;
  private paused = true;
  private anchorWall = 0;
  private anchorVirtual = 0;
  private timer: WallTimer | undefined;
  private advancing = false;
  /** An input arrived during an advance: the next advance starts at once instead of after a tick. */
  private nudgedWhileAdvancing = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(virtualMs: number) => void>();
  private lastError: Error | undefined;

  /** The wall clock that paces the run (a `ManualWallClock` in tests, which advance it). */
  private readonly clock: WallClock;

  constructor(private readonly engine: Engine, options: { speed?: number; tickMs?: number; clock?: WallClock } = {}) {
    this.speed = options.speed ?? 1;
    this.tickMs = options.tickMs ?? 20;
    this.clock = options.clock ?? systemWallClock;
  }

  private readonly tickMs: number;

  get isPaused(): boolean {
    return this.paused;
  }

  get currentSpeed(): number {
    return this.speed;
  }

  /** The error that stopped the loop, if one did. */
  get error(): Error | undefined {
    return this.lastError;
  }

  /** Virtual ms the clock shows now (ahead of the engine while an instant is running). */
  virtualNow(): number {
    if (this.paused) return this.anchorVirtual;
    return this.anchorVirtual + (this.clock.now() - this.anchorWall) * this.speed;
  }

  start(): void {
    this.resume();
  }

  resume(): void {
    if (!this.paused) return;
    this.anchorVirtual = Math.max(this.anchorVirtual, this.engine.now);
    this.anchorWall = this.clock.now();
    this.paused = false;
    this.schedule();
  }

  pause(): void {
    if (this.paused) return;
    this.anchorVirtual = this.virtualNow();
    this.paused = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  setSpeed(speed: number): void {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number (got ${speed})`);
    this.anchorVirtual = this.virtualNow();
    this.anchorWall = this.clock.now();
    this.speed = speed;
  }

  /**
   * An input was just accepted: advance at the next turn of the event loop instead of waiting for
   * the tick, so the input takes effect (and reaches viewers) as soon as its virtual time has come.
   */
  nudge(): void {
    if (this.paused) return;
    if (this.advancing) {
      this.nudgedWhileAdvancing = true;
      return;
    }
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    setImmediate(() => {
      if (this.paused || this.advancing || this.timer !== undefined) return;
      this.loop = this.advance();
    });
  }

  /** Called after each advance with the engine's virtual time. */
  onAdvance(listener: (virtualMs: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when the advance running now (if any) has finished (tests advancing a `ManualWallClock` wait for it). */
  whenSettled(): Promise<void> {
    return this.loop;
  }

  /** Stops the loop and waits for the running advance to finish. */
  async stop(): Promise<void> {
    this.pause();
    await this.loop;
  }

  private schedule(): void {
    if (this.paused || this.timer !== undefined) return;
    const delay = this.nudgedWhileAdvancing ? 0 : this.tickMs;
    this.nudgedWhileAdvancing = false;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.loop = this.advance();
    }, delay);
  }

  private async advance(): Promise<void> {
    this.advancing = true;
    try {
      const target = Math.floor(this.virtualNow());
      if (target > this.engine.now) await this.engine.runUntil(target);
      for (const listener of this.listeners) listener(this.engine.now);
    } catch (error) {
      this.lastError = error as Error;
      this.pause();
      return;
    } finally {
      this.advancing = false;
    }
    this.schedule();
  }
}
