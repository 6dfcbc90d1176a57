import { createBehaviours, type BehaviourOptions, LIVE_OPTIONS } from '../actors/index.ts';
import { Engine, parseCity, type CityModel, type DriverName } from '../engine/index.ts';

/** Builds a small city from a compact description, for exact hand-worked cases. */
export function smallCity(document: unknown): CityModel {
  return parseCity(document, 'test city');
}

export async function engineFor(
  city: CityModel,
  options: { driver?: DriverName; seed?: number; behaviour?: Partial<BehaviourOptions> } = {},
): Promise<Engine> {
  const behaviourOptions = { ...LIVE_OPTIONS, ...options.behaviour };
  return Engine.create({ city, behaviours: (index) => createBehaviours(index, behaviourOptions), seed: options.seed ?? 1, driver: options.driver ?? 'direct' });
}

/** Status name of an asset or cohort by id. */
export function statusOf(engine: Engine, id: string): string {
  const actor = engine.index.indexOf(id);
  if (actor === undefined) throw new Error(`no actor ${id}`);
  return ['ok', 'degraded', 'failed', 'isolated', 'faulted', 'sheltering'][engine.kernel.view(actor).status]!;
}
