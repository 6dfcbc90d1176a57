import { dcLayerFor, type AssetState, type DcLayer, type SolverState } from '../../actors/index.ts';
import { voltageLimits, voltageOutside, voltageServiceLevel, type Engine, type InputCommand, type StateChange } from '../../engine/index.ts';
import { WorkerJobs, type Control } from '../door/index.ts';
import type { Alert, BusVoltageRow, VoltageMonitorSummary } from '../protocol.ts';
import { monitorAlert } from './telemetry-monitor.ts';
import type { VoltageAnswer, VoltageJob } from './voltage-worker.ts';

/** Source of the monitor's `voltage` inputs in the journal. */
export const VOLTAGE_SOURCE = 'voltage-monitor';
/**
 * A bus outside its limits is sent again only when its Vm moved by more than this (pu): half a
 * percent, a tap step's worth. Entering and leaving the limits are always sent.
 */
export const VOLTAGE_DEADBAND_PU = 0.005;

export interface VoltageMonitorOptions {
  /** Wait after a change of the power layer before a run (ms; changes meanwhile join in). Default 250. */
  readonly debounceMs?: number;
  /** Least wall time between two runs (ms): the monitor's cadence under a stream of changes. Default 1000. */
  readonly minIntervalMs?: number;
}

interface Last {
  readonly vmPu: Float64Array;
  readonly vaDeg: Float64Array;
  /** Per bus: 'under' | 'over' | 'collapse' | null (dead or inside). */
  readonly violation: Array<BusVoltageRow['violation']>;
}

/**
 * The live voltage monitor (opt-in, `STRATUM_VOLTAGE_MONITOR=1`): after changes of the power layer
 * (debounced, at most once per `minIntervalMs`, one run at a time) it solves the AC power flow of the
 * live state in a worker thread (voltage-worker.ts: the topology, served loads and dispatch of the DC
 * live state; Q scaled with P; the case's voltage set points). Every bus whose Vm lies outside its
 * case limits [Vmin, Vmax] is a violation; a run that does not converge is read as a voltage collapse
 * of the island of its largest mismatch, whose buses are all violations (Vm sent as 0).
 *
 * What it gives the twin: each bus entering or leaving its limits, or moving by more than
 * `VOLTAGE_DEADBAND_PU` while outside, becomes a `voltage` input through the door (source
 * `voltage-monitor`, journalled: a replay feeds the same inputs at the same points without running
 * the AC solver), and the bus's service follows the voltage rule (engine/power/voltage.ts). An
 * operator alert (causedBy `voltage-monitor`) names each bus entering a violation with its Vm and the
 * limit, each bus back within its limits, and each collapse with its mismatch.
 */
export class VoltageMonitor {
  private readonly worker: WorkerJobs<VoltageJob, VoltageAnswer>;
  private running: Promise<void> | undefined;
  private readonly unsubscribe: () => void;
  private readonly debounceMs: number;
  private readonly minIntervalMs: number;
  private lastRecompute = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending = false;
  private stopped = false;
  /** The live DC state object of the last run: a run of the same state would find the same. */
  private solvedLive: object | null = null;
  /** Per bus: the Vm last sent (NaN: none); read from the buses' states before the first run (recovery). */
  private sent: Float64Array | null = null;
  /** Journal entries already read into `sent`. */
  private cursor = 0;
  private seq: number;
  private last: Last | null = null;
  private runCount = 0;
  private collapses = 0;
  private inputs = 0;
  private lastSummary: Omit<VoltageMonitorSummary, 'enabled' | 'runs' | 'collapses' | 'inputs' | 'violations'> | null = null;
  private readonly busActor: Int32Array;
  /** Per bus: the limits it is held to (the city's, else the defaults: engine/power/voltage.ts). */
  private readonly limits: ReadonlyArray<{ readonly vminPu: number; readonly vmaxPu: number }>;

