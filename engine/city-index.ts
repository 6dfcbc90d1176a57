import type { CityModel } from './model/types.ts';

/**
 * Rows grouped by a key in compressed form: the items of key k are
 * `items[offsets[k] .. offsets[k + 1])`, in the order they were given. Used for every adjacency in
 * the index so that hot loops read typed arrays, not objects.
 */
export interface Grouped {
  readonly offsets: Int32Array;
  readonly items: Int32Array;
}

/** Groups `values[i]` under `keys[i]` (stable: within a key, rows keep their input order). */
export function groupBy(keyCount: number, keys: ArrayLike<number>, values: ArrayLike<number>): Grouped {
  const offsets = new Int32Array(keyCount + 1);
  for (let i = 0; i < keys.length; i++) offsets[(keys[i] as number) + 1]! += 1;
  for (let k = 0; k < keyCount; k++) offsets[k + 1]! += offsets[k]!;
  const cursor = offsets.slice(0, keyCount);
  const items = new Int32Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as number;
    items[cursor[k]!++] = values[i] as number;
  }
  return { offsets, items };
}

/** What an actor index stands for. */
export const ActorRole = { Asset: 0, Cohort: 1, Solver: 2 } as const;
export type ActorRole = (typeof ActorRole)[keyof typeof ActorRole];

/**
 * The city as numeric arrays: every asset, cohort and layer solver gets an actor index.
 * Layout: assets `[0, assetCount)`, cohorts `[assetCount, assetCount + cohortCount)`, then one flow
 * solver per layer that has links (connectivity rules apply only to layers with links).
 */
export class CityIndex {
  readonly city: CityModel;
  readonly assetCount: number;
  readonly cohortCount: number;
  readonly actorCount: number;

  readonly ids: readonly string[];
  private readonly indexById: Map<string, number>;

  readonly layers: readonly string[];
  readonly districts: readonly string[];
  /** Layer index per asset. */
  readonly layerOf: Int32Array;
  /** District index per asset and per cohort (by actor index). */
  readonly districtOf: Int32Array;
  readonly capacity: Float64Array;
  readonly baseLoad: Float64Array;
  readonly isSource: Uint8Array;
  readonly repairMs: Float64Array;

  /** Undirected link adjacency over assets (both directions stored). */
  readonly links: Grouped;
  /** Dependency edges, by edge index. */
  readonly depFrom: Int32Array;
  readonly depTo: Int32Array;
  readonly depStrength: Float64Array;
  readonly depProbability: Float64Array;
  readonly depLatencyMs: Float64Array;
  /** Slot of each edge in its dependent's provider list. */
  readonly depSlot: Int32Array;
  /** Edge indices by provider (outgoing) and by dependent (incoming). */
  readonly depsByProvider: Grouped;
  readonly depsByDependent: Grouped;

  /** Assets each cohort relies on (keyed by cohort number, 0-based), and the reverse. */
  readonly cohortReliesOn: Grouped;
  /** Per asset: `cohortServed.items` holds reliance-row numbers; see `relianceCohort`/`relianceSlot`. */
  readonly cohortsServed: Grouped;
  readonly relianceCohort: Int32Array;
  readonly relianceSlot: Int32Array;
  readonly cohortPopulation: Float64Array;

  /** Solver actor index per layer, or -1 when the layer has no links. */
  readonly solverOfLayer: Int32Array;
  /** Layer index per solver (by solver number, 0-based). */
  readonly solverLayer: Int32Array;
  /** Assets per layer. */
  readonly layerMembers: Grouped;
  /** Position of each asset in its layer's member list (local numbering for the layer solvers). */
  readonly layerPosition: Int32Array;

  constructor(city: CityModel) {
    this.city = city;
    const assets = city.assets;
    const cohorts = city.cohorts;
    this.assetCount = assets.length;
    this.cohortCount = cohorts.length;

    const ids: string[] = new Array<string>(assets.length + cohorts.length);
    this.indexById = new Map();
    assets.forEach((a, i) => {
      ids[i] = a.id;
      this.indexById.set(a.id, i);
    });
    cohorts.forEach((c, j) => {
      ids[assets.length + j] = c.id;
      this.indexById.set(c.id, assets.length + j);
    });
    this.ids = ids;

    const layerIndex = new Map<string, number>();
    const districtIndex = new Map<string, number>();
    const intern = (table: Map<string, number>, name: string): number => {
      let k = table.get(name);
      if (k === undefined) {
        k = table.size;
        table.set(name, k);
      }
      return k;
    };

    const n = assets.length;
    this.layerOf = new Int32Array(n);
    this.districtOf = new Int32Array(n + cohorts.length);
    this.capacity = new Float64Array(n);
    this.baseLoad = new Float64Array(n);
    this.isSource = new Uint8Array(n);
    this.repairMs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = assets[i]!;
      this.layerOf[i] = intern(layerIndex, a.layer);
      this.districtOf[i] = intern(districtIndex, a.district);
      this.capacity[i] = a.capacity;
      this.baseLoad[i] = a.baseLoad;
      this.isSource[i] = a.source ? 1 : 0;
      this.repairMs[i] = Math.round(a.repairSeconds * 1000);
    }
    this.cohortPopulation = new Float64Array(cohorts.length);
    cohorts.forEach((c, j) => {
      this.districtOf[n + j] = intern(districtIndex, c.district);
      this.cohortPopulation[j] = c.population;
    });
    this.layers = [...layerIndex.keys()];
    this.districts = [...districtIndex.keys()];

