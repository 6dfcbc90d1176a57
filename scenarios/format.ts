import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ValidationError, inputCommandSchema, zodProblems, type Engine, type InputCommand } from '../engine/index.ts';

/**
 * A scenario: a timeline of inputs at virtual times (seconds from the start of the run). Hazard
 * events (heatwave, flood, storm, earthquake) expand into these plain inputs through fragility
 * curves; a scenario file may also list plain inputs directly.
 */
const eventSchema = z.intersection(z.strictObject({ at: z.number().min(0, 'must be ≥ 0 seconds') }).passthrough(), z.record(z.string(), z.unknown()));

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  events: z.array(z.record(z.string(), z.unknown())).min(1, 'a scenario needs at least one event'),
});

export interface ScenarioEvent {
  /** Seconds from the start of the run. */
  readonly at: number;
  readonly command: InputCommand;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly events: readonly ScenarioEvent[];
}

/** Validates a scenario document; errors name the source, the JSON path and the reason. */
export function parseScenario(document: unknown, source: string): Scenario {
  const parsed = scenarioSchema.safeParse(document);
  if (!parsed.success) throw new ValidationError(source, zodProblems(parsed.error));
  const problems: { path: string; reason: string }[] = [];
  const events: ScenarioEvent[] = [];
  parsed.data.events.forEach((raw, i) => {
    const at = eventSchema.safeParse(raw);
    if (!at.success) {
      problems.push(...zodProblems(at.error).map((p) => ({ path: `$.events[${i}]${p.path.slice(1)}`, reason: p.reason })));
      return;
    }
    const { at: seconds, ...rest } = raw as { at: number };
    const command = inputCommandSchema.safeParse(rest);
    if (!command.success) {
      problems.push(...zodProblems(command.error).map((p) => ({ path: `$.events[${i}]${p.path.slice(1)}`, reason: p.reason })));
      return;
    }
    events.push({ at: seconds, command: command.data });
  });
  if (problems.length > 0) throw new ValidationError(source, problems);
  return { name: parsed.data.name, description: parsed.data.description ?? '', events: [...events].sort((a, b) => a.at - b.at) };
}

/** Reads a scenario file (JSON or YAML by extension). */
export function loadScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(path, [{ path: '$', reason: `cannot read file: ${(error as Error).message}` }]);
  }
  let document: unknown;
  try {
    document = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ValidationError(path, [{ path: '$', reason: `cannot parse: ${(error as Error).message}` }]);
  }
  return parseScenario(document, path);
}

/**
 * Submits every event of a scenario to an engine, offset by `startSeconds`. All targets are checked
 * first, so a scenario with an unknown target changes nothing (it never half-runs).
 */
export function submitScenario(engine: Engine, scenario: Scenario, startSeconds = 0): number {
  const problems: { path: string; reason: string }[] = [];
  for (const [i, event] of scenario.events.entries()) {
    try {
      engine.targetsOf(event.command);
    } catch (error) {
      problems.push({ path: `$.events[${i}].target`, reason: (error as Error).message });
    }
  }
  if (problems.length > 0) throw new ValidationError(`scenario ${scenario.name}`, problems);
  for (const event of scenario.events) engine.submit(event.command, { at: startSeconds + event.at, source: `scenario:${scenario.name}` });
  return scenario.events.length;
}