  /** The monitor of an engine whose power layer is electrical, or null. */
  static attach(engine: Engine, control: Pick<Control, 'submitBatch'>, raise: (alerts: Alert[]) => void, options: VoltageMonitorOptions = {}): VoltageMonitor | null {
    const powerLayer = engine.index.layers.indexOf('power');
    const solverActor = powerLayer < 0 ? -1 : engine.index.solverOfLayer[powerLayer]!;
    if (solverActor < 0) return null;
    const layer = dcLayerFor((engine.kernel.states[solverActor] as SolverState).graph, engine.index, 1);
    return layer === null ? null : new VoltageMonitor(engine, control, raise, solverActor, layer, powerLayer, options);
  }

  private constructor(
    private readonly engine: Engine,
    private readonly control: Pick<Control, 'submitBatch'>,
    private readonly raise: (alerts: Alert[]) => void,
    private readonly solverActor: number,
    private readonly layer: DcLayer,
    powerLayer: number,
    options: VoltageMonitorOptions,
  ) {
    this.debounceMs = options.debounceMs ?? 250;
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    for (const [name, x] of Object.entries({ debounceMs: this.debounceMs, minIntervalMs: this.minIntervalMs })) {
      if (!(Number.isFinite(x) && x >= 0)) throw new RangeError(`voltage monitor: ${name} must be a number ≥ 0 (got ${x})`);
    }
    const index = engine.index;
    this.busActor = Int32Array.from(layer.grid.net.busIds, (id) => index.indexOf(id) ?? -1);
    const net = layer.grid.net;
    this.limits = net.busIds.map((_, v) => voltageLimits(net.vminPu[v], net.vmaxPu[v]));
    this.seq = engine.journal.lastSourceSeq(VOLTAGE_SOURCE) ?? 0;
    this.worker = new WorkerJobs(new URL('./voltage-worker.mjs', import.meta.url), { voltage: true, net }, 'live voltage monitor');
    this.unsubscribe = engine.stream.subscribe((c: StateChange) => {
      if (c.actor < index.assetCount && index.layerOf[c.actor] === powerLayer) this.schedule();
    });
    this.schedule();
  }

