import { Worker } from 'node:worker_threads';
import { ValidationError, type CityModel, type Problem } from '../../engine/index.ts';
import type { ExpandedEvent, Scenario } from '../../scenarios/index.ts';

/**
 * Expands scenarios in a worker thread, so an admitted scenario never blocks the event loop (a
 * storm over a 100,000-asset city takes seconds to expand). The worker starts on the first use,
 * keeps its own index of the city, and takes one scenario at a time in order of arrival.
 *
 * @example
 * const expander = new ScenarioExpander(city, seed);
 * const events = await expander.expand(scenario);
 * await expander.close();
 */
export class ScenarioExpander {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (events: ExpandedEvent[]) => void; reject: (error: Error) => void }>();

  constructor(private readonly city: CityModel, private readonly seed: number) {}

  expand(scenario: Scenario): Promise<ExpandedEvent[]> {
    const worker = this.start();
    const id = this.next++;
    return this.ready!.then(
      () =>
        new Promise<ExpandedEvent[]>((resolve, reject) => {
          this.waiting.set(id, { resolve, reject });
          worker.postMessage({ id, scenario });
        }),
    );
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    for (const { reject } of this.waiting.values()) reject(new Error('the server is closing'));
    this.waiting.clear();
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./expansion-worker.mjs', import.meta.url), { workerData: { city: this.city, seed: this.seed } });
    worker.unref();
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (message: { ready?: true; id?: number; events?: ExpandedEvent[]; error?: string; invalid?: { source: string; problems: Problem[] } }) => {
        if (message.ready === true) return resolve();
        const waiter = this.waiting.get(message.id!);
        if (waiter === undefined) return;
        this.waiting.delete(message.id!);
        if (message.invalid !== undefined) waiter.reject(new ValidationError(message.invalid.source, message.invalid.problems));
        else if (message.error !== undefined) waiter.reject(new Error(message.error));
        else waiter.resolve(message.events!);
      });
      const fail = (error: Error): void => {
        reject(error);
        for (const waiter of this.waiting.values()) waiter.reject(error);
        this.waiting.clear();
        // The next scenario starts a fresh worker.
        if (this.worker === worker) {
          this.worker = undefined;
          this.ready = undefined;
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`the scenario expansion worker stopped (exit code ${code})`)));
    });
    // Failures reach the callers through their own promises; this one must not be an unhandled rejection.
    this.ready.catch(() => undefined);
    return worker;
  }
}
