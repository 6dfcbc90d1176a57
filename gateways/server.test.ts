import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import WebSocket from 'ws';
import { generateCity, parseCity, Status } from '../engine/index.ts';
import {
  decodeFrame,
  FrameKind,
  type ClientToServerEvents,
  type ErrorReply,
  type Frame,
  type LiveSummary,
  type ServerToClientEvents,
  type SubscribeAck,
  type SubscribeRequest,
  type Topology,
  type WsServerMessage,
} from './protocol.ts';
import { startServerWith, type ServerInternals } from './server.ts';
import { bundleParser, FRAMES_BUNDLE } from './frame-bundle.ts';

type Client = ClientSocket<ServerToClientEvents, ClientToServerEvents>;

const TOKENS = { viewer: 'viewer-token-1', operator: 'operator-token-1', injector: 'injector-token-1', admin: 'admin-token-123' };
const HIGH_WATER = 64 * 1024;

/** Resolves when `check` returns a value (polled on every event and every 20 ms); rejects after `ms`. */
function waitFor<T>(what: string, check: () => T | undefined, ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      let value: T | undefined;
      try {
        value = check();
      } catch (error) {
        reject(error as Error);
        return;
      }
      if (value !== undefined) resolve(value);
      else if (Date.now() - started > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

describe('live server (real fastify + socket.io + ws on port 0)', () => {
  let server: ServerInternals;
  let topology: Topology;
  const clients: Client[] = [];
  const wsClients: WebSocket[] = [];

  // Response bodies are checked field by field; `any` keeps these assertions readable.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const api = async (method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
  };

  /** `bundles`: the client opts in to one-message frames (what the UI does); else the default parser's two messages. */
  const connect = (token: string | undefined, bundles = false): Client => {
    const auth = token === undefined ? undefined : bundles ? { token, frames: FRAMES_BUNDLE } : { token };
    const socket: Client = ioClient(server.url, { transports: ['websocket'], reconnection: false, ...(auth === undefined ? {} : { auth }), ...(bundles ? { parser: bundleParser } : {}) });
    clients.push(socket);
    return socket;
  };

  /** A socket that records every decoded frame. */
  const viewer = async (request: SubscribeRequest, token = TOKENS.viewer, bundles = false): Promise<{ socket: Client; frames: Frame[]; ack: SubscribeAck }> => {
    const socket = connect(token, bundles);
    const frames: Frame[] = [];
    socket.on('frame', (bytes) => frames.push(decodeFrame(bytes as Uint8Array)));
    const reply = await socket.emitWithAck('subscribe', request);
    if (!reply.ok) throw new Error(`subscribe failed: ${reply.message}`);
    await waitFor('first frame', () => (frames.length > 0 ? true : undefined));
    return { socket, frames, ack: reply };
  };

  const latest = (frames: readonly Frame[], actor: number): { status: number; level: number } | undefined => {
    for (let k = frames.length - 1; k >= 0; k--) {
      const f = frames[k]!;
      const i = f.actors.indexOf(actor);
      if (i >= 0) return { status: f.status[i]!, level: f.level[i]! };
    }
    return undefined;
  };

  const assetIn = (layer: string, skip = 0): { id: string; index: number } => {
    const l = topology.layers.indexOf(layer);
    let seen = 0;
    for (let a = 0; a < topology.assetCount; a++) {
      if (topology.layer[a] === l && seen++ === skip) return { id: topology.ids[a]!, index: a };
    }
    throw new Error(`no asset in layer ${layer}`);
  };

  beforeAll(async () => {
    const city = parseCity(generateCity({ assets: 2000, seed: 3 }), 'generated');
    server = await startServerWith(
      { city, seed: 3, port: 0, quiet: true, speed: 60, adminToken: TOKENS.admin },
      {
        highWaterBytes: HIGH_WATER,
        eventsPerSecond: 100_000,
        env: { STRATUM_TOKENS: `vera:viewer:${TOKENS.viewer},otto:operator:${TOKENS.operator},ingrid:injector:${TOKENS.injector}` },
      },
    );
    const res = await api('GET', '/api/topology', TOKENS.viewer);
    expect(res.status).toBe(200);
    topology = res.json as Topology;
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const w of wsClients) w.terminate();
    await server?.close();
  });

  it('serves health, the OpenAPI document and a cacheable topology with an ETag', async () => {
    expect((await api('GET', '/healthz')).status).toBe(200);
    expect((await api('GET', '/readyz')).json.ok).toBe(true);
    const openapi = await api('GET', '/openapi.json');
    expect(openapi.json.paths['/api/inject']).toBeDefined();
    const first = await fetch(`${server.url}/api/topology`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    const etag = first.headers.get('etag')!;
    await first.arrayBuffer();
    const again = await fetch(`${server.url}/api/topology`, { headers: { authorization: `Bearer ${TOKENS.viewer}`, 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(topology.ids.length).toBe(topology.assetCount + topology.cohortCount);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('stratum_actors_by_status{status="ok",role="asset"}');
  });

  it('inject over HTTP → the delta frame carries the failed asset with the right values', async () => {
    const { frames } = await viewer({ view: { maxRateHz: 20 } });
    const snapshot = frames[0]!;
    expect(snapshot.kind).toBe(FrameKind.Snapshot);
    expect(snapshot.actors.length).toBe(topology.assetCount + topology.cohortCount);
    const target = assetIn('telecom', 3);
    const res = await api('POST', '/api/inject', TOKENS.injector, { type: 'fail', target: target.id });
    expect(res.status).toBe(202);
    const seen = await waitFor('failed asset in a delta', () => {
      const v = latest(frames.slice(1), target.index);
      return v?.status === Status.Failed ? v : undefined;
    });
    expect(seen.level).toBe(0);
    const live = server.engine.kernel.view(target.index);
    expect(live.status).toBe(Status.Failed);
    // Deltas chain: every delta applies on top of the previous frame.
    for (let k = 1; k < frames.length; k++) expect(frames[k]!.since).toBe(frames[k - 1]!.frame);
    expect(frames.slice(1).every((f) => f.kind === FrameKind.Delta)).toBe(true);
  });

  it('a client that opts in to bundles gets the same frames, each as one WebSocket message', async () => {
    const plain = await viewer({ view: { layers: ['water'], maxRateHz: 20 } });
    const bundled = await viewer({ view: { layers: ['water'], maxRateHz: 20 } }, TOKENS.viewer, true);
    let binaryMessages = 0;
    // Text messages carrying a binary placeholder are the header half of a two-message frame.
    let frameHeaders = 0;
    bundled.socket.io.engine.on('data', (data: unknown) => {
      if (typeof data !== 'string') binaryMessages++;
      else if (data.includes('_placeholder')) frameHeaders++;
    });
    let plainFrameHeaders = 0;
    plain.socket.io.engine.on('data', (data: unknown) => void (typeof data === 'string' && data.includes('_placeholder') && plainFrameHeaders++));
    const target = assetIn('water', 2);
    expect((await api('POST', '/api/inject', TOKENS.injector, { type: 'fail', target: target.id })).status).toBe(202);
    const seenBy = (frames: Frame[]): number | undefined => frames.find((f) => f.kind === FrameKind.Delta && f.actors.includes(target.index))?.frame;
    const frameNo = await waitFor('the failure in both streams', () => (seenBy(plain.frames) !== undefined && seenBy(bundled.frames) !== undefined ? seenBy(bundled.frames) : undefined));
    // Same view, same frame numbers and contents, whatever the encoding on the wire.
    expect(seenBy(plain.frames)).toBe(frameNo);
    const pick = (frames: Frame[]): Frame => frames.find((f) => f.frame === frameNo)!;
    expect(pick(bundled.frames)).toEqual(pick(plain.frames));
    // Every frame since the listener was added came as a single binary message (no text headers).
    const deltasAfter = bundled.frames.filter((f) => f.frame >= frameNo).length;
    expect(binaryMessages).toBeGreaterThanOrEqual(deltasAfter);
    // Whatever else arrived as text (clock, alerts: their number depends on timing), no frame did.
    expect(frameHeaders).toBe(0);
    expect(plainFrameHeaders).toBeGreaterThan(0); // the default form does send them: the check can fail
  });

  it('the summary prices the outage: a failed substation costs per hour, and the cost so far grows with virtual time', async () => {
    const before = await api('GET', '/api/summary', TOKENS.viewer);
    expect(before.status).toBe(200);
    expect(before.json.cost.currency).toBe('EUR');
    const target = assetIn('power', 1);
    expect((await api('POST', '/api/inject', TOKENS.injector, { type: 'fail', target: target.id })).status).toBe(202);
    await waitFor('the failure to be applied', () => (server.engine.kernel.view(target.index).status === Status.Failed ? true : undefined));
    const first = await api('GET', '/api/summary', TOKENS.viewer);
    expect(first.json.cost.perHour).toBeGreaterThan(before.json.cost.perHour);
    expect(first.json.failed).toBeGreaterThan(before.json.failed);
    // Wait for the live clock to have run on (an event: the runner's advance past one more
    // simulated minute), not for a fixed wall time: a busy machine only makes it come later.
    const minuteLater = first.json.simulatedSeconds * 1000 + 60_000;
    await new Promise<void>((resolve) => {
      const off = server.runner.onAdvance((virtualMs) => {
        if (virtualMs < minuteLater) return;
        off();
        resolve();
      });
    });
    const later = await api('GET', '/api/summary', TOKENS.viewer);
    expect(later.json.simulatedSeconds).toBeGreaterThan(first.json.simulatedSeconds);
    expect(later.json.cost.total).toBeGreaterThan(first.json.cost.total);
    // Each part is rounded on its own.
    expect(Math.abs(later.json.cost.total - (later.json.cost.assets + later.json.cost.people))).toBeLessThanOrEqual(1);
  });

  it('pushes the live summary on connect and as it changes, so a page needs no polling for its headline', async () => {
    // Opt-in (auth.summary): a plain frame consumer gets none.
    const plain = connect(TOKENS.viewer, true);
    let plainSummaries = 0;
    plain.on('summary', () => plainSummaries++);
    const socket: Client = ioClient(server.url, { transports: ['websocket'], reconnection: false, auth: { token: TOKENS.viewer, frames: FRAMES_BUNDLE, summary: true }, parser: bundleParser });
    clients.push(socket);
    const summaries: LiveSummary[] = [];
    const lists: Array<readonly unknown[]> = [];
    socket.on('summary', (s) => summaries.push(s));
    socket.on('sessions', (l) => lists.push(l));
    await waitFor('the summary on connect', () => (summaries.length > 0 && lists.length > 0 ? true : undefined));
    expect(lists[0]).toEqual([]);
    const failedBefore = summaries[0]!.failed;
    const target = assetIn('power', 4);
    expect((await api('POST', '/api/inject', TOKENS.injector, { type: 'fail', target: target.id })).status).toBe(202);
    // Pushed every 2 s while it changes: the failure shows up without a request.
    const pushed = await waitFor('a pushed summary with the failure', () => summaries.find((s) => s.failed > failedBefore), 10_000);
    expect(pushed.cost.currency).toBe('EUR');
    expect(pushed.cost.perHour).toBeGreaterThan(0);
    expect(plainSummaries).toBe(0);
  });

  it('filters a view by layer: only that layer\'s assets, in the snapshot and in every delta', async () => {
    const power = topology.layers.indexOf('power');
    const { frames } = await viewer({ view: { layers: ['power'], cohorts: false, maxRateHz: 25 } });
    const expected = topology.layer.filter((l) => l === power).length;
    expect(frames[0]!.actors.length).toBe(expected);
    const inside = assetIn('power', 2);
    const outside = assetIn('water', 2);
    expect((await api('POST', '/api/inject', TOKENS.injector, { type: 'fail', target: outside.id })).status).toBe(202);
    expect((await api('POST', '/api/inject', TOKENS.injector, { type: 'fail', target: inside.id })).status).toBe(202);
    await waitFor('power asset failed', () => (latest(frames, inside.index)?.status === Status.Failed ? true : undefined));
    for (const f of frames) for (const a of f.actors) expect(topology.layer[a]).toBe(power);
    expect(latest(frames, outside.index)).toBeUndefined();
  });

  it('a reconnecting client catches up from its last frame number with one merged delta', async () => {
    const view = { districts: [topology.districts[1]!], maxRateHz: 15 };
    const a = await viewer({ view });
    const lastFrame = a.frames[a.frames.length - 1]!.frame;
    a.socket.disconnect();
    const witness = await viewer({ view });
    const d = topology.districts.indexOf(view.districts[0]!);
    let target = -1;
    for (let i = 0; i < topology.assetCount && target < 0; i++) if (topology.district[i] === d && server.engine.kernel.view(i).status === Status.Ok) target = i;
    expect((await api('POST', '/api/inject', TOKENS.injector, { type: 'fail', target: topology.ids[target]! })).status).toBe(202);
    await waitFor('witness sees the failure', () => (latest(witness.frames, target)?.status === Status.Failed ? true : undefined));

    const again = connect(TOKENS.viewer);
    const frames: Frame[] = [];
    again.on('frame', (bytes) => frames.push(decodeFrame(bytes as Uint8Array)));
    const ack = await again.emitWithAck('subscribe', { view, since: { epoch: a.ack.epoch, frame: lastFrame } });
    expect(ack.ok && ack.mode).toBe('catch-up');
    await waitFor('catch-up frame', () => (frames.length > 0 ? true : undefined));
    const first = frames[0]!;
    expect(first.kind).toBe(FrameKind.Delta);
    expect(first.since).toBe(lastFrame);
    expect(first.frame).toBeGreaterThan(lastFrame);
    const i = first.actors.indexOf(target);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(first.status[i]).toBe(Status.Failed);

    // An unknown epoch (server restarted) falls back to a snapshot.
    const stale = connect(TOKENS.viewer);
    const staleAck = await stale.emitWithAck('subscribe', { view, since: { epoch: 'old-epoch', frame: lastFrame } });
    expect(staleAck.ok && staleAck.mode).toBe('snapshot');
  });

  it('rejects unauthorised, forbidden and malformed requests with nothing changed, and audits them', async () => {
    const journalBefore = server.engine.journal.length;
    const auditBefore = server.audit.count;
    const asset = assetIn('power', 5);
    expect(server.engine.kernel.view(asset.index).status).toBe(Status.Ok);

    expect((await api('POST', '/api/inject', undefined, { type: 'fail', target: asset.id })).status).toBe(401);
    expect((await api('POST', '/api/inject', 'wrong-token-zzz', { type: 'fail', target: asset.id })).status).toBe(401);
    expect((await api('POST', '/api/inject', TOKENS.viewer, { type: 'fail', target: asset.id })).status).toBe(403);
    expect((await api('POST', '/api/inject', TOKENS.operator, { type: 'fail', target: asset.id })).status).toBe(403);
    expect((await api('POST', `/api/assets/${asset.id}/isolate`, TOKENS.injector)).status).toBe(403);
    expect((await api('POST', '/api/clock', TOKENS.operator, { action: 'pause' })).status).toBe(403);
    expect((await api('GET', '/api/audit', TOKENS.operator)).status).toBe(403);
    expect((await api('GET', '/api/assets', undefined)).status).toBe(401);

    const bad = await api('POST', '/api/inject', TOKENS.injector, { type: 'fail', target: asset.id, severity: 7 });
    expect(bad.status).toBe(400);
    expect(bad.json.problems.map((p: { path: string }) => p.path).join()).toContain('severity');
    expect(bad.json.message).toContain('severity');
    const unknownField = await api('POST', '/api/inject', TOKENS.injector, { type: 'fail', target: asset.id, sevrity: 1 });
    expect(unknownField.status).toBe(400);
    expect((await api('POST', '/api/inject', TOKENS.injector, { type: 'fail', target: 'no-such-asset' })).status).toBe(404);
    const shed = await api('POST', `/api/assets/${asset.id}/shed`, TOKENS.operator, { share: 'half' });
    expect(shed.status).toBe(400);
    expect(shed.json.message).toContain('share');

    const conflict = await api('POST', `/api/assets/${asset.id}/restore`, TOKENS.operator);
    expect(conflict.status).toBe(409);
    expect(conflict.json.message).toContain('ok');
    expect((await api('POST', `/api/assets/${asset.id}/repair`, TOKENS.operator)).status).toBe(409);
    expect((await api('POST', '/api/clock', TOKENS.admin, { action: 'resume' })).status).toBe(409);

    // Sockets: no token → refused in the handshake; viewer → forbidden; bad payload → invalid.
    const anonymous = connect(undefined);
    const refused = await new Promise<Error>((resolve) => anonymous.on('connect_error', resolve));
    expect(refused.message).toBe('unauthorized');
    const viewerSocket = connect(TOKENS.viewer);
    const forbidden = (await viewerSocket.emitWithAck('command', { type: 'fail', target: asset.id })) as ErrorReply;
    expect(forbidden.code).toBe('forbidden');
    const clock = (await viewerSocket.emitWithAck('clock', { action: 'pause' })) as ErrorReply;
    expect(clock.code).toBe('forbidden');
    const injectorSocket = connect(TOKENS.injector);
    const invalid = (await injectorSocket.emitWithAck('command', { type: 'fail', target: asset.id, severity: -1 })) as ErrorReply;
    expect(invalid.code).toBe('invalid');
    expect(invalid.message).toContain('severity');
    const badView = (await viewerSocket.emitWithAck('subscribe', { view: { maxRateHz: 'fast' } } as never)) as ErrorReply;
    expect(badView.code).toBe('invalid');
    expect(badView.message).toContain('maxRateHz');

    expect(server.engine.journal.length).toBe(journalBefore);
    expect(server.engine.kernel.view(asset.index).status).toBe(Status.Ok);
    expect(server.runner.isPaused).toBe(false);

    const audit = await api('GET', '/api/audit?limit=100', TOKENS.admin);
    expect(audit.status).toBe(200);
    const entries = (audit.json.entries as { seq: number; result: string; who: string }[]).filter((e) => e.seq >= auditBefore);
    expect(entries.map((e) => e.result)).toEqual(expect.arrayContaining(['forbidden', 'invalid', 'not-found', 'conflict']));
    // Anonymous rejects are kept apart (they cannot evict real users' entries), counted per address.
    expect((audit.json.anonymous.recent as { result: string }[]).map((e) => e.result)).toContain('unauthorized');
    expect(audit.json.anonymous.total).toBeGreaterThanOrEqual(2);
    expect(entries.some((e) => e.who === 'vera' && e.result === 'forbidden')).toBe(true);
  });

  it('operator actions succeed when the live state allows them', async () => {
    const asset = assetIn('water', 7);
    const ok = await api('POST', `/api/assets/${asset.id}/isolate`, TOKENS.operator);
    expect(ok.status).toBe(202);
    await waitFor('isolated', () => (server.engine.kernel.view(asset.index).status === Status.Isolated ? true : undefined));
    expect((await api('POST', `/api/assets/${asset.id}/isolate`, TOKENS.operator)).status).toBe(409);
    expect((await api('POST', `/api/assets/${asset.id}/restore`, TOKENS.operator)).status).toBe(202);
    const detail = await api('GET', `/api/assets/${asset.id}`, TOKENS.viewer);
    expect(detail.json.id).toBe(asset.id);
    expect(Array.isArray(detail.json.providers)).toBe(true);
  });

  it('reroutes load over a link, and refuses unlinked, unknown or malformed reroutes with nothing journalled', async () => {
    const index = server.engine.index;
    const feeder = index.city.assets.findIndex((a, i) => a.kind === 'feeder' && a.baseLoad > 0 && index.links.offsets[i + 1]! > index.links.offsets[i]!);
    const neighbour = index.links.items[index.links.offsets[feeder]!]!;
    const from = index.ids[feeder]!;
    const to = index.ids[neighbour]!;
    const unlinked = index.ids.find((_, i) => i < index.assetCount && i !== feeder && i !== neighbour && index.layerOf[i] !== index.layerOf[feeder])!;
    const before = server.engine.journal.length;
    expect((await api('POST', `/api/assets/${from}/reroute`, TOKENS.operator, { to: unlinked, share: 0.5 })).status).toBe(409);
    expect((await api('POST', `/api/assets/${from}/reroute`, TOKENS.operator, { to: 'nope', share: 0.5 })).status).toBe(404);
    const bad = await api('POST', `/api/assets/${from}/reroute`, TOKENS.operator, { to, share: 2 });
    expect(bad.status).toBe(400);
    expect(bad.json.problems[0].path).toBe('body.share');
    expect((await api('POST', `/api/assets/${from}/reroute`, TOKENS.viewer, { to, share: 0.5 })).status).toBe(403);
    expect(server.engine.journal.length).toBe(before);
    const load = server.engine.kernel.view(feeder).load;
    expect((await api('POST', `/api/assets/${from}/reroute`, TOKENS.operator, { to, share: 0.5 })).status).toBe(202);
    await waitFor('rerouted', () => (server.engine.kernel.view(feeder).load < load ? true : undefined));
    expect(server.engine.kernel.view(feeder).load).toBeCloseTo(load / 2, 9);
  });

  it('answers graph queries: neighbours, closures and the shortest dependency path', async () => {
    const { depFrom, depTo } = { depFrom: topology.dependencies.filter((_, k) => k % 2 === 0), depTo: topology.dependencies.filter((_, k) => k % 2 === 1) };
    const provider = topology.ids[depFrom[0]!]!;
    const dependent = topology.ids[depTo[0]!]!;
    const down = await api('GET', `/api/graph/downstream/${provider}`, TOKENS.viewer);
    expect(down.json.assets.map((a: { id: string }) => a.id)).toContain(dependent);
    const up = await api('GET', `/api/graph/upstream/${dependent}`, TOKENS.viewer);
    expect(up.json.assets.map((a: { id: string }) => a.id)).toContain(provider);
    const path = await api('GET', `/api/graph/path?from=${provider}&to=${dependent}`, TOKENS.viewer);
    expect(path.json.path).toEqual([provider, dependent]);
    const near = await api('GET', `/api/graph/neighbours/${provider}?depth=2`, TOKENS.viewer);
    expect(near.json.count).toBeGreaterThan(0);
    const filtered = await api('GET', '/api/assets?layer=power&status=ok&limit=5', TOKENS.viewer);
    expect(filtered.json.items.every((x: { layer: string; status: string }) => x.layer === 'power' && x.status === 'ok')).toBe(true);
  });

  it('serves the same frames over raw ws, filtered by the query string, and refuses a ws without a token', async () => {
    const refused = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
    // Ending a refused (still connecting) socket reports an error event: expected, not a failure.
    refused.on('error', () => {});
    const status = await new Promise<number>((resolve) => refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
    refused.terminate();

    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=${TOKENS.viewer}&layers=water&cohorts=0`);
    wsClients.push(ws);
    const frames: Frame[] = [];
    const texts: WsServerMessage[] = [];
    ws.on('message', (data, isBinary) => {
      if (isBinary) frames.push(decodeFrame(data as Buffer));
      else texts.push(JSON.parse(String(data)) as WsServerMessage);
    });
    await waitFor('ws snapshot', () => (frames.length > 0 ? true : undefined));
    const water = topology.layers.indexOf('water');
    expect(texts.map((m) => m.type)).toEqual(expect.arrayContaining(['hello', 'subscribed']));
    expect(frames[0]!.actors.length).toBe(topology.layer.filter((l) => l === water).length);
    expect([...frames[0]!.actors].every((a) => topology.layer[a] === water)).toBe(true);
    ws.send('not json');
    await waitFor('an error reply', () => (texts.some((m) => m.type === 'error') ? true : undefined));
    ws.close();
  });

  it('a ws viewer that stops reading is bounded: frames are merged, never queued, and it resyncs when it reads again', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?token=${TOKENS.viewer}&maxRateHz=30`);
    wsClients.push(ws);
    const binary: Frame[] = [];
    const texts: WsServerMessage[] = [];
    ws.on('message', (data, isBinary) => {
      if (isBinary) binary.push(decodeFrame(data as Buffer));
      else texts.push(JSON.parse(String(data)) as WsServerMessage);
    });
    await waitFor('ws snapshot', () => (binary.length > 0 ? true : undefined));
    expect(texts[0]?.type).toBe('hello');
    const snapshotBytes = binary[0]!.actors.length * 9 + 32;
    const serverWs = [...server.sockets.wsSubscribers.entries()].find(([, s]) => s.lastSent >= 0)!;
    const [serverSocket, subscriber] = serverWs;

    // Stop reading, then ask for a fresh snapshot 800 times (~15 MB if the server queued them).
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    for (let k = 0; k < 800; k++) ws.send(JSON.stringify({ type: 'subscribe', view: { maxRateHz: 30 } }));
    const maxBuffered = { value: 0 };
    await waitFor('frames merged for the backed-up socket', () => {
      maxBuffered.value = Math.max(maxBuffered.value, serverSocket.bufferedAmount);
      return subscriber.merged > 20 ? true : undefined;
    });
    // Churn the city while it is backed up.
    expect((await api('POST', '/api/inject', TOKENS.admin, { type: 'fail', target: 'layer:telecom', severity: 1 })).status).toBe(202);
    await waitFor('more merged frames', () => {
      maxBuffered.value = Math.max(maxBuffered.value, serverSocket.bufferedAmount);
      return subscriber.merged > 40 ? true : undefined;
    });
    // Only what the transport already held: high-water + one snapshot + the small JSON acks.
    expect(maxBuffered.value).toBeLessThan(HIGH_WATER + snapshotBytes + 800 * 400);

    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor('the viewer is back at the current frame', () => {
      const view = subscriber.view!;
      const last = binary[binary.length - 1]!;
      return subscriber.lastSent === view.frame && last.frame === view.frame ? true : undefined;
    });
  });
});
