import { inputCommandSchema, mixSeed, Rng, ValidationError, zodProblems, type CityIndex, type Engine, type InputCommand, type Problem } from '../engine/index.ts';
import { curveFor, drawDamage, type Curve, type HazardKind } from './fragility.ts';
import type { Scenario, ScenarioEventSpec, Selector, Target } from './format.ts';

/** One plain input produced by a scenario, at seconds from the start of the run. */
export interface ExpandedEvent {
  readonly at: number;
  readonly command: InputCommand;
  /** Index of the scenario event it came from. */
  readonly origin: number;
}

type Point = { readonly x: number; readonly y: number };

/** The city's horizontal extent, for percentage coordinates. */
interface Extent {
  readonly minX: number;
  readonly minY: number;
  readonly width: number;
  readonly height: number;
}

function extentOf(index: CityIndex): Extent {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const a of index.city.assets) {
    if (a.position === null) continue;
    minX = Math.min(minX, a.position.x);
    maxX = Math.max(maxX, a.position.x);
    minY = Math.min(minY, a.position.y);
    maxY = Math.max(maxY, a.position.y);
  }
  if (minX === Infinity) return { minX: 0, minY: 0, width: 0, height: 0 };
  return { minX, minY, width: maxX - minX, height: maxY - minY };
}

const pct = (v: string): number => Number(v.slice(0, -1)) / 100;
const coord = (v: number | string, e: Extent, axis: 'x' | 'y'): number => (typeof v === 'number' ? v : axis === 'x' ? e.minX + pct(v) * e.width : e.minY + pct(v) * e.height);
const length = (v: number | string, e: Extent): number => (typeof v === 'number' ? v : pct(v) * Math.max(e.width, e.height));
const point = (p: { x: number | string; y: number | string }, e: Extent): Point => ({ x: coord(p.x, e, 'x'), y: coord(p.y, e, 'y') });

/** Even–odd ray casting. */
export function insidePolygon(p: Point, polygon: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!;
    const b = polygon[j]!;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

/** Peak ground acceleration (g) after Campbell (1981): R = hypocentral distance in km. */
export function campbellPga(magnitude: number, distanceKm: number): number {
  return 0.0159 * Math.exp(0.868 * magnitude) * (distanceKm + 0.0606 * Math.exp(0.7 * magnitude)) ** -1.09;
}

/** Modified Rankine vortex: linear inside the radius of maximum wind, (R/d)^decay beyond. */
export function rankineWind(maxWind: number, radius: number, decay: number, distance: number): number {
  if (radius <= 0) return 0;
  return distance <= radius ? (maxWind * distance) / radius : maxWind * (radius / distance) ** decay;
}

/** A uniform draw for (event, asset), independent of iteration order. */
function drawFor(eventSeed: number, actor: number): number {
  return new Rng(mixSeed(eventSeed, actor)).next();
}

/** Resolves a target (an id string or a selector) to engine targets. */
function resolveTarget(t: Target, index: CityIndex, e: Extent, eventSeed: number): string[] {
  if (typeof t === 'string') return [t];
  return select(t, index, e, eventSeed);
}

function select(s: Selector, index: CityIndex, e: Extent, eventSeed: number): string[] {
  const assets = index.city.assets;
  const candidates: number[] = [];
  for (let a = 0; a < index.assetCount; a++) {
    const asset = assets[a]!;
    if (s.kind !== undefined && asset.kind !== s.kind) continue;
    if (s.layer !== undefined && asset.layer !== s.layer) continue;
    if (s.district !== undefined && asset.district !== s.district) continue;
    candidates.push(a);
  }
  if (s.pick === 'nearest') {
    const c = s.near === undefined ? { x: e.minX + e.width / 2, y: e.minY + e.height / 2 } : point(s.near, e);
    const dist = (a: number): number => {
      const p = assets[a]!.position;
      return p === null ? Infinity : (p.x - c.x) ** 2 + (p.y - c.y) ** 2;
    };
    candidates.sort((a, b) => dist(a) - dist(b) || a - b);
  } else if (s.pick === 'random') {
    const rng = new Rng(mixSeed(eventSeed, 0x5e1ec7));
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    }
  } else if (s.pick === 'largest') {
    candidates.sort((a, b) => assets[b]!.baseLoad - assets[a]!.baseLoad || a - b);
  }
  const rest = candidates.slice(s.skip);
  const taken = s.count === 'all' ? rest : rest.slice(0, s.count);
  return taken.map((a) => index.ids[a]!);
}

