/** Real places: OpenStreetMap extracts (PBF or XML) → city documents with their geography. */
export { importOsm, importOsmFile } from './osm-import.ts';
export type { ImportOptions, ImportReport, OsmCityDocument } from './osm-import.ts';
export { readOsmFile, readOsmPbf, readOsmXml, isOsmPath } from './osm-read.ts';
export type { OsmData, OsmWay, OsmRelation, OsmMember } from './osm-read.ts';
export { MAPPING, RULES, SYNTH_LAYERS } from './rules.ts';
export type { SynthLayer } from './rules.ts';
