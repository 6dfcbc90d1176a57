import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/**
 * What the deployment files (Dockerfile, compose, Kubernetes) ask of the code: environment
 * variables and `stratum` command lines. test/deploy-settings.test.ts checks that the code reads
 * every one; test/container.test.ts runs the Dockerfile's CMD with its ENV.
 */

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Setting {
  readonly name: string;
  /** Where it is set: file and object path. */
  readonly where: string;
}

export interface CommandLine {
  readonly argv: readonly string[];
  readonly where: string;
}

export interface DeploySettings {
  readonly env: Setting[];
  readonly commands: CommandLine[];
}

/** The runtime stage's ENV (`ENV A=1 B=2`, continued lines) and CMD (JSON form) of a Dockerfile. */
export function dockerfileRuntime(text: string): { env: Record<string, string>; cmd: string[] } {
  // Join continued lines, drop comments, keep the last stage only.
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).filter((l) => !/^\s*#/.test(l));
  const lastFrom = lines.map((l, i) => (/^\s*FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0).pop() ?? 0;
  const env: Record<string, string> = {};
  let cmd: string[] | undefined;
  for (const line of lines.slice(lastFrom)) {
    const envMatch = /^\s*ENV\s+(.*)$/i.exec(line);
    if (envMatch) {
      for (const pair of envMatch[1]!.trim().split(/\s+/)) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new Error(`Dockerfile: ENV "${pair}" is not NAME=value`);
        env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, '$1');
      }
    }
    const cmdMatch = /^\s*CMD\s+(\[.*\])\s*$/i.exec(line);
    if (cmdMatch) cmd = JSON.parse(cmdMatch[1]!) as string[];
  }
  if (cmd === undefined) throw new Error('Dockerfile: no CMD in JSON form in the last stage');
  return { env, cmd };
}

function isStratum(argv: readonly string[]): boolean {
  return argv[0] === 'node' && argv[1] === 'bin/stratum.mjs';
}

/** Our services in a compose file: the ones built from the repository's Dockerfile. */
export function composeSettings(text: string, file: string): DeploySettings {
  const doc = parseAllDocuments(text)[0]!.toJS() as { services: Record<string, { build?: unknown; environment?: Record<string, unknown> | string[]; command?: string[] }> };
  const env: Setting[] = [];
  const commands: CommandLine[] = [];
  for (const [name, service] of Object.entries(doc.services)) {
    if (service.build === undefined) continue; // third-party images (Kafka, TimescaleDB, Redis)
    const environment = service.environment ?? {};
    const names = Array.isArray(environment) ? environment.map((e) => e.split('=')[0]!) : Object.keys(environment);
    for (const n of names) env.push({ name: n, where: `${file} services.${name}.environment` });
    if (service.command !== undefined) commands.push({ argv: service.command, where: `${file} services.${name}.command` });
  }
  return { env, commands };
}

interface K8sContainer {
  name: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string }>;
}

/** ConfigMap and Secret keys (the pods take them with envFrom) and each container's env and command. */
export function kubernetesSettings(text: string, file: string): DeploySettings {
  const env: Setting[] = [];
  const commands: CommandLine[] = [];
  for (const document of parseAllDocuments(text)) {
    const doc = document.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, unknown>; stringData?: Record<string, unknown>; spec?: { template?: { spec?: { containers?: K8sContainer[] } } } } | null;
    if (doc === null || doc === undefined) continue;
    const name = `${doc.kind}/${doc.metadata?.name}`;
    if (doc.kind === 'ConfigMap' || doc.kind === 'Secret') {
      for (const key of Object.keys({ ...doc.data, ...doc.stringData })) env.push({ name: key, where: `${file} ${name}` });
    }
    for (const container of doc.spec?.template?.spec?.containers ?? []) {
      for (const e of container.env ?? []) env.push({ name: e.name, where: `${file} ${name} container ${container.name} env` });
      if (container.command !== undefined) commands.push({ argv: [...container.command, ...(container.args ?? [])], where: `${file} ${name} container ${container.name} command` });
    }
  }
  return { env, commands };
}

/** Every deployment setting in the repository's Dockerfile, compose file and Kubernetes manifests. */
export function repositoryDeploySettings(root = ROOT): DeploySettings {
  const env: Setting[] = [];
  const commands: CommandLine[] = [];
  const docker = dockerfileRuntime(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  for (const name of Object.keys(docker.env)) env.push({ name, where: 'Dockerfile ENV' });
  commands.push({ argv: docker.cmd, where: 'Dockerfile CMD' });
  const compose = composeSettings(readFileSync(join(root, 'infrastructure/docker-compose.yml'), 'utf8'), 'infrastructure/docker-compose.yml');
  env.push(...compose.env);
  commands.push(...compose.commands);
  const k8sDir = join(root, 'infrastructure/k8s');
  for (const file of readdirSync(k8sDir).filter((f) => f.endsWith('.yaml')).sort()) {
    const k8s = kubernetesSettings(readFileSync(join(k8sDir, file), 'utf8'), `infrastructure/k8s/${file}`);
    env.push(...k8s.env);
    commands.push(...k8s.commands);
  }
  return { env, commands: commands.filter((c) => isStratum(c.argv)).concat(commands.filter((c) => !isStratum(c.argv))) };
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mjs)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) out.push(path);
  }
  return out;
}

/**
 * Environment variables the running code reads: `env['NAME']` or `env.NAME` in the sources the
 * server and the CLI run (tests and their helpers excluded).
 */
export function variablesReadByCode(root = ROOT): Set<string> {
  const names = new Set<string>();
  const dirs = ['bin', 'engine', 'actors', 'scenarios', 'gateways'].map((d) => join(root, d));
  for (const file of dirs.flatMap(sourceFiles)) {
    if (file.endsWith('testing.ts')) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/env\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g)) names.add(m[1]!);
    for (const m of text.matchAll(/env\.([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]!);
  }
  return names;
}

/** The settings no code reads, each with where it is set. */
export function unreadVariables(settings: readonly Setting[], read: ReadonlySet<string>): string[] {
  return settings.filter((s) => !read.has(s.name)).map((s) => `${s.name} (${s.where})`);
}