/**
 * Draws fragility damage for every positioned asset with a curve for `hazard`: `intensity(a)`
 * gives the intensity at asset `a` and the time (seconds) it peaks there, or undefined.
 */
function damageByFragility(
  index: CityIndex,
  hazard: HazardKind,
  overrides: Readonly<Record<string, Curve>> | undefined,
  eventSeed: number,
  origin: number,
  intensity: (a: number) => { value: number; at: number } | undefined,
  out: ExpandedEvent[],
): void {
  const assets = index.city.assets;
  for (let a = 0; a < index.assetCount; a++) {
    const curve = curveFor(hazard, assets[a]!.kind, overrides);
    if (curve === undefined) continue;
    const i = intensity(a);
    if (i === undefined || !(i.value > 0)) continue;
    const { severity } = drawDamage(i.value, curve, drawFor(eventSeed, a));
    if (severity > 0) out.push({ at: i.at, command: { type: 'fail', target: index.ids[a]!, severity, hazard }, origin });
  }
}

/**
 * Expands a scenario into plain inputs for one city, deterministically: the same scenario, city
 * and seed always give the same list (sorted by time, then by event order). Hazards go through
 * fragility curves with one seeded draw per (event, asset). Throws ValidationError (naming the
 * scenario, the event path and the reason) when a selector matches nothing or an input is invalid.
 */
export function expandScenario(scenario: Scenario, index: CityIndex, runSeed: number): ExpandedEvent[] {
  const seed = scenario.seed ?? runSeed;
  const e = extentOf(index);
  const out: ExpandedEvent[] = [];
  const problems: Problem[] = [];
  const attacks: AttackWindow[] = [];
  scenario.events.forEach((event, origin) => {
    const eventSeed = mixSeed(seed >>> 0, origin + 1);
    const before = out.length;
    try {
      expandOne(event, origin, index, e, eventSeed, out, attacks);
    } catch (error) {
      problems.push({ path: `$.events[${origin}]`, reason: (error as Error).message });
      return;
    }
    for (let k = before; k < out.length; k++) {
      const checked = inputCommandSchema.safeParse(out[k]!.command);
      if (!checked.success) problems.push(...zodProblems(checked.error).map((p) => ({ path: `$.events[${origin}]${p.path.slice(1)}`, reason: p.reason })));
    }
  });
  if (problems.length > 0) throw new ValidationError(`scenario ${scenario.name} (${scenario.source})`, problems);
  out.push(...attackEnds(attacks));
  return out
    .map((x, k) => ({ x, k }))
    .sort((p, q) => p.x.at - q.x.at || p.k - q.k)
    .map((p) => p.x);
}

/** A timed cyber attack on one asset: it ends (a `secure`) at `end` seconds. */
interface AttackWindow {
  readonly id: string;
  readonly start: number;
  readonly end: number;
  readonly origin: number;
}

/**
 * The `secure` inputs that end timed attacks. Overlapping attacks on one asset end together, when
 * the last of them ends: a second attack's end must not cut the first one short (a `secure` ends
 * every cyber condition of its target).
 */
function attackEnds(attacks: readonly AttackWindow[]): ExpandedEvent[] {
  const byAsset = new Map<string, AttackWindow[]>();
  for (const w of attacks) byAsset.set(w.id, [...(byAsset.get(w.id) ?? []), w]);
  const ends: ExpandedEvent[] = [];
  for (const [id, windows] of byAsset) {
    windows.sort((a, b) => a.start - b.start || a.origin - b.origin);
    let current = windows[0]!;
    for (const w of windows.slice(1)) {
      if (w.start <= current.end) {
        if (w.end > current.end) current = { ...current, end: w.end, origin: w.origin };
        continue;
      }
      ends.push({ at: current.end, command: { type: 'secure', target: id }, origin: current.origin });
      current = w;
    }
    ends.push({ at: current.end, command: { type: 'secure', target: id }, origin: current.origin });
  }
  return ends;
}

