import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, generateCity, ManualWallClock, parseCity, Status } from '../../engine/index.ts';
import { applyFrame, createViewState, decodeFrame, FrameKind, type Frame } from '../protocol.ts';
import { EXPEDITE_BURST, EXPEDITED_INTERVAL_MS, StreamHub, Subscriber, type FrameSink } from './streaming.ts';

/** A sink that records frames and can be switched to "backed up". */
class TestSink implements FrameSink {
  blocked = false;
  readonly frames: Frame[] = [];
  backedUp(): boolean {
    return this.blocked;
  }
  send(bytes: Uint8Array): void {
    this.frames.push(decodeFrame(bytes));
  }
}

describe('StreamHub (direct driver, frames cut by hand)', () => {
  let engine: Engine;
  let hub: StreamHub;
  let t = 0;

  const step = async (command?: Parameters<Engine['submit']>[0]): Promise<void> => {
    if (command !== undefined) engine.submit(command, { source: 'test' });
    t += 60_000;
    await engine.runUntil(t);
    for (const view of hub.views.values()) view.cutNow();
  };

  beforeAll(async () => {
    const city = parseCity(generateCity({ assets: 400, seed: 9 }), 'generated');
    engine = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 9, driver: 'direct' });
    hub = new StreamHub(engine, { ringFrames: 4 });
  });
  afterAll(async () => {
    hub.close();
    await engine.stop();
  });

  it('encodes once per view, merges frames for a backed-up subscriber and falls back to a snapshot past the ring', async () => {
    const fast = new Subscriber('fast', new TestSink());
    const slow = new Subscriber('slow', new TestSink());
    const fastSink = fast.sink as TestSink;
    const slowSink = slow.sink as TestSink;
    hub.subscribe(fast, {});
    hub.subscribe(slow, {});
    hub.prime(fast);
    hub.prime(slow);
    expect(hub.views.size).toBe(1);
    expect(fastSink.frames[0]!.kind).toBe(FrameKind.Snapshot);

    slowSink.blocked = true;
    const ids = engine.index.ids;
    await step({ type: 'fail', target: ids[10]! });
    await step({ type: 'fail', target: ids[20]! });
    await step({ type: 'repair', target: ids[10]! });
    expect(slowSink.frames.length).toBe(1);
    expect(slow.merged).toBeGreaterThan(0);

    slowSink.blocked = false;
    hub.drained(slow);
    const merged = slowSink.frames[1]!;
    expect(merged.kind).toBe(FrameKind.Delta);
    expect(merged.since).toBe(slowSink.frames[0]!.frame);
    expect(merged.frame).toBe(fastSink.frames[fastSink.frames.length - 1]!.frame);

    // Both end in the same state, equal to the engine's.
    const n = engine.index.assetCount + engine.index.cohortCount;
    const a = createViewState(n);
    const b = createViewState(n);
    for (const f of fastSink.frames) expect(applyFrame(a, f)).toBe(true);
    for (const f of slowSink.frames) expect(applyFrame(b, f)).toBe(true);
    expect(b.status).toEqual(a.status);
    expect(b.load).toEqual(a.load);
    for (let x = 0; x < n; x++) expect(a.status[x]).toBe(engine.kernel.view(x).status);
    expect(a.status[20]).toBe(Status.Failed);

    // Behind by more than the ring holds → a snapshot.
    slowSink.blocked = true;
    for (let k = 0; k < 6; k++) await step({ type: 'fail', target: ids[30 + k]! });
    slowSink.blocked = false;
    hub.drained(slow);
    const last = slowSink.frames[slowSink.frames.length - 1]!;
    expect(last.kind).toBe(FrameKind.Snapshot);
    expect(last.actors.length).toBe(n);
  });

  it('sends the frame after an input at once, a few times in a row, then no sooner than the expedited floor', async () => {
    // No refill, and a wall clock that moves only when the test says: nothing depends on how fast
    // this machine runs the engine.
    const clock = new ManualWallClock();
    const hub = new StreamHub(engine, { expeditePerSecond: 0, clock });
    const viewer = new Subscriber('rate', new TestSink());
    const sink = viewer.sink as TestSink;
    // A slow view (1 Hz): without inputs, a second frame within the second would wait for its timer.
    hub.subscribe(viewer, { maxRateHz: 1 });
    hub.prime(viewer);
    const ids = engine.index.ids;
    const before = sink.frames.length;
    const applyInput = async (k: number): Promise<void> => {
      engine.submit({ type: 'fail', target: ids[100 + k]! }, { source: 'test' });
      hub.expedite();
      t += 1000;
      await engine.runUntil(t);
      hub.flush();
    };
    // The first frame of the view is on time anyway (nothing was sent before): no token spent.
    await applyInput(0);
    expect(sink.frames.length - before).toBe(1);
    // The next ones come sooner than the view's rate allows: each spends a token, each goes out at flush.
    for (let k = 1; k <= EXPEDITE_BURST; k++) await applyInput(k);
    expect(sink.frames.length - before).toBe(1 + EXPEDITE_BURST);
    // Tokens spent: the next input's frame waits for a timer (the expedited floor) instead.
    await applyInput(EXPEDITE_BURST + 1);
    expect(sink.frames.length - before).toBe(1 + EXPEDITE_BURST);
    await clock.advance(EXPEDITED_INTERVAL_MS - 1);
    expect(sink.frames.length - before).toBe(1 + EXPEDITE_BURST);
    await clock.advance(1);
    expect(sink.frames.length - before).toBe(2 + EXPEDITE_BURST);
    hub.close();
  });
  it("cuts an input's early frame when the input's instant settles, not at acceptance or at the end of the advance", async () => {
    const clock = new ManualWallClock();
    const hub = new StreamHub(engine, { clock });
    const viewer = new Subscriber('settle', new TestSink());
    const sink = viewer.sink as TestSink;
    hub.subscribe(viewer, { maxRateHz: 1 });
    hub.prime(viewer);
    hub.flush();
    const ids = engine.index.ids;
    const target = engine.index.indexOf(ids[200]!)!;
    const shown = (): boolean => sink.frames.some((f) => f.kind !== FrameKind.Snapshot && f.status[f.actors.indexOf(target)] === Status.Failed);
    // Background work first: a change one virtual minute from now arms the view's 1 Hz timer.
    engine.submit({ type: 'fail', target: ids[201]! }, { source: 'test', at: (t + 60_000) / 1000 });
    const entry = engine.submit({ type: 'fail', target: ids[200]! }, { source: 'test', at: (t + 120_000) / 1000 })!;
    hub.expedite(entry.time);
    // An advance that stops short of the input's instant: its frame (the view's first, on time) does
    // not spend the input's early frame.
    t += 90_000;
    await engine.runUntil(t);
    hub.flush();
    expect(shown()).toBe(false);
    const before = sink.frames.length;
    // The advance that reaches it sends the frame between instants, before the advance returns (no
    // flush, no wall time passing, though the 1 Hz view just had a frame), showing the failed asset.
    t += 3_600_000;
    await engine.runUntil(t);
    expect(shown()).toBe(true);
    expect(sink.frames.length).toBe(before + 1);
    hub.close();
  });
});
