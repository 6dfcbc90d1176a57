import { z } from 'zod';

/**
 * The real place behind a city (OpenStreetMap imports): what the 3D view draws besides the assets.
 * Coordinates are `[lon, lat]` (WGS 84) in the file; a city with a geography gives its asset and
 * cohort positions as `[lon, lat]` too, and validation projects them all to metres about `origin`
 * (x east, y north), the frame the simulation, the scenarios and the view work in.
 */
export interface Geography {
  /** `[lon, lat]` of the local frame's origin (the extract's centre). */
  readonly origin: readonly [number, number];
  /** Who must be credited wherever this is shown, e.g. "© OpenStreetMap contributors". */
  readonly attribution: string;
  readonly licence: string;
  readonly source: string;
  readonly buildings: readonly Building[];
  readonly streets: readonly Street[];
  readonly districts: readonly DistrictArea[];
  /** Parks, grass and water, drawn on the ground (absent in files written before they were imported). */
  readonly areas?: readonly LandArea[] | undefined;
}

export interface LandArea {
  /** `green` (parks, grass, scrub) or `water`. */
  readonly class: 'green' | 'water';
  /** Outline, `[lon, lat]` pairs flattened. */
  readonly ring: readonly number[];
}

export interface Building {
  /** Outer ring, `[lon, lat]` pairs flattened, not repeating the first point. */
  readonly ring: readonly number[];
  /** Height in metres (tagged height, else levels × 3.2 m). */
  readonly height: number;
  /** The cohort whose people live here (outage shading), when any. */
  readonly cohort?: string | undefined;
}

export interface Street {
  /** `primary`, `residential`, `footway`, `tram`, `rail`, … */
  readonly class: string;
  /** `[lon, lat]` pairs flattened. */
  readonly path: readonly number[];
}

export interface DistrictArea {
  readonly id: string;
  readonly name: string;
  /** Outline, `[lon, lat]` pairs flattened. */
  readonly ring: readonly number[];
}

const finite = z.number().finite();
const lonLatPairs = (min: number) =>
  z
    .array(finite)
    .min(min * 2, `needs at least ${min} [lon, lat] points`)
    .refine((a) => a.length % 2 === 0, 'must hold [lon, lat] pairs (an even count of numbers)');

export const geographySchema = z.strictObject({
  origin: z.tuple([finite.min(-180).max(180), finite.min(-90).max(90)]),
  attribution: z.string().min(1, 'must credit the data source'),
  licence: z.string().min(1),
  source: z.string(),
  buildings: z.array(z.strictObject({ ring: lonLatPairs(3), height: finite.min(0), cohort: z.string().min(1).optional() })),
  streets: z.array(z.strictObject({ class: z.string().min(1), path: lonLatPairs(2) })),
  districts: z.array(z.strictObject({ id: z.string().min(1), name: z.string(), ring: lonLatPairs(3) })),
  areas: z.array(z.strictObject({ class: z.enum(['green', 'water']), ring: lonLatPairs(3) })).optional(),
});

/** Metres per degree of latitude (WGS 84 mean); a degree of longitude is this × cos(latitude). */
export const METRES_PER_DEGREE = 111_320;

/**
 * Equirectangular projection about `origin`: x = Δlon·cos(lat₀)·111 320 m, y = Δlat·111 320 m.
 * Over a city (a few km) its error is far below a street's width, and it is its own simple inverse.
 */
export function lonLatProjector(origin: readonly [number, number]): (lon: number, lat: number) => [number, number] {
  const kx = Math.cos((origin[1] * Math.PI) / 180) * METRES_PER_DEGREE;
  return (lon, lat) => [(lon - origin[0]) * kx, (lat - origin[1]) * METRES_PER_DEGREE];
}
