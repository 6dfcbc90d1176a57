/**
 * An EPANET network as the water layer of the city model: every junction, reservoir, tank, pipe,
 * pump and valve is an asset (an actor), with the `.inp` id. Pipes, pumps and valves are assets too
 * (a main breaks, a pump stops), so the model's links join each of them to its two end nodes.
 */
import { parseInp, type InpLink, type InpNetwork, type InpNode } from './inp.ts';

/** Repair times (seconds) by element, for assets read from an `.inp`. */
export const WATER_REPAIR_SECONDS = { junction: 4 * 3600, reservoir: 12 * 3600, tank: 12 * 3600, pipe: 8 * 3600, pump: 6 * 3600, valve: 4 * 3600 } as const;

interface DocumentAsset {
  id: string;
  layer: 'water';
  kind: string;
  position?: { x: number; y: number; z: number };
  source?: boolean;
  repairTime: number;
  props: Record<string, unknown>;
}

export interface WaterCityDocument {
  name: string;
  version: 1;
  assets: DocumentAsset[];
  links: { from: string; to: string; kind: string }[];
  /** The network itself, so the live twin can solve it (EPANET reads this text). */
  epanet: { inp: string };
}

/**
 * The asset id of a link. EPANET keeps node and link ids apart (Net1 has node "10" and pipe "10");
 * the city model has one namespace, so a link whose id is also a node's becomes `<type>:<id>`
 * (`pipe:10`). `props.epanetId` always holds the `.inp` id.
 */
export function linkAssetId(link: Pick<InpLink, 'id' | 'type'>, nodeIds: ReadonlySet<string>): string {
  return nodeIds.has(link.id) ? `${link.type}:${link.id}` : link.id;
}

function nodeProps(node: InpNode): Record<string, unknown> {
  const base = { epanetId: node.id, epanetType: node.type };
  if (node.type === 'junction') {
    return {
      ...base,
      elevationM: node.elevationM,
      baseDemandM3s: node.demands.reduce((sum, d) => sum + d.m3s, 0),
      demands: node.demands.map((d) => ({ m3s: d.m3s, pattern: d.pattern })),
    };
  }
  if (node.type === 'reservoir') return { ...base, headM: node.elevationM, headPattern: node.pattern };
  return { ...base, elevationM: node.elevationM, ...node.tank };
}

function linkProps(link: InpLink): Record<string, unknown> {
  return { epanetId: link.id, epanetType: link.type, fromNode: link.from, toNode: link.to, ...(link.pipe ?? link.pump ?? link.valve ?? {}) };
}

/** The water layer of a city document, from a parsed network. */
export function waterCityDocument(network: InpNetwork, inp: string): WaterCityDocument {
  const nodeIds = new Set(network.nodes.map((n) => n.id));
  const positionOf = new Map<string, { x: number; y: number; z: number }>();
  const assets: DocumentAsset[] = network.nodes.map((node) => {
    const asset: DocumentAsset = { id: node.id, layer: 'water', kind: node.type, repairTime: WATER_REPAIR_SECONDS[node.type], props: nodeProps(node) };
    if (node.position !== null) {
      const position = { x: node.position.x, y: node.position.y, z: node.elevationM };
      asset.position = position;
      positionOf.set(node.id, position);
    }
    // Stored water feeds the network as a reservoir does (for as long as it lasts: hydraulics decides that).
    if (node.type === 'tank') asset.source = true;
    return asset;
  });
  const links: WaterCityDocument['links'] = [];
  for (const link of network.links) {
    const id = linkAssetId(link, nodeIds);
    const asset: DocumentAsset = { id, layer: 'water', kind: link.type, repairTime: WATER_REPAIR_SECONDS[link.type], props: linkProps(link) };
    const a = positionOf.get(link.from);
    const b = positionOf.get(link.to);
    if (a !== undefined && b !== undefined) asset.position = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, z: (a.z + b.z) / 2 };
    assets.push(asset);
    links.push({ from: link.from, to: id, kind: link.type }, { from: id, to: link.to, kind: link.type });
  }
  const name = network.title !== '' ? network.title : (network.source.split(/[\\/]/).pop() ?? network.source);
  return { name, version: 1, assets, links, epanet: { inp } };
}

/**
 * The city document of an `.inp` text (validate it with `parseCity`; `loadCityFile` does both for a
 * path ending in `.inp`). Kept free of the model's validator so the validator can call it.
 * @throws ValidationError naming `source`, the line and the reason.
 * @example
 * const city = parseCity(epanetCityDocument(readFileSync('Net1.inp', 'utf8'), 'Net1.inp'), 'Net1.inp');
 */
export function epanetCityDocument(text: string, source: string): WaterCityDocument {
  return waterCityDocument(parseInp(text, source), text);
}
