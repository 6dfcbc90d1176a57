/**
 * The OpenStreetMap mapping and the synthesis rules, as data. The README's "Real places" section
 * lists the same table: keep the two in step.
 */

export const SYNTH_LAYERS = ['power', 'water', 'telecom'] as const;
export type SynthLayer = (typeof SYNTH_LAYERS)[number];

export const RULES = {
  attribution: '© OpenStreetMap contributors',
  licence: 'Open Database License (ODbL) 1.0, https://opendatacommons.org/licenses/odbl/1-0/; a database derived from it stays under the ODbL',
  /** Storeys of a building tagged with neither `building:levels` nor `height` (central Helsinki's blocks have 5–7). */
  defaultLevels: 5,
  /** Storey height, to turn levels into metres and a tagged `height` into levels. */
  metresPerLevel: 3.2,
  /**
   * Gross floor area per resident (m²). Helsinki's living space is about 34 m² per resident
   * (Statistics Finland); gross floor area counts walls, stairs and shared space on top (≈ 1.3×).
   */
  floorAreaPerResident: 45,
  /** Peak electrical demand per m² of floor area (W/m²), all building uses, for feeder loads. */
  wattsPerSquareMetre: 30,
  /** Water demand per resident (litres per day), for main loads in L/s. */
  litresPerResidentDay: 200,
  /** Floor for a feeder's load (MW): street lighting and small consumers the map does not show. */
  minimumFeederMw: 0.2,
  /** Capacity = load × this (the generator's margins are 1.3–1.6). */
  capacityMargin: 1.5,
  /** Share of residents aged 65+ given to every cohort (Helsinki ≈ 17 %). */
  elderlyShare: 0.17,
  /** Telecom towers run on batteries this long after their feeder fails (s). */
  towerBatterySeconds: 4 * 3600,
  /** Side of the square district cells when the extract names no places (m). */
  districtGridMetres: 500,
  /** One synthesised asset per square cell of this side (m) that holds buildings. */
  powerCells: { distributionMetres: 400, feederMetres: 150 },
  waterCells: { mainMetres: 200 },
  telecomCells: { aggregationMetres: 400, towerMetres: 300 },
} as const;

type Tags = Record<string, string>;

interface InfrastructureRule {
  readonly layer: string;
  readonly prefix: string;
  readonly source?: boolean;
  readonly match: (tags: Tags) => boolean;
  readonly kind: (tags: Tags) => string;
}

const is =
  (key: string, ...values: string[]) =>
  (tags: Tags): boolean =>
    tags[key] !== undefined && (values.length === 0 || values.includes(tags[key]));
const fixed = (kind: string) => (): string => kind;
const isWaterPipeline = (t: Tags): boolean => t['man_made'] === 'pipeline' && ['water', 'drinking_water'].includes(t['substance'] ?? t['type'] ?? '');
const isTelecomMast = (t: Tags): boolean =>
  (t['man_made'] === 'mast' || t['man_made'] === 'tower' || t['man_made'] === 'communications_tower') &&
  (t['tower:type'] === 'communication' || t['communication:mobile_phone'] === 'yes' || t['telecom'] !== undefined || t['communication:radio'] === 'yes');

