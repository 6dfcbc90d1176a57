import type { Driver, Kernel, Round } from '../kernel.ts';

/**
 * Batch driver: calls the transitions straight from the scheduler, without nact's per-message cost.
 * Used by Monte Carlo studies. Supervision is the same as the live driver's: a crash restarts the
 * actor from its committed state and retries the batch; repeated crashes take it out of service.
 */
export class DirectDriver implements Driver {
  readonly name = 'direct';
  private kernel: Kernel | undefined;

  async start(kernel: Kernel): Promise<void> {
    this.kernel = kernel;
  }

  runRound(round: Round): void {
    const kernel = this.kernel!;
    const { actors, batches, number } = round;
    for (let k = 0; k < actors.length; k++) {
      const actor = actors[k]!;
      const batch = batches[k]!;
      for (;;) {
        try {
          kernel.complete(k, actor, kernel.step(actor, kernel.states[actor], batch, number));
          break;
        } catch (error) {
          if (kernel.onCrash(actor) === 'escalate') {
            kernel.fault(k, actor, batch, error);
            break;
          }
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.kernel = undefined;
  }
}
