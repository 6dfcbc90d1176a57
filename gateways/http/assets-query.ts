import { WIRE_STATUS_NAMES, type ActorState, type AssetsQuery } from '../protocol.ts';

/**
 * What `GET /api/assets` reads of a city and its live state: the engine's index and kernel
 * (http/api.ts), or a gateway's copy published by the engine (reads/read-model.ts). One selection
 * for both, so the same query gives the same items, order and totals wherever it is answered.
 */
export interface ActorTable {
  readonly assetCount: number;
  /** Assets, then cohorts. */
  readonly actorCount: number;
  readonly layers: readonly string[];
  readonly districts: readonly string[];
  /** Index into `layers` (assets only). */
  layerOf(asset: number): number;
  /** Index into `districts`. */
  districtOf(actor: number): number;
  /** The asset's kind; `cohort` for a cohort. */
  kindOf(actor: number): string;
  /** The status code (`WIRE_STATUS_NAMES` order). */
  statusOf(actor: number): number;
  stateOf(actor: number): ActorState;
}

export function selectAssets(q: AssetsQuery, t: ActorTable): { total: number; offset: number; items: ActorState[] } {
  const layer = q.layer === undefined ? undefined : t.layers.indexOf(q.layer);
  const district = q.district === undefined ? undefined : t.districts.indexOf(q.district);
  const status = q.status === undefined ? undefined : (WIRE_STATUS_NAMES as readonly string[]).indexOf(q.status);
  const start = q.role === 'cohort' ? t.assetCount : 0;
  const end = q.role === 'asset' ? t.assetCount : t.actorCount;
  const items: ActorState[] = [];
  let total = 0;
  for (let a = start; a < end; a++) {
    const isAsset = a < t.assetCount;
    if (layer !== undefined && (!isAsset || t.layerOf(a) !== layer)) continue;
    if (district !== undefined && t.districtOf(a) !== district) continue;
    if (status !== undefined && t.statusOf(a) !== status) continue;
    if (q.kind !== undefined && t.kindOf(a) !== q.kind) continue;
    if (total >= q.offset && items.length < q.limit) items.push(t.stateOf(a));
    total++;
  }
  return { total, offset: q.offset, items };
}