export const MAPPING = {
  /** `place=*` values whose named nodes seed the districts. */
  districtPlaces: new Set(['suburb', 'quarter', 'neighbourhood', 'borough']),
  /** `highway=*` values that are roads for vehicles (kind `road`); the other highways are `footway`. */
  motorHighways: new Set([
    'motorway', 'motorway_link', 'trunk', 'trunk_link', 'primary', 'primary_link', 'secondary', 'secondary_link',
    'tertiary', 'tertiary_link', 'unclassified', 'residential', 'living_street', 'service', 'road', 'busway',
  ]),
  /** `highway=*` values that are not (yet, or any more) a way to travel, or not a line. */
  skippedHighways: new Set(['proposed', 'construction', 'abandoned', 'razed', 'disused', 'platform', 'elevator', 'bus_stop', 'crossing', 'street_lamp']),
  /** `railway=*` values that are tracks, and their asset kind. */
  tracks: { tram: 'tram-track', rail: 'rail-track', light_rail: 'rail-track', narrow_gauge: 'rail-track', subway: 'metro-track' } as Record<string, string>,
  /** Buildings whose floor area houses residents; `yes` (the common tag for city-centre blocks) counts. */
  residentialBuildings: new Set(['yes', 'apartments', 'residential', 'house', 'detached', 'semidetached_house', 'terrace', 'dormitory', 'bungalow', 'farm']),
  /** Closed ways drawn on the ground: parks and grass, and water. */
  greenAreas: { leisure: ['park', 'garden', 'playground', 'pitch'], landuse: ['grass', 'meadow', 'forest', 'recreation_ground', 'cemetery'], natural: ['scrub', 'wood', 'heath', 'grassland'] } as Record<string, string[]>,
  waterAreas: { natural: ['water'], landuse: ['basin', 'pond', 'reservoir'], water: ['pond', 'lake', 'river', 'basin'] } as Record<string, string[]>,
  /** Keys at least one of which every infrastructure rule needs (a cheap test before the rules). */
  infrastructureKeys: ['power', 'man_made', 'emergency', 'telecom', 'amenity', 'healthcare'],
  /** Tagged infrastructure, first match wins. */
  infrastructure: [
    { layer: 'power', prefix: 'pw', match: is('power', 'substation'), kind: (t) => (Number.parseFloat(t['voltage'] ?? '0') >= 110_000 ? 'transmission-substation' : 'distribution-substation') },
    { layer: 'power', prefix: 'pw', source: true, match: is('power', 'plant'), kind: fixed('power-plant') },
    { layer: 'power', prefix: 'pw', match: is('power', 'transformer'), kind: fixed('transformer') },
    { layer: 'power', prefix: 'pw', match: is('power', 'line', 'minor_line', 'cable'), kind: fixed('line') },
    { layer: 'power', prefix: 'pw', match: is('power', 'tower'), kind: fixed('power-tower') },
    { layer: 'power', prefix: 'pw', match: (t) => t['power'] === 'pole' || t['man_made'] === 'utility_pole', kind: fixed('pole') },
    { layer: 'power', prefix: 'pw', match: is('power', 'box', 'cable_distribution_cabinet', 'switch'), kind: fixed('cabinet') },
    { layer: 'water', prefix: 'wt', source: true, match: is('man_made', 'water_works'), kind: fixed('treatment-plant') },
    { layer: 'water', prefix: 'wt', source: true, match: is('man_made', 'reservoir_covered'), kind: fixed('reservoir') },
    { layer: 'water', prefix: 'wt', match: is('man_made', 'water_tower'), kind: fixed('water-tower') },
    { layer: 'water', prefix: 'wt', match: (t) => t['man_made'] === 'pumping_station' || t['man_made'] === 'pumphouse', kind: fixed('pumping-station') },
    { layer: 'water', prefix: 'wt', match: isWaterPipeline, kind: fixed('main') },
    { layer: 'water', prefix: 'wt', match: is('emergency', 'fire_hydrant'), kind: fixed('hydrant') },
    { layer: 'telecom', prefix: 'tc', match: is('telecom', 'data_center'), kind: fixed('data-centre') },
    { layer: 'telecom', prefix: 'tc', match: is('telecom', 'exchange'), kind: fixed('exchange') },
    { layer: 'telecom', prefix: 'tc', match: (t) => isTelecomMast(t) || t['telecom'] === 'antenna' || t['telecom'] === 'bts', kind: fixed('tower') },
    { layer: 'emergency', prefix: 'em', match: (t) => t['amenity'] === 'hospital' || t['healthcare'] === 'hospital', kind: fixed('hospital') },
    { layer: 'emergency', prefix: 'em', match: is('amenity', 'fire_station'), kind: fixed('fire-station') },
    { layer: 'emergency', prefix: 'em', match: is('amenity', 'police'), kind: fixed('police-station') },
  ] as readonly InfrastructureRule[],
} as const;
