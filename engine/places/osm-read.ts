import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { parse as parsePrimitiveBlock } from 'osm-pbf-parser-node';
import sax from 'sax';
import { ValidationError } from '../errors.ts';

/**
 * OpenStreetMap data as the importer needs it: node coordinates, tags where present, way node
 * lists and relation members. Read in one synchronous pass, so `loadCityFile` can accept an
 * extract directly (`stratum start --city extract.osm.pbf`).
 */
export interface OsmData {
  /** Node id → index into `lon`/`lat`. */
  readonly nodeIndex: Map<number, number>;
  readonly nodeIds: number[];
  readonly lon: number[];
  readonly lat: number[];
  /** Tags of the nodes that have any, by node id. */
  readonly nodeTags: Map<number, Record<string, string>>;
  readonly ways: OsmWay[];
  readonly relations: OsmRelation[];
  /** `[minLon, minLat, maxLon, maxLat]` from the file header when it gives one. */
  headerBbox: [number, number, number, number] | null;
}

export interface OsmWay {
  readonly id: number;
  readonly refs: number[];
  readonly tags: Record<string, string>;
}

export interface OsmMember {
  readonly type: 'node' | 'way' | 'relation';
  readonly ref: number;
  readonly role: string;
}

export interface OsmRelation {
  readonly id: number;
  readonly members: OsmMember[];
  readonly tags: Record<string, string>;
}

function emptyData(): OsmData {
  return { nodeIndex: new Map(), nodeIds: [], lon: [], lat: [], nodeTags: new Map(), ways: [], relations: [], headerBbox: null };
}

function addNode(data: OsmData, id: number, lon: number, lat: number, tags: Record<string, string> | undefined): void {
  data.nodeIndex.set(id, data.nodeIds.length);
  data.nodeIds.push(id);
  data.lon.push(lon);
  data.lat.push(lat);
  if (tags !== undefined && Object.keys(tags).length > 0) data.nodeTags.set(id, tags);
}

/** Reads an `.osm.pbf` or `.osm` (XML) file, chosen by its name. @throws ValidationError naming the file and the place. */
export function readOsmFile(path: string): OsmData {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ValidationError(path, [{ path: '$', reason: `cannot read file: ${(error as Error).message}` }]);
  }
  return isPbfPath(path) ? readOsmPbf(bytes, path) : readOsmXml(bytes.toString('utf8'), path);
}

export function isPbfPath(path: string): boolean {
  return /\.pbf$/i.test(path);
}

/** True for the file names the OSM importer reads (`.osm.pbf`, `.pbf`, `.osm`). */
export function isOsmPath(path: string): boolean {
  return /\.(osm\.pbf|pbf|osm)$/i.test(path);
}

// ---------------------------------------------------------------------------------------------
// PBF: the file is a sequence of (4-byte length, BlobHeader, Blob). The framing is three protobuf
// fields each, read here so a truncated or corrupt file is reported with its byte offset; the
// blocks themselves (string tables, dense nodes, delta coding) are decoded by osm-pbf-parser-node.
// ---------------------------------------------------------------------------------------------

interface Field {
  readonly tag: number;
  readonly value: number | Buffer;
}

/** Decodes the top-level fields of a small protobuf message (varints and length-delimited only). */
function fields(buf: Buffer, fail: (reason: string) => never): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length) fail('truncated varint');
      const byte = buf[pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
      if (shift > 63) fail('varint too long');
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const tag = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) out.push({ tag, value: varint() });
    else if (wire === 2) {
      const length = varint();
      if (pos + length > buf.length) fail(`field ${tag} runs past the end of its message`);
      out.push({ tag, value: buf.subarray(pos, pos + length) });
      pos += length;
    } else fail(`unexpected protobuf wire type ${wire}`);
  }
  return out;
}

/** Largest blob the PBF format allows (32 MiB); a bigger length means a corrupt file. */
const MAX_BLOB_BYTES = 32 * 1024 * 1024;

