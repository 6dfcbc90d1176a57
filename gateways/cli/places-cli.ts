import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { importOsm, isOsmPath, parseCity, readOsmFile, SYNTH_LAYERS, type SynthLayer } from '../../engine/index.ts';

type Io = { out: (s: string) => void; err: (s: string) => void };

/** The bundled extract `npm start` opens when given neither `--city` nor `--assets` (© OpenStreetMap contributors, ODbL). */
export const BUNDLED_PLACE = fileURLToPath(new URL('../../engine/places/data/helsinki-centre.osm.pbf', import.meta.url));

/** `--synthesize power,water,telecom` (or `none`). */
function synthLayers(value: string): Set<SynthLayer> {
  if (value === 'none') return new Set();
  const names = value.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(SYNTH_LAYERS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(`--synthesize takes a comma-separated list of ${SYNTH_LAYERS.join(', ')} or "none" (got "${value}")`);
  }
  return new Set(names as SynthLayer[]);
}

/** The `stratum import` parent: found when another module made it, else created here. */
export function importParent(program: Command): Command {
  return program.commands.find((c) => c.name() === 'import') ?? program.command('import').description('Import a city from another format');
}

/** `stratum import osm`: an OpenStreetMap extract (PBF or XML) → a city file. */
export function registerImportOsm(importCommand: Command, io: Io): void {
  importCommand
    .command('osm')
    .description('Import an OpenStreetMap extract (.osm.pbf or .osm XML) into a city file: streets, tracks, buildings, tagged infrastructure, and synthesised networks (see README "Real places")')
    .requiredOption('--in <file>', 'the extract (.osm.pbf, .pbf or .osm)', (value: string) => {
      if (!isOsmPath(value)) throw new InvalidArgumentError(`--in must name an .osm.pbf, .pbf or .osm file (got "${value}")`);
      return value;
    })
    .requiredOption('--out <file>', 'the city file to write (JSON)')
    .option('--synthesize <layers>', `layers to synthesise where OSM maps none: ${SYNTH_LAYERS.join(',')} or none`, synthLayers, new Set(SYNTH_LAYERS))
    .option('--name <name>', 'the city name (default: osm-<file name>)')
    .action((opts: { in: string; out: string; synthesize: Set<SynthLayer>; name?: string }) => {
      const started = performance.now();
      const data = readOsmFile(opts.in);
      const { document, report } = importOsm(data, { source: opts.in.split('/').pop() ?? opts.in, synthesize: opts.synthesize, ...(opts.name === undefined ? {} : { name: opts.name }) });
      // What we write must load: validate before writing, so a bad import never leaves a file.
      const city = parseCity(document, opts.out);
      writeFileSync(opts.out, JSON.stringify(document));
      const seconds = (performance.now() - started) / 1000;
      io.err(
        `wrote ${opts.out}: ${city.assets.length} assets, ${city.links.length} links, ${city.dependencies.length} dependencies, ${city.cohorts.length} cohorts (${report.population} residents), ` +
          `${report.buildings} buildings (${report.footprints} footprints), ${report.districts} districts (${report.districtSource}) from ${report.osm.nodes + report.osm.ways + report.osm.relations} OSM elements in ${seconds.toFixed(2)} s\n` +
          `${document.geography.attribution}; ${document.geography.licence}\n`,
      );
      io.out(`${JSON.stringify(report)}\n`);
    });
}

/** Adds `stratum import osm` (and the `import` parent if no other module made it). */
export function registerPlacesCommands(program: Command, io: Io): void {
  registerImportOsm(importParent(program), io);
}
