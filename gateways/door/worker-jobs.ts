import { Worker } from 'node:worker_threads';
import { ValidationError, type Problem } from '../../engine/index.ts';

/** What a job worker posts back: `{ ready: true }` once, then per job its result, a ValidationError's parts, or an error message. */
export type WorkerReply<R> = { ready: true } | { id: number; result: R } | { id: number; invalid: { source: string; problems: readonly Problem[] } } | { id: number; error: string };

/**
 * One worker thread that takes jobs in order of arrival (scenario expansion, what-if): started on
 * the first job with `workerData`, unref'd, restarted on the next job after a crash. A job's
 * ValidationError comes back as one (the reply still names the field).
 */
export class WorkerJobs<J extends object, R> {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (result: R) => void; reject: (error: Error) => void }>();

  constructor(private readonly entry: URL, private readonly workerData: unknown, private readonly what: string) {}

  /** `transfer`: buffers of the job's typed arrays to move to the worker instead of copying (the caller gives them up). */
  run(job: J, transfer: readonly ArrayBuffer[] = []): Promise<R> {
    const worker = this.start();
    const id = this.next++;
    return this.ready!.then(
      () =>
        new Promise<R>((resolve, reject) => {
          this.waiting.set(id, { resolve, reject });
          worker.postMessage({ ...job, id }, transfer);
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
    const worker = new Worker(this.entry, { workerData: this.workerData });
    worker.unref();
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (message: WorkerReply<R>) => {
        if ('ready' in message) return resolve();
        const waiter = this.waiting.get(message.id);
        if (waiter === undefined) return;
        this.waiting.delete(message.id);
        if ('invalid' in message) waiter.reject(new ValidationError(message.invalid.source, message.invalid.problems));
        else if ('error' in message) waiter.reject(new Error(message.error));
        else waiter.resolve(message.result);
      });
      const fail = (error: Error): void => {
        reject(error);
        for (const waiter of this.waiting.values()) waiter.reject(error);
        this.waiting.clear();
        // The next job starts a fresh worker.
        if (this.worker === worker) {
          this.worker = undefined;
          this.ready = undefined;
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`the ${this.what} worker stopped (exit code ${code})`)));
    });
    // Failures reach the callers through their own promises; this one must not be an unhandled rejection.
    this.ready.catch(() => undefined);
    return worker;
  }
}

/** The reply of a job worker for a finished job (`invalid` for a ValidationError, keeping its field-naming problems). */
export function replyOf<R>(id: number, outcome: { result: R } | { error: unknown }): WorkerReply<R> {
  if ('result' in outcome) return { id, result: outcome.result };
  const error = outcome.error;
  return error instanceof ValidationError ? { id, invalid: { source: error.source, problems: error.problems } } : { id, error: (error as Error).message };
}