export function readOsmPbf(bytes: Buffer, source: string): OsmData {
  const data = emptyData();
  let offset = 0;
  let sawHeader = false;
  while (offset < bytes.length) {
    const at = offset;
    const fail = (reason: string): never => {
      throw new ValidationError(source, [{ path: `byte ${at}`, reason }]);
    };
    if (offset + 4 > bytes.length) fail('truncated blob length');
    const headerLength = bytes.readUInt32BE(offset);
    offset += 4;
    if (headerLength > 64 * 1024 || offset + headerLength > bytes.length) fail(`blob header of ${headerLength} bytes runs past the end (not an OSM PBF file, or truncated)`);
    let type = '';
    let dataSize = -1;
    for (const f of fields(bytes.subarray(offset, offset + headerLength), fail)) {
      if (f.tag === 1 && Buffer.isBuffer(f.value)) type = f.value.toString('utf8');
      if (f.tag === 3 && typeof f.value === 'number') dataSize = f.value;
    }
    offset += headerLength;
    if (type !== 'OSMHeader' && type !== 'OSMData') fail(`unknown blob type "${type}" (not an OSM PBF file?)`);
    if (dataSize < 0 || dataSize > MAX_BLOB_BYTES || offset + dataSize > bytes.length) fail(`blob of ${dataSize} bytes runs past the end of the file (truncated?)`);
    let raw: Buffer | null = null;
    let zlib: Buffer | null = null;
    for (const f of fields(bytes.subarray(offset, offset + dataSize), fail)) {
      if (f.tag === 1 && Buffer.isBuffer(f.value)) raw = f.value;
      if (f.tag === 3 && Buffer.isBuffer(f.value)) zlib = f.value;
    }
    offset += dataSize;
    let block: Buffer;
    if (raw !== null) block = raw;
    else if (zlib !== null) {
      try {
        block = inflateSync(zlib);
      } catch (error) {
        return fail(`cannot inflate blob: ${(error as Error).message}`);
      }
    } else return fail('blob compressed with a method other than zlib (lzma, lz4, zstd are not supported)');
    if (type === 'OSMHeader') {
      sawHeader = true;
      data.headerBbox = headerBbox(block, fail);
      continue;
    }
    if (!sawHeader) fail('OSMData before the OSMHeader block');
    let items: unknown[];
    try {
      items = parsePrimitiveBlock(block, { withTags: true, withInfo: false });
    } catch (error) {
      return fail(`cannot decode data block: ${(error as Error).message}`);
    }
    for (const item of items as Array<{ type: string; id: number; lat?: number; lon?: number; tags?: Record<string, string>; refs?: number[]; members?: OsmMember[] }>) {
      if (item.type === 'node') addNode(data, item.id, item.lon!, item.lat!, item.tags);
      else if (item.type === 'way') data.ways.push({ id: item.id, refs: item.refs ?? [], tags: item.tags ?? {} });
      else if (item.type === 'relation') data.relations.push({ id: item.id, members: item.members ?? [], tags: item.tags ?? {} });
    }
  }
  if (!sawHeader) throw new ValidationError(source, [{ path: 'byte 0', reason: 'no OSMHeader block (empty file?)' }]);
  return data;
}

/** HeaderBlock field 1 is the HeaderBBox (left, right, top, bottom in nanodegrees, zigzag varints). */
function headerBbox(block: Buffer, fail: (reason: string) => never): [number, number, number, number] | null {
  const bbox = fields(block, fail).find((f) => f.tag === 1);
  if (bbox === undefined || !Buffer.isBuffer(bbox.value)) return null;
  const v: Record<number, number> = {};
  for (const f of fields(bbox.value, fail)) {
    if (typeof f.value === 'number') v[f.tag] = (f.value % 2 === 0 ? f.value / 2 : -(f.value + 1) / 2) * 1e-9;
  }
  if (v[1] === undefined || v[2] === undefined || v[3] === undefined || v[4] === undefined) return null;
  return [v[1], v[4], v[2], v[3]];
}