  private live(): NonNullable<SolverState['live']> | null {
    return (this.engine.kernel.states[this.solverActor] as SolverState).live ?? null;
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.pending = true;
      return;
    }
    if (this.timer !== undefined) return;
    const wait = Math.max(this.debounceMs, this.lastRecompute + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runNow().catch(() => undefined);
    }, wait);
    this.timer.unref?.();
  }

  /**
   * Solves the live state now (in the worker) and acts on the result; one run at a time (a call
   * meanwhile gets the running one, and a change meanwhile a later run). Resolves at once when the
   * power layer has not been solved yet or nothing changed since the last run.
   */
  runNow(): Promise<void> {
    if (this.running !== undefined) return this.running;
    const live = this.live();
    // While the journal is replayed the monitor's own earlier inputs come back: nothing to add.
    if (this.engine.isRecovering) {
      this.schedule();
      return Promise.resolve();
    }
    if (live === null || live === this.solvedLive || this.stopped) return Promise.resolve();
    const job: VoltageJob = { branchOn: live.branchOn, genOn: live.genOn, loadMw: live.loadMw, pgMw: live.pgMw };
    const clock = this.engine.now;
    this.pending = false;
    this.running = this.worker
      .run(job)
      .then((answer) => {
        this.solvedLive = live;
        this.lastRecompute = Date.now();
        this.act(answer, clock);
      })
      .finally(() => {
        this.running = undefined;
        if (this.pending) this.schedule();
      });
    return this.running;
  }

  /**
   * Per bus: the Vm of the last `voltage` input, whoever sent it (a trainer may send one by hand):
   * read from the buses' states at the first run (after a recovery they hold the journal's), then
   * kept up with the journal's new entries.
   */
  private lastSent(): Float64Array {
    const journal = this.engine.journal;
    if (this.sent === null) {
      this.sent = Float64Array.from(this.busActor, (a) => (a < 0 ? Number.NaN : (this.engine.kernel.states[a] as AssetState).vmPu));
      this.cursor = journal.length;
    }
    if (this.cursor < journal.length) {
      const busIndex = this.layer.grid.net.busIndex;
      for (const { command } of journal.since(this.cursor)) {
        if (command.type !== 'voltage') continue;
        const v = busIndex.get(command.target);
        if (v !== undefined) this.sent[v] = command.vmPu;
      }
      this.cursor = journal.length;
    }
    return this.sent;
  }

  /** Violations, inputs and alerts of one run. */
  private act(answer: VoltageAnswer, clock: number): void {
    const net = this.layer.grid.net;
    const n = net.busIds.length;
    this.runCount++;
    const sent = this.lastSent();
    const collapsed = new Uint8Array(n);
    if (answer.collapse !== undefined) for (const v of answer.collapse.buses) collapsed[v] = 1;
    // Kept to a millionth of a pu: what is sent, shown and journalled is the same number.
    const vmPu = answer.vmPu === undefined ? new Float64Array(n) : answer.vmPu.map((x) => Math.round(x * 1e6) / 1e6);
    const vaDeg = answer.vaDeg ?? new Float64Array(n);
    const violation: Last['violation'] = [];
    const commands: InputCommand[] = [];
    const alerts: Alert[] = [];
    const atS = this.engine.now / 1000;
    // The alert carries the status the input is about to give the bus (its state still has the old one).
    const alert = (bus: string, detail: string, level: number): void => {
      const a = monitorAlert(this.engine, bus, atS, detail, 'voltage-monitor');
      if (a !== undefined) alerts.push({ ...a, status: level >= 1 ? a.status : level > 0 ? 'degraded' : 'failed' });
    };
    for (let v = 0; v < n; v++) {
      const { vminPu: vmin, vmaxPu: vmax } = this.limits[v]!;
      const vm = collapsed[v] === 1 ? 0 : vmPu[v]!;
      const dead = vm === 0 && collapsed[v] === 0;
      const outside = !dead && voltageOutside(vm, vmin, vmax);
      violation.push(dead || !outside ? null : collapsed[v] === 1 ? 'collapse' : vm < vmin ? 'under' : 'over');
      // A dead bus (an island without generation) is the DC layer's loss, not a voltage's: left as it is.
      if (dead || this.busActor[v]! < 0) continue;
      const last = sent[v]!;
      const wasOutside = !Number.isNaN(last) && voltageOutside(last, vmin, vmax);
      const id = net.busIds[v]!;
      if (outside && (!wasOutside || Math.abs(vm - last) > VOLTAGE_DEADBAND_PU || (vm === 0) !== (last === 0))) {
        commands.push({ type: 'voltage', target: id, vmPu: vm });
        const level = voltageServiceLevel(vm, vmin, vmax);
        const service = `service ${(level * 100).toFixed(0)} %`;
        if (!wasOutside && vm > 0) {
          alert(id, vm < vmin ? `undervoltage: ${id} at ${vm.toFixed(4)} pu, below its Vmin ${vmin} pu (${service})` : `overvoltage: ${id} at ${vm.toFixed(4)} pu, above its Vmax ${vmax} pu (${service})`, level);
        }
      } else if (!outside && wasOutside) {
        commands.push({ type: 'voltage', target: id, vmPu: vm });
        alert(id, `voltage back within limits: ${id} at ${vm.toFixed(4)} pu (${vmin}–${vmax} pu)`, 1);
      }
    }
    if (answer.collapse !== undefined) {
      this.collapses++;
      const c = answer.collapse;
      const named = c.bus ?? net.busIds[c.buses[0] ?? 0]!;
      if (this.lastSummary?.collapse === null || this.lastSummary === null) {
        alert(named, `voltage collapse: the AC power flow did not converge (largest mismatch ${c.maxMismatchPu.toExponential(3)} pu at ${c.bus ?? 'an unknown bus'}); the ${c.buses.length} buses of its island are marked collapsed (service 0)`, 0);
      }
    }
    if (commands.length > 0) {
      this.seq = Math.max(this.seq, this.engine.journal.lastSourceSeq(VOLTAGE_SOURCE) ?? 0);
      const seqs = commands.map(() => ++this.seq);
      const refused = new Set<number>();
      try {
        this.control.submitBatch(commands, { source: VOLTAGE_SOURCE, sourceSeqs: seqs }, (i) => refused.add(i));
      } catch {
        // Refused as a whole (the engine is recovering): nothing was sent; the next run sends it,
        // against what the buses then hold.
        this.solvedLive = null;
        this.sent = null;
        commands.length = 0;
      }
      commands.forEach((command, i) => {
        if (refused.has(i) || command.type !== 'voltage') return;
        sent[net.busIndex.get(command.target)!] = command.vmPu;
        this.inputs++;
      });
    }
    if (alerts.length > 0) this.raise(alerts);
    this.last = { vmPu, vaDeg, violation };
    this.lastSummary = {
      lastRunClock: clock,
      converged: answer.collapse === undefined,
      iterations: answer.iterations,
      seconds: answer.seconds,
      collapse: answer.collapse === undefined ? null : { message: answer.collapse.message, maxMismatchPu: answer.collapse.maxMismatchPu, bus: answer.collapse.bus, buses: answer.collapse.buses.length },
    };
  }

  /** Runs so far (a tag for GET /api/grid's ETag). */
  get runs(): number {
    return this.runCount;
  }

  /** Bus `v`'s last AC voltage and violation (undefined before the first run). */
  busVoltage(v: number): BusVoltageRow | undefined {
    const last = this.last;
    if (last === null) return undefined;
    return { vmPu: last.vmPu[v]!, vaDeg: last.vaDeg[v]!, violation: last.violation[v] ?? null };
  }

  summary(): VoltageMonitorSummary {
    const net = this.layer.grid.net;
    const violations: Array<VoltageMonitorSummary['violations'][number]> = [];
    this.last?.violation.forEach((kind, v) => {
      if (kind === null) return;
      const limits = this.limits[v]!;
      violations.push({ bus: net.busIds[v]!, vmPu: kind === 'collapse' ? 0 : this.last!.vmPu[v]!, kind, limitPu: kind === 'over' ? limits.vmaxPu : limits.vminPu });
    });
    return {
      enabled: true,
      runs: this.runCount,
      collapses: this.collapses,
      inputs: this.inputs,
      ...(this.lastSummary ?? { lastRunClock: null, converged: null, iterations: 0, seconds: 0, collapse: null }),
      violations,
    };
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    if (this.timer !== undefined) clearTimeout(this.timer);
    void this.worker.close();
  }
}