    const linkFrom = new Int32Array(city.links.length * 2);
    const linkTo = new Int32Array(city.links.length * 2);
    const layerHasLinks = new Uint8Array(this.layers.length);
    city.links.forEach((l, e) => {
      const a = this.assetIndex(l.from);
      const b = this.assetIndex(l.to);
      linkFrom[2 * e] = a;
      linkTo[2 * e] = b;
      linkFrom[2 * e + 1] = b;
      linkTo[2 * e + 1] = a;
      layerHasLinks[this.layerOf[a]!] = 1;
    });
    this.links = groupBy(n, linkFrom, linkTo);

    const m = city.dependencies.length;
    this.depFrom = new Int32Array(m);
    this.depTo = new Int32Array(m);
    this.depStrength = new Float64Array(m);
    this.depProbability = new Float64Array(m);
    this.depLatencyMs = new Float64Array(m);
    city.dependencies.forEach((d, e) => {
      this.depFrom[e] = this.assetIndex(d.from);
      this.depTo[e] = this.assetIndex(d.to);
      this.depStrength[e] = d.strength;
      this.depProbability[e] = d.probability;
      this.depLatencyMs[e] = Math.round(d.latencySeconds * 1000);
    });
    const edgeIds = Int32Array.from({ length: m }, (_, e) => e);
    this.depsByProvider = groupBy(n, this.depFrom, edgeIds);
    this.depsByDependent = groupBy(n, this.depTo, edgeIds);
    this.depSlot = new Int32Array(m);
    for (let d = 0; d < n; d++) {
      const { offsets, items } = this.depsByDependent;
      for (let k = offsets[d]!; k < offsets[d + 1]!; k++) this.depSlot[items[k]!] = k - offsets[d]!;
    }

    const relyCohort: number[] = [];
    const relyAsset: number[] = [];
    const relySlot: number[] = [];
    cohorts.forEach((c, j) => {
      c.reliesOn.forEach((ref, slot) => {
        relyCohort.push(j);
        relyAsset.push(this.assetIndex(ref));
        relySlot.push(slot);
      });
    });
    this.relianceCohort = Int32Array.from(relyCohort);
    this.relianceSlot = Int32Array.from(relySlot);
    this.cohortReliesOn = groupBy(cohorts.length, relyCohort, relyAsset);
    const rows = Int32Array.from({ length: relyCohort.length }, (_, r) => r);
    this.cohortsServed = groupBy(n, relyAsset, rows);

    this.solverOfLayer = new Int32Array(this.layers.length).fill(-1);
    const solverLayers: number[] = [];
    for (let l = 0; l < this.layers.length; l++) {
      if (layerHasLinks[l]) {
        this.solverOfLayer[l] = n + cohorts.length + solverLayers.length;
        solverLayers.push(l);
      }
    }
    this.solverLayer = Int32Array.from(solverLayers);
    this.actorCount = n + cohorts.length + solverLayers.length;
    this.layerMembers = groupBy(this.layers.length, this.layerOf, Int32Array.from({ length: n }, (_, i) => i));
    this.layerPosition = new Int32Array(n);
    for (let l = 0; l < this.layers.length; l++) {
      const start = this.layerMembers.offsets[l]!;
      for (let k = start; k < this.layerMembers.offsets[l + 1]!; k++) this.layerPosition[this.layerMembers.items[k]!] = k - start;
    }
  }

  /** The actor index of an asset or cohort id, or undefined. */
  indexOf(id: string): number | undefined {
    return this.indexById.get(id);
  }

  private assetIndex(id: string): number {
    const i = this.indexById.get(id);
    if (i === undefined || i >= this.assetCount) throw new Error(`index: unknown asset "${id}" (the model was not validated)`);
    return i;
  }

  roleOf(actor: number): ActorRole {
    if (actor < this.assetCount) return ActorRole.Asset;
    if (actor < this.assetCount + this.cohortCount) return ActorRole.Cohort;
    return ActorRole.Solver;
  }

  /** A printable name for any actor index: the asset or cohort id, or `solver:<layer>`. */
  nameOf(actor: number): string {
    if (actor < 0) return 'input';
    if (actor < this.ids.length) return this.ids[actor]!;
    const layer = this.solverLayer[actor - this.assetCount - this.cohortCount];
    return `solver:${layer === undefined ? '?' : this.layers[layer]}`;
  }

  /** The layer name of an asset. */
  layerName(asset: number): string {
    return this.layers[this.layerOf[asset]!]!;
  }
}
