import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { scenarioSchema } from './format.ts';

export const SCHEMA_FILE = join(dirname(fileURLToPath(import.meta.url)), 'scenario.schema.json');

/** The published JSON Schema of the scenario format, generated from the zod schema (input side). */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $id: 'https://stratum-twin.example/scenario.schema.json', title: 'Stratum Twin scenario', ...schema };
}

export function scenarioJsonSchemaText(): string {
  return `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
}

// `npx tsx scenarios/schema.ts` rewrites scenario.schema.json.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, scenarioJsonSchemaText());
  console.log(`wrote ${SCHEMA_FILE}`);
}