// ---------------------------------------------------------------------------------------------
// XML (.osm): sax in strict mode, synchronously over the whole text.
// ---------------------------------------------------------------------------------------------

export function readOsmXml(text: string, source: string): OsmData {
  const data = emptyData();
  const parser = sax.parser(true, { position: true });
  let current: { kind: 'node'; id: number; lon: number; lat: number; tags: Record<string, string> } | { kind: 'way'; way: OsmWay } | { kind: 'relation'; relation: OsmRelation } | null = null;
  let sawOsm = false;
  const fail = (reason: string): never => {
    throw new ValidationError(source, [{ path: `line ${parser.line + 1}`, reason }]);
  };
  const num = (attrs: Record<string, string>, name: string, tag: string): number => {
    const value = Number(attrs[name]);
    if (attrs[name] === undefined || !Number.isFinite(value)) fail(`<${tag}> needs a numeric ${name} (got ${JSON.stringify(attrs[name] ?? null)})`);
    return value;
  };
  parser.onerror = (error: Error) => fail(`not well-formed XML: ${error.message.split('\n')[0] ?? ''}`);
  parser.onopentag = (tag: sax.Tag) => {
    const attrs = tag.attributes;
    switch (tag.name) {
      case 'osm':
        sawOsm = true;
        break;
      case 'bounds':
        data.headerBbox = [num(attrs, 'minlon', 'bounds'), num(attrs, 'minlat', 'bounds'), num(attrs, 'maxlon', 'bounds'), num(attrs, 'maxlat', 'bounds')];
        break;
      case 'node':
        current = { kind: 'node', id: num(attrs, 'id', 'node'), lon: num(attrs, 'lon', 'node'), lat: num(attrs, 'lat', 'node'), tags: {} };
        break;
      case 'way':
        current = { kind: 'way', way: { id: num(attrs, 'id', 'way'), refs: [], tags: {} } };
        break;
      case 'relation':
        current = { kind: 'relation', relation: { id: num(attrs, 'id', 'relation'), members: [], tags: {} } };
        break;
      case 'tag': {
        if (current === null) fail('<tag> outside a node, way or relation');
        const tags = current!.kind === 'node' ? current!.tags : current!.kind === 'way' ? current!.way.tags : current!.relation.tags;
        if (attrs['k'] === undefined || attrs['v'] === undefined) fail('<tag> needs k and v');
        tags[attrs['k']!] = attrs['v']!;
        break;
      }
      case 'nd':
        if (current?.kind !== 'way') fail('<nd> outside a way');
        (current as { way: OsmWay }).way.refs.push(num(attrs, 'ref', 'nd'));
        break;
      case 'member': {
        if (current?.kind !== 'relation') fail('<member> outside a relation');
        const type = attrs['type'];
        if (type !== 'node' && type !== 'way' && type !== 'relation') fail(`<member> type must be node, way or relation (got ${JSON.stringify(type ?? null)})`);
        (current as { relation: OsmRelation }).relation.members.push({ type: type as OsmMember['type'], ref: num(attrs, 'ref', 'member'), role: attrs['role'] ?? '' });
        break;
      }
      default:
        break;
    }
  };
  parser.onclosetag = (name: string) => {
    if (current === null) return;
    if (name === 'node' && current.kind === 'node') addNode(data, current.id, current.lon, current.lat, current.tags);
    else if (name === 'way' && current.kind === 'way') data.ways.push(current.way);
    else if (name === 'relation' && current.kind === 'relation') data.relations.push(current.relation);
    else return;
    current = null;
  };
  parser.write(text).close();
  if (!sawOsm) fail('no <osm> root element (not an OSM XML file)');
  return data;
}