/**
 * `STRATUM_VOLTAGE_MONITOR=1` attaches the live voltage monitor (default off: it changes service, so
 * one opts in; a city without an electrical power layer has nothing to monitor and it stays off).
 * `STRATUM_VOLTAGE_MIN_INTERVAL_MS` (default 1000) is the least wall time between two runs.
 *
 * @throws RangeError naming the variable when a value is malformed.
 */
export function voltageMonitorFromEnv(env: NodeJS.ProcessEnv, engine: Engine, control: Pick<Control, 'submitBatch'>, raise: (alerts: Alert[]) => void): VoltageMonitor | null {
  const on = env['STRATUM_VOLTAGE_MONITOR'];
  if (on === undefined || on === '' || on === '0') return null;
  if (on !== '1') throw new RangeError(`STRATUM_VOLTAGE_MONITOR must be 1 (on) or 0 (off) (got "${on}")`);
  const text = env['STRATUM_VOLTAGE_MIN_INTERVAL_MS'];
  let minIntervalMs: number | undefined;
  if (text !== undefined && text !== '') {
    minIntervalMs = Number(text);
    if (!(Number.isFinite(minIntervalMs) && minIntervalMs >= 0)) throw new RangeError(`STRATUM_VOLTAGE_MIN_INTERVAL_MS must be a number of milliseconds ≥ 0 (got "${text}")`);
  }
  return VoltageMonitor.attach(engine, control, raise, minIntervalMs === undefined ? {} : { minIntervalMs });
}