function expandOne(event: ScenarioEventSpec, origin: number, index: CityIndex, e: Extent, eventSeed: number, out: ExpandedEvent[], attacks: AttackWindow[]): void {
  const assets = index.city.assets;
  const targets = (t: Target): string[] => {
    const ids = resolveTarget(t, index, e, eventSeed);
    if (ids.length === 0 && typeof t === 'object' && t.ifNone === 'skip') return ids;
    if (ids.length === 0) throw new Error(`target selector ${JSON.stringify(t)} matches no asset in this city`);
    return ids;
  };
  const push = (at: number, command: InputCommand): void => void out.push({ at, command, origin });
  switch (event.type) {
    case 'fail':
    case 'repair':
    case 'restore':
    case 'isolate':
    case 'telemetry':
    case 'shed':
    case 'ambient':
    case 'secure':
    case 'cyber': {
      const { at, label: _label, target, ...rest } = event;
      for (const id of targets(target)) push(at, { ...rest, target: id } as InputCommand);
      return;
    }
    case 'order': {
      const { at, label: _label, ...command } = event;
      push(at, command);
      return;
    }
    case 'heatwave': {
      const districts = event.districts ?? null;
      for (const d of districts ?? []) if (!index.districts.includes(d)) throw new Error(`unknown district "${d}" (city has ${index.districts.slice(0, 8).join(', ')}${index.districts.length > 8 ? ', …' : ''})`);
      for (const p of event.profile) {
        const at = event.at + p.hour * 3600;
        if (districts === null) push(at, { type: 'ambient', target: '*', celsius: p.celsius });
        else for (const d of districts) push(at, { type: 'ambient', target: `district:${d}`, celsius: p.celsius });
      }
      const peak = event.profile.reduce((best, p) => (p.celsius > best.celsius ? p : best));
      const inScope = districts === null ? null : new Set(districts.map((d) => index.districts.indexOf(d)));
      damageByFragility(index, 'heat', event.fragility, eventSeed, origin, (a) => (inScope === null || inScope.has(index.districtOf[a]!) ? { value: peak.celsius, at: event.at + peak.hour * 3600 } : undefined), out);
      return;
    }
    case 'flood': {
      const polygon = event.area?.map((p) => point(p, e));
      const slope = event.terrain?.slope ?? { x: 0, y: 0 };
      const base = event.terrain?.base ?? 0;
      const depthAt = (a: number): number | undefined => {
        const p = assets[a]!.position;
        if (p === null) return undefined;
        if (polygon !== undefined && !insidePolygon(p, polygon)) return undefined;
        if (event.depth !== undefined) return event.depth;
        const ground = p.z + base + slope.x * (p.x - e.minX) + slope.y * (p.y - e.minY);
        return event.waterLevel! - ground;
      };
      let maxDepth = 0;
      for (let a = 0; a < index.assetCount; a++) maxDepth = Math.max(maxDepth, depthAt(a) ?? 0);
      const rise = event.riseHours * 3600;
      damageByFragility(index, 'flood', event.fragility, eventSeed, origin, (a) => {
        const d = depthAt(a);
        if (d === undefined || d <= 0) return undefined;
        // Lower ground (deeper water) floods first while the water rises.
        return { value: d, at: event.at + Math.round(rise * (1 - d / maxDepth)) };
      }, out);
      return;
    }
    case 'storm': {
      const track = event.track.map((p) => ({ ...point(p, e), t: p.hour * 3600 }));
      const step = event.stepMinutes * 60;
      const samples: { x: number; y: number; t: number }[] = [];
      const end = track[track.length - 1]!.t;
      for (let t = track[0]!.t; t <= end + 1e-9; t += step) {
        let k = 0;
        while (k < track.length - 2 && track[k + 1]!.t < t) k++;
        const a = track[k]!;
        const b = track[k + 1]!;
        const f = b.t > a.t ? Math.min(1, Math.max(0, (t - a.t) / (b.t - a.t))) : 1;
        samples.push({ x: a.x + f * (b.x - a.x), y: a.y + f * (b.y - a.y), t });
      }
      const radius = length(event.radius, e);
      damageByFragility(index, 'wind', event.fragility, eventSeed, origin, (a) => {
        const p = assets[a]!.position;
        if (p === null) return undefined;
        let best = 0;
        let bestT = 0;
        for (const s of samples) {
          const v = rankineWind(event.maxWind, radius, event.decay, Math.hypot(p.x - s.x, p.y - s.y));
          if (v > best) {
            best = v;
            bestT = s.t;
          }
        }
        return { value: best, at: event.at + Math.round(bestT) };
      }, out);
      return;
    }
    case 'earthquake': {
      const c = point(event.epicentre, e);
      damageByFragility(index, 'shaking', event.fragility, eventSeed, origin, (a) => {
        const p = assets[a]!.position;
        if (p === null) return undefined;
        const r = Math.hypot(Math.hypot(p.x - c.x, p.y - c.y) / 1000, event.depthKm);
        // S waves travel at about 3.5 km/s: the far side of the city shakes a few seconds later.
        return { value: campbellPga(event.magnitude, r), at: event.at + Math.round(r / 3.5) };
      }, out);
      return;
    }
    case 'scada-compromise': {
      const first = targets(event.target ?? { kind: 'scada-centre', pick: 'first', count: 1, skip: 0, ifNone: 'error' });
      const telecom = index.layers.indexOf('telecom');
      const hop = event.hopMinutes * 60;
      const reached = new Map<number, number>();
      let frontier: number[] = [];
      for (const id of first) {
        const a = index.indexOf(id);
        if (a === undefined || a >= index.assetCount) throw new Error(`unknown asset "${id}"`);
        reached.set(a, 0);
        frontier.push(a);
      }
      for (let h = 1; h <= event.hops && frontier.length > 0; h++) {
        const next: number[] = [];
        for (const a of frontier) {
          for (let k = index.links.offsets[a]!; k < index.links.offsets[a + 1]!; k++) {
            const b = index.links.items[k]!;
            if (reached.has(b) || index.layerOf[b] !== telecom) continue;
            if (drawFor(eventSeed, b) < event.spread) {
              reached.set(b, h);
              next.push(b);
            }
          }
        }
        frontier = next.sort((x, y) => x - y);
      }
      const deps = index.city.dependencies;
      for (const [a, h] of [...reached].sort((p, q) => p[0] - q[0])) {
        const at = event.at + h * hop;
        const control = assets[a]!.kind === 'scada-centre';
        push(at, { type: 'cyber', target: index.ids[a]!, attack: 'compromise', severity: control ? 1 : event.networkSeverity });
        if (!control) continue;
        for (let k = index.depsByProvider.offsets[a]!; k < index.depsByProvider.offsets[a + 1]!; k++) {
          const edge = index.depsByProvider.items[k]!;
          const dependent = index.depTo[edge]!;
          if (deps[edge]!.kind !== 'scada' || dependent >= index.assetCount) continue;
          if (drawFor(mixSeed(eventSeed, 0xc0117), dependent) < event.misoperate) {
            push(at + deps[edge]!.latencySeconds, { type: 'cyber', target: index.ids[dependent]!, attack: 'compromise', severity: event.misoperateSeverity });
          }
        }
      }
      return;
    }
    case 'ddos':
    case 'ransomware': {
      const fallback: Selector = event.type === 'ddos' ? { kind: 'core-router', pick: 'first', count: 'all', skip: 0, ifNone: 'error' } : { kind: 'hospital', pick: 'nearest', count: 1, skip: 0, ifNone: 'error' };
      for (const id of targets(event.target ?? fallback)) {
        push(event.at, { type: 'cyber', target: id, attack: event.type, severity: event.severity });
        if (event.durationHours !== undefined) attacks.push({ id, start: event.at, end: event.at + event.durationHours * 3600, origin });
      }
      return;
    }
  }
}

/**
 * Submits a scenario to an engine, offset by `startSeconds`. It is expanded and every target is
 * checked first, so a bad scenario changes nothing (it never half-runs). Returns the inputs.
 * On a live engine pass `engine.now / 1000` as `startSeconds` to start the timeline now.
 *
 * @example
 * submitScenario(engine, loadLibraryScenario('river-flood'));
 * await engine.runUntil(24 * 3600_000);
 */
export function submitScenario(engine: Engine, scenario: Scenario, startSeconds = 0, source = `scenario:${scenario.name}`): ExpandedEvent[] {
  const events = expandScenario(scenario, engine.index, engine.kernel.seed);
  const problems: Problem[] = [];
  for (const event of events) {
    try {
      engine.targetsOf(event.command);
    } catch (error) {
      problems.push({ path: `$.events[${event.origin}].target`, reason: (error as Error).message });
    }
  }
  if (problems.length > 0) throw new ValidationError(`scenario ${scenario.name} (${scenario.source})`, problems);
  for (const event of events) engine.submit(event.command, { at: startSeconds + event.at, source });
  return events;
}
