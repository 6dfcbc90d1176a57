import { ActorRole, type Behaviour, type BehaviourSet, type CityIndex } from '../engine/index.ts';
import { AssetBehaviour } from './asset.ts';
import { CohortBehaviour } from './cohort.ts';
import { LayerSolverBehaviour } from './layer-solver.ts';
import { LIVE_OPTIONS, type BehaviourOptions } from './options.ts';
import { WaterSolverBehaviour, waterSolverOptions } from './water-solver.ts';

/**
 * The behaviours of one run: one asset behaviour for every asset, one cohort behaviour, one layer
 * solver behaviour. They are stateless objects (state lives in the actors), so one instance of
 * each serves every actor of its role.
 */
export function createBehaviours(index: CityIndex, options: BehaviourOptions = LIVE_OPTIONS): BehaviourSet {
  const asset = new AssetBehaviour(options) as Behaviour;
  const cohort = new CohortBehaviour(options) as Behaviour;
  const solver = new LayerSolverBehaviour(options) as Behaviour;
  // A city carrying an EPANET network has its water layer solved hydraulically (actors/water-solver.ts)
  // under the live rules; the cascade models ('flow', 'none') keep their published graph rules.
  const waterLayer = index.city.epanet === undefined || options.loadModel !== 'local' ? -1 : index.layers.indexOf('water');
  const water = waterLayer < 0 || index.city.epanet === undefined ? null : (new WaterSolverBehaviour(waterSolverOptions(index.city.epanet)) as Behaviour);
  return {
    behaviourOf(actor: number): Behaviour {
      const role = index.roleOf(actor);
      if (role === ActorRole.Asset) return asset;
      if (role === ActorRole.Cohort) return cohort;
      return water !== null && index.solverLayer[actor - index.assetCount - index.cohortCount] === waterLayer ? water : solver;
    },
    *starters(): Iterable<number> {
      for (let a = index.assetCount + index.cohortCount; a < index.actorCount; a++) yield a;
    },
  };
}
