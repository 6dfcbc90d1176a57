import type { CityIndex } from '../../engine/index.ts';

/**
 * Graph queries over the static city index (links and dependencies). Breadth-first, bounded by
 * depth and by a result cap so that a query on a 100k-asset city stays cheap.
 */

export const MAX_GRAPH_RESULTS = 10_000;

export type Direction = 'upstream' | 'downstream';

function providersOf(index: CityIndex, asset: number, visit: (other: number) => void): void {
  const { offsets, items } = index.depsByDependent;
  for (let k = offsets[asset]!; k < offsets[asset + 1]!; k++) visit(index.depFrom[items[k]!]!);
}

function dependentsOf(index: CityIndex, asset: number, visit: (other: number) => void): void {
  const { offsets, items } = index.depsByProvider;
  for (let k = offsets[asset]!; k < offsets[asset + 1]!; k++) visit(index.depTo[items[k]!]!);
}

function linkedTo(index: CityIndex, asset: number, visit: (other: number) => void): void {
  const { offsets, items } = index.links;
  for (let k = offsets[asset]!; k < offsets[asset + 1]!; k++) visit(items[k]!);
}

export interface Reached {
  readonly asset: number;
  readonly depth: number;
}

function bfs(start: number, maxDepth: number, expand: (asset: number, visit: (other: number) => void) => void): { reached: Reached[]; truncated: boolean } {
  const depth = new Map<number, number>([[start, 0]]);
  const reached: Reached[] = [];
  let frontier = [start];
  let truncated = false;
  for (let d = 1; d <= maxDepth && frontier.length > 0 && !truncated; d++) {
    const next: number[] = [];
    for (const a of frontier) {
      expand(a, (o) => {
        if (depth.has(o) || truncated) return;
        if (reached.length >= MAX_GRAPH_RESULTS) {
          truncated = true;
          return;
        }
        depth.set(o, d);
        reached.push({ asset: o, depth: d });
        next.push(o);
      });
    }
    frontier = next;
  }
  return { reached, truncated };
}

/** Assets within `maxDepth` hops over links and dependencies (both directions). */
export function neighbours(index: CityIndex, asset: number, maxDepth: number, via: 'links' | 'dependencies' | 'both' = 'both'): { reached: Reached[]; truncated: boolean } {
  return bfs(asset, maxDepth, (a, visit) => {
    if (via !== 'dependencies') linkedTo(index, a, visit);
    if (via !== 'links') {
      providersOf(index, a, visit);
      dependentsOf(index, a, visit);
    }
  });
}

/** Upstream (everything it depends on, transitively) or downstream (everything that depends on it). */
export function closure(index: CityIndex, asset: number, direction: Direction, maxDepth = Number.MAX_SAFE_INTEGER): { reached: Reached[]; truncated: boolean } {
  return bfs(asset, maxDepth, direction === 'upstream' ? (a, v) => providersOf(index, a, v) : (a, v) => dependentsOf(index, a, v));
}

/**
 * Shortest dependency path from `from` to `to`: `directed` follows provider → dependent edges only,
 * `undirected` ignores the direction. Returns the asset indices on the path, or undefined.
 */
export function shortestPath(index: CityIndex, from: number, to: number, mode: 'directed' | 'undirected' = 'directed'): number[] | undefined {
  if (from === to) return [from];
  const parent = new Map<number, number>([[from, -1]]);
  let frontier = [from];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const a of frontier) {
      const visit = (o: number): void => {
        if (parent.has(o)) return;
        parent.set(o, a);
        next.push(o);
      };
      dependentsOf(index, a, visit);
      if (mode === 'undirected') providersOf(index, a, visit);
      if (parent.has(to)) {
        const path = [to];
        let p = parent.get(to)!;
        while (p !== -1) {
          path.push(p);
          p = parent.get(p)!;
        }
        return path.reverse();
      }
    }
    frontier = next;
  }
  return undefined;
}
