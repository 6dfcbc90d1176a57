import nact, { type Ref } from 'nact';
import type { Driver, Kernel, Round } from '../kernel.ts';
import type { SimMessage } from '../protocol.ts';

// nact is CommonJS and re-exports `start` by spreading; the default import is the reliable way in.
const { dispatch, spawn, start, stop } = nact;

/** The one nact message an actor gets per round: its whole batch for the instant. */
interface BatchEnvelope {
  readonly k: number;
  readonly actor: number;
  readonly round: number;
  readonly batch: readonly SimMessage[];
}

/** The supervision decisions nact offers (symbols on the supervision context). */
interface SupervisionContext {
  readonly self: Ref<BatchEnvelope>;
  readonly reset: symbol;
  readonly resetChild: symbol;
  readonly escalate: symbol;
  readonly resume: symbol;
}

type OnCrash = (msg: BatchEnvelope | undefined, error: unknown, ctx: SupervisionContext, child?: unknown) => symbol;

/**
 * Live driver: every asset, cohort and layer solver is a nact actor holding its state, under a
 * supervisor tree `layer → district → actor` (cohorts under `cohorts → district`, solvers under
 * their layer). Per round the scheduler dispatches one message per actor (the coalesced batch) and
 * waits until every actor has reported: that is the quiescence that lets the clock advance.
 *
 * Supervision: a crashing actor is reset by nact from the kernel's last committed state (its
 * `initialStateFunc` reads it) and its batch is re-dispatched; past the restart limit it escalates
 * to its district supervisor, which takes it out of service (status faulted) and resets it to that.
 */
export class NactDriver implements Driver {
  readonly name = 'nact';
  private system: Ref<unknown> | undefined;
  private refs: Ref<BatchEnvelope>[] = [];
  private kernel: Kernel | undefined;
  private remaining = 0;
  private roundDone: (() => void) | undefined;

  async start(kernel: Kernel): Promise<void> {
    this.kernel = kernel;
    const index = kernel.index;
    const system = start();
    this.system = system;
    const spawnAny = spawn as unknown as (parent: Ref<unknown>, f: unknown, name: string, props?: unknown) => Ref<BatchEnvelope>;

    const supervisors = new Map<string, Ref<unknown>>();
    const supervisorOf = (path: readonly string[]): Ref<unknown> => {
      let parent: Ref<unknown> = system;
      let key = '';
      for (const part of path) {
        key += `/${part}`;
        let ref = supervisors.get(key);
        if (ref === undefined) {
          ref = spawnAny(parent, (state: unknown) => state, part, { onCrash: this.supervisorPolicy });
          supervisors.set(key, ref);
        }
        parent = ref;
      }
      return parent;
    };

    const actorFn = (state: unknown, envelope: BatchEnvelope): unknown => {
      const outcome = kernel.step(envelope.actor, state, envelope.batch, envelope.round);
      kernel.complete(envelope.k, envelope.actor, outcome);
      this.completed();
      return outcome.state;
    };

    // One props object for every leaf actor: the initial state is looked up by the actor's name
    // (`a<index>`), so a million actors need no million closures.
    const leafProps = {
      initialStateFunc: (ctx: { name: string }) => kernel.states[Number(ctx.name.slice(1))],
      onCrash: this.actorPolicy,
    };
    const districtSupervisors = new Map<number, Ref<unknown>>();
    const cohortSupervisors = new Map<number, Ref<unknown>>();
    this.refs = new Array<Ref<BatchEnvelope>>(index.actorCount);
    for (let actor = 0; actor < index.actorCount; actor++) {
      let parent: Ref<unknown>;
      if (actor < index.assetCount) {
        const layer = index.layerOf[actor]!;
        const district = index.districtOf[actor]!;
        const key = layer * index.districts.length + district;
        parent = districtSupervisors.get(key) ?? supervisorOf([`layer-${layer}`, `district-${district}`]);
        districtSupervisors.set(key, parent);
      } else if (actor < index.assetCount + index.cohortCount) {
        const district = index.districtOf[actor]!;
        parent = cohortSupervisors.get(district) ?? supervisorOf(['cohorts', `district-${district}`]);
        cohortSupervisors.set(district, parent);
      } else {
        parent = supervisorOf([`layer-${index.solverLayer[actor - index.assetCount - index.cohortCount]}`]);
      }
      this.refs[actor] = spawnAny(parent, actorFn, `a${actor}`, leafProps);
    }
  }

  runRound(round: Round): Promise<void> {
    return new Promise<void>((resolve) => {
      this.remaining = round.actors.length;
      this.roundDone = resolve;
      for (let k = 0; k < round.actors.length; k++) {
        const actor = round.actors[k]!;
        const envelope: BatchEnvelope = { k, actor, round: round.number, batch: round.batches[k]! };
        dispatch(this.refs[actor]!, envelope);
      }
    });
  }

  async stop(): Promise<void> {
    if (this.system !== undefined) stop(this.system);
    this.system = undefined;
    this.refs = [];
  }

  private completed(): void {
    if (--this.remaining === 0) {
      const done = this.roundDone;
      this.roundDone = undefined;
      done?.();
    }
  }

  /** Leaf policy: restart from the committed state and retry the batch, or escalate. */
  private readonly actorPolicy: OnCrash = (envelope, _error, ctx) => {
    if (envelope === undefined) return ctx.escalate;
    if (this.kernel!.onCrash(envelope.actor) === 'escalate') return ctx.escalate;
    // nact keeps the actor busy while it handles the fault, so this lands in its mailbox and runs
    // right after the reset, on the restored state.
    dispatch(ctx.self, envelope);
    return ctx.reset;
  };

  /** District/layer policy for an escalated child: take it out of service, then reset it to that state. */
  private readonly supervisorPolicy: OnCrash = (envelope, error, ctx, child) => {
    if (envelope === undefined || child === undefined) return ctx.resume;
    this.kernel!.fault(envelope.k, envelope.actor, envelope.batch, error);
    this.completed();
    return ctx.resetChild;
  };
}
