import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../engine/index.ts';
import { loadScenarioFile, parseScenarioText, type Scenario } from './format.ts';

/** The folder of library scenarios (YAML files named after the scenario). */
export const LIBRARY_DIR = join(dirname(fileURLToPath(import.meta.url)), 'library');

export interface LibraryEntry {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** Event families in the scenario (`hazard`, `cyber`, `plain`), e.g. `hazard+cyber`. */
  readonly kind: string;
  readonly tags: readonly string[];
  readonly durationHours: number | null;
}

const HAZARDS = new Set(['heatwave', 'flood', 'storm', 'earthquake']);
const CYBER = new Set(['scada-compromise', 'ddos', 'ransomware', 'cyber']);

function kindOf(scenario: Scenario): string {
  const kinds = new Set<string>(scenario.events.map((e) => (HAZARDS.has(e.type) ? 'hazard' : CYBER.has(e.type) ? 'cyber' : 'plain')));
  return ['hazard', 'cyber', 'plain'].filter((k) => kinds.has(k)).join('+');
}

/** Every library scenario, by name. */
export function listLibrary(dir = LIBRARY_DIR): LibraryEntry[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f))
    .sort()
    .map((f) => {
      const s = loadScenarioFile(join(dir, f));
      return { name: s.name, title: s.title, description: s.description, kind: kindOf(s), tags: s.tags, durationHours: s.durationHours ?? null };
    });
}

/** Loads a library scenario by name; ValidationError (naming the known ones) when unknown. */
export function loadLibraryScenario(name: string, dir = LIBRARY_DIR): Scenario {
  if (/^[a-z0-9][a-z0-9-]*$/i.test(name)) {
    for (const ext of ['yaml', 'yml', 'json']) {
      const path = join(dir, `${name}.${ext}`);
      if (existsSync(path)) return parseScenarioText(readFileSync(path, 'utf8'), `library:${name} (${path})`);
    }
  }
  const known = listLibrary(dir).map((e) => e.name);
  throw new ValidationError(`scenario ${JSON.stringify(name)}`, [{ path: '$', reason: `no library scenario of that name (library: ${known.join(', ')})` }]);
}

/**
 * A scenario by library name or by file path: a path (has a slash or an extension) is read as a
 * file, anything else is looked up in the library. For `stratum simulate --scenario NAME|FILE`.
 *
 * @example
 * submitScenario(engine, resolveScenario('river-flood'));
 * submitScenario(engine, resolveScenario('./my-drill.yaml'));
 */
export function resolveScenario(nameOrPath: string): Scenario {
  if (/[\\/]/.test(nameOrPath) || /\.(ya?ml|json)$/i.test(nameOrPath)) return loadScenarioFile(nameOrPath);
  return loadLibraryScenario(nameOrPath);
}
