import { createBehaviours } from '../actors/index.ts';
import { Engine, type CityModel, type JournalEntry } from '../engine/index.ts';
import { feedPoints } from '../scenarios/index.ts';

/**
 * The state hash of a fresh engine (direct driver, default behaviours, nothing attached) fed
 * `entries` at their feed points and run to `untilMs`: what a replay of a journal gives. Tests only.
 */
export async function replayedStateHash(city: CityModel, seed: number, entries: readonly JournalEntry[], untilMs: number): Promise<string> {
  const replay = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed, driver: 'direct' });
  try {
    const feeds = feedPoints(entries);
    for (let i = 0; i < entries.length; i++) {
      await replay.runUntil(feeds[i]!);
      replay.replay(entries[i]!);
    }
    await replay.runUntil(untilMs);
    return replay.stream.stateHash();
  } finally {
    await replay.stop();
  }
}
