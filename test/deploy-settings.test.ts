import { describe, expect, it } from 'vitest';
import { main } from '../gateways/cli/index.ts';
import { composeSettings, dockerfileRuntime, kubernetesSettings, repositoryDeploySettings, unreadVariables, variablesReadByCode } from './deploy-settings.ts';

async function helpOf(subcommand: string): Promise<string> {
  let out = '';
  const code = await main(['node', 'stratum', subcommand, '--help'], { out: (s) => void (out += s), err: (s) => void (out += s) });
  expect(code, `stratum ${subcommand} --help`).toBe(0);
  return out;
}

/** Flags of a `node bin/stratum.mjs <command> …` line that the command's --help does not list. */
async function unknownFlags(argv: readonly string[]): Promise<string[]> {
  const [, , subcommand, ...rest] = argv;
  if (subcommand === undefined) return ['(no subcommand)'];
  const help = await helpOf(subcommand);
  if (!help.includes(`Usage: stratum ${subcommand}`)) return [`${subcommand} (not a stratum command)`];
  return rest.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!).filter((flag) => !new RegExp(`(^|[\\s,])${flag}([\\s,]|$)`, 'm').test(help));
}

describe('deployment files use only settings the code reads', () => {
  const settings = repositoryDeploySettings();
  const read = variablesReadByCode();

  it('finds the settings it checks (Dockerfile ENV and CMD, compose, every manifest)', () => {
    const names = new Set(settings.env.map((s) => s.name));
    for (const name of ['HOST', 'PORT', 'STRATUM_ADAPTERS', 'STRATUM_KAFKA_BROKERS', 'STRATUM_PG_URL', 'STRATUM_ADMIN_TOKEN']) expect(names, name).toContain(name);
    expect(settings.commands.map((c) => c.where)).toEqual(expect.arrayContaining(['Dockerfile CMD', expect.stringMatching(/^infrastructure\/k8s\/engine-deployment.yaml/), expect.stringMatching(/^infrastructure\/k8s\/worker-deployment.yaml/)]));
  });

  it('every environment variable set in the Dockerfile, compose and Kubernetes is read by the code', () => {
    expect(unreadVariables(settings.env, read)).toEqual([]);
  });

  it('every command line is `node bin/stratum.mjs <command>` with flags that command accepts', async () => {
    const problems: string[] = [];
    for (const { argv, where } of settings.commands) {
      if (argv[0] !== 'node' || argv[1] !== 'bin/stratum.mjs') problems.push(`${where}: not node bin/stratum.mjs (${argv.join(' ')})`);
      else for (const flag of await unknownFlags(argv)) problems.push(`${where}: ${flag}`);
    }
    expect(problems).toEqual([]);
  });

  it('the adapters are turned on wherever service URLs are given (they are ignored without STRATUM_ADAPTERS=1)', () => {
    const compose = settings.env.filter((s) => s.where.startsWith('infrastructure/docker-compose.yml services.engine'));
    expect(compose.map((s) => s.name)).toEqual(expect.arrayContaining(['STRATUM_ADAPTERS', 'STRATUM_KAFKA_BROKERS']));
    const k8s = settings.env.filter((s) => s.where.startsWith('infrastructure/k8s/configmap.yaml'));
    expect(k8s.map((s) => s.name)).toEqual(expect.arrayContaining(['STRATUM_ADAPTERS', 'STRATUM_KAFKA_BROKERS', 'HOST']));
  });

  it('reports a setting no code reads and a flag no command has, naming where they are set', async () => {
    // Like the role and engine-URL variables and `start --role`, which the manifests held while no code read them
    // (names here that no code will ever read, so the check stays valid once roles exist).
    const k8s = kubernetesSettings(
      ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: c}', 'data:', '  STRATUM_NOT_A_SETTING_URL: "http://e:8080"', '---', 'apiVersion: apps/v1', 'kind: Deployment', 'metadata: {name: g}', 'spec:', '  template:', '    spec:', '      containers:', '        - name: gateway', '          command: ["node", "bin/stratum.mjs", "start", "--not-a-flag", "gateway"]', '          env: [{name: STRATUM_NOT_A_SETTING_ROLE, value: gateway}]'].join('\n'),
      'old.yaml',
    );
    expect(unreadVariables(k8s.env, read)).toEqual(['STRATUM_NOT_A_SETTING_URL (old.yaml ConfigMap/c)', 'STRATUM_NOT_A_SETTING_ROLE (old.yaml Deployment/g container gateway env)']);
    expect(await unknownFlags(k8s.commands[0]!.argv)).toEqual(['--not-a-flag']);
    const compose = composeSettings('services:\n  kafka: {image: k, environment: {KAFKA_X: "1"}}\n  engine: {build: {context: ..}, environment: [NOT_READ_ANYWHERE=1]}\n', 'c.yml');
    expect(unreadVariables(compose.env, read)).toEqual(['NOT_READ_ANYWHERE (c.yml services.engine.environment)']);
  });

  it('reads the runtime stage of a Dockerfile only, with continued ENV lines', () => {
    const runtime = dockerfileRuntime('FROM a AS build\nENV BUILD_ONLY=1\nFROM b\n# comment\nENV HOST=0.0.0.0 \\\n    PORT=8080\nCMD ["node", "bin/stratum.mjs", "start"]\n');
    expect(runtime).toEqual({ env: { HOST: '0.0.0.0', PORT: '8080' }, cmd: ['node', 'bin/stratum.mjs', 'start'] });
  });
});
