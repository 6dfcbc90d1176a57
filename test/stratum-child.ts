import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBehaviours } from '../actors/index.ts';
import { Engine, type CityModel, type JournalEntry } from '../engine/index.ts';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/stratum.mjs');

/**
 * `stratum <args>` (usually `start … --port 0`) as a child process with `env` added to this one's;
 * resolves once it printed the URL it serves (stderr: "… at http://…"), rejects if it exits first
 * or says nothing for 30 s. Its stdout is ignored.
 */
export async function startStratumChild(args: readonly string[], env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start line in 30 s: ${text}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const m = /at (http:\/\/\S+)/.exec(text);
      if (m !== null) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${text}`)));
  });
  return { child, url };
}

/** The uninterrupted run over a journal's inputs to `untilMs`: a fresh batch engine feeding each entry at its feed point. */
export async function uninterruptedHash(city: CityModel, seed: number, entries: readonly JournalEntry[], untilMs: number): Promise<string> {
  const engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed, driver: 'direct' });
  for (const e of entries) {
    const at = e.feedAfter ?? e.time - 1;
    if (at > untilMs) break;
    if (at > engine.kernel.settledUntil) await engine.runUntil(at);
    engine.replay(e);
  }
  await engine.runUntil(untilMs);
  const hash = engine.stream.stateHash();
  await engine.stop();
  return hash;
}
