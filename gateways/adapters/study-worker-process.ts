import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * A `stratum worker` as a child process, for the tests and the bench that need real worker
 * processes (killable, each with its own event loop).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly name: string;
  /** Run numbers it reported done, in order. */
  readonly runs: number[];
  log(): string;
}

/** Starts `stratum worker` and resolves once it has joined its group (rejects if it exits first or after 60 s). */
export function spawnStudyWorker(options: { brokers: string; topic: string; group: string; name: string; sessionTimeoutSeconds?: number }): Promise<WorkerProcess> {
  const args = ['bin/stratum.mjs', 'worker', '--brokers', options.brokers, '--study-topic', options.topic, '--group', options.group, '--name', options.name, '--session-timeout', String(options.sessionTimeoutSeconds ?? 6)];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  const worker: WorkerProcess = { child, name: options.name, runs: [], log: () => output };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker ${options.name} did not join its group in 60 s: ${output}`));
    }, 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      output += text;
      for (const m of text.matchAll(/run (\d+) done/g)) worker.runs.push(Number(m[1]));
      if (output.includes('worker: joined group')) {
        clearTimeout(timer);
        resolve(worker);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${options.name} exited with ${code}: ${output}`));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
