import {
  CauseCode,
  MessageKind,
  OrderCode,
  Status,
  TimerCode,
  type ActorView,
  type Behaviour,
  type Cause,
  type CityIndex,
  type SimMessage,
  type StepContext,
} from '../engine/index.ts';
import type { BehaviourOptions } from './options.ts';

/** Power demand per person (load units are MW across the generated city). */
export const POWER_MW_PER_PERSON = 0.0012;
/** Stress gained per hour with every service lost, before vulnerability. */
const STRESS_RISE_PER_HOUR = 0.08;
const STRESS_DECAY_PER_HOUR = 0.05;
/** Heat: demand rises 3% per degree above 24 °C (air conditioning). */
const HEAT_DEMAND_PER_DEGREE = 0.03;
const COMFORT_C = 24;

export interface CohortState {
  /** Service level of each relied-on asset, by slot. */
  readonly served: Float64Array;
  readonly stress: number;
  /** Demand multiplier on the cohort's power assets (1 = normal). */
  readonly demand: number;
  readonly temperature: number;
  /** Share of the cohort sheltering or evacuated (0..1). */
  readonly sheltered: number;
  readonly order: number;
  /** Virtual ms of the last stress update, and whether a tick is pending. */
  readonly lastTick: number;
  readonly ticking: boolean;
  readonly cause: Cause | null;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function servedShare(s: CohortState): number {
  if (s.served.length === 0) return 1;
  let sum = 0;
  for (let i = 0; i < s.served.length; i++) sum += s.served[i]!;
  return sum / s.served.length;
}

/**
 * A district's population group. It relies on assets (power feeder, water main, tower, hospital);
 * losing them raises its stress (faster for elderly and mobility-limited people), heat raises its
 * power demand, and past a threshold — lower for risk-averse cohorts — it shelters or evacuates,
 * as do those who comply with an official order. Its demand changes feed back into asset load.
 */
export class CohortBehaviour implements Behaviour<CohortState> {
  constructor(private readonly options: BehaviourOptions) {}

  init(actor: number, index: CityIndex): CohortState {
    const c = actor - index.assetCount;
    const relied = index.cohortReliesOn.offsets[c + 1]! - index.cohortReliesOn.offsets[c]!;
    return {
      served: new Float64Array(relied).fill(1),
      stress: 0,
      demand: 1,
      temperature: 20,
      sheltered: 0,
      order: 0,
      lastTick: 0,
      ticking: false,
      cause: null,
    };
  }

  step(state: CohortState, batch: readonly SimMessage[], ctx: StepContext): CohortState {
    const index = ctx.index;
    const c = ctx.self - index.assetCount;
    const cohort = index.city.cohorts[c]!;
    const s: Mutable<CohortState> = { ...state };
    // Advance stress over the time since the last update, at the old service level.
    s.stress = this.stressAt(state, cohort.elderlyShare + cohort.mobilityLimitedShare, ctx.now);
    s.lastTick = ctx.now;
    let blame: Cause | null = null;

    for (const m of batch) {
      switch (m.kind) {
        case MessageKind.ServiceLevel: {
          const served = s.served === state.served ? Float64Array.from(state.served) : s.served;
          if (m.value < served[m.aux]!) blame = { code: CauseCode.Dependency, from: m.from, seq: m.seq, time: ctx.now };
          served[m.aux] = m.value;
          s.served = served;
          break;
        }
        case MessageKind.Ambient:
          s.temperature = m.value;
          break;
        case MessageKind.Order:
          s.order = m.aux === OrderCode.AllClear ? 0 : m.aux;
          break;
        case MessageKind.Timer:
          if (m.aux === TimerCode.CohortTick) s.ticking = false;
          break;
        default:
          break;
      }
    }

    // Shelter/evacuate: the compliant share follows an order; everyone decides when stress passes
    // a threshold that is lower for risk-averse cohorts.
    const ordered = s.order === OrderCode.Shelter || s.order === OrderCode.Evacuate ? cohort.compliance : 0;
    const threshold = 0.3 + 0.5 * (1 - cohort.riskAversion);
    const bySelf = s.stress > threshold ? Math.min(1, (s.stress - threshold) / (1 - threshold) + 0.25) : 0;
    s.sheltered = Math.max(ordered, bySelf);

    const heat = Math.max(0, s.temperature - COMFORT_C) * HEAT_DEMAND_PER_DEGREE;
    const demand = (1 + heat) * (1 - 0.5 * s.sheltered);
    if (Math.abs(demand - state.demand) > 1e-6) {
      this.sendDemand(ctx, c, cohort.population * POWER_MW_PER_PERSON * (demand - state.demand));
      s.demand = demand;
    }

    const lacking = servedShare(s) < 1 || s.stress > 0;
    if (lacking && !s.ticking) {
      s.ticking = true;
      ctx.send(ctx.self, MessageKind.Timer, 0, TimerCode.CohortTick, this.options.cohortTickSeconds * 1000);
    }
    if (blame !== null) s.cause = blame;
    else if (servedShare(s) >= 1) s.cause = null;
    return s;
  }

  private stressAt(s: CohortState, vulnerability: number, now: number): number {
    const hours = (now - s.lastTick) / 3_600_000;
    if (hours <= 0) return s.stress;
    const lack = 1 - servedShare(s);
    const next = lack > 0
      ? s.stress + hours * STRESS_RISE_PER_HOUR * lack * (1 + vulnerability)
      : s.stress - hours * STRESS_DECAY_PER_HOUR;
    return Math.min(1, Math.max(0, next));
  }

  /** Spreads a demand change over the power assets the cohort relies on. */
  private sendDemand(ctx: StepContext, cohort: number, deltaMw: number): void {
    const index = ctx.index;
    const { offsets, items } = index.cohortReliesOn;
    const power: number[] = [];
    for (let k = offsets[cohort]!; k < offsets[cohort + 1]!; k++) {
      if (index.layerName(items[k]!) === 'power') power.push(items[k]!);
    }
    for (const asset of power) ctx.send(asset, MessageKind.Demand, deltaMw / power.length, 0, 0);
  }

  view(s: CohortState): ActorView {
    const share = servedShare(s);
    let status: Status = Status.Ok;
    if (s.sheltered >= 0.5) status = Status.Sheltering;
    else if (share <= 0) status = Status.Failed;
    else if (share < 1) status = Status.Degraded;
    return { status, level: share, load: s.demand, stress: s.stress };
  }

  cause(s: CohortState): Cause | null {
    return s.cause;
  }

  fault(s: CohortState, cause: Cause): CohortState {
    return { ...s, cause };
  }

  describe(s: CohortState, index: CityIndex): Record<string, unknown> {
    return {
      served: Array.from(s.served),
      stress: s.stress,
      demand: s.demand,
      sheltered: s.sheltered,
      temperature: s.temperature,
      order: s.order,
      layers: index.layers.length,
    };
  }
}

/** Share of a cohort without each layer's service, for headline numbers ("people without power"). */
export function cohortLackByLayer(s: CohortState, cohort: number, index: CityIndex): Map<string, number> {
  const { offsets, items } = index.cohortReliesOn;
  const byLayer = new Map<string, { sum: number; n: number }>();
  for (let k = offsets[cohort]!; k < offsets[cohort + 1]!; k++) {
    const layer = index.layerName(items[k]!);
    const entry = byLayer.get(layer) ?? { sum: 0, n: 0 };
    entry.sum += s.served[k - offsets[cohort]!]!;
    entry.n += 1;
    byLayer.set(layer, entry);
  }
  return new Map([...byLayer].map(([layer, e]) => [layer, 1 - e.sum / e.n]));
}
