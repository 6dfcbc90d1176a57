/** The `stratum` command line: `main` and the command groups. */
export { BUNDLED_PLACE } from './places-cli.ts';
export { main } from './cli.ts';
export { registerScenarioCommands } from './replay-cli.ts';
