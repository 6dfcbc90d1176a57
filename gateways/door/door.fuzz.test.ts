import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import WebSocket from 'ws';
import { createBehaviours } from '../../actors/index.ts';
import { Engine, generateCity, parseCity, type CityModel, type JournalEntry } from '../../engine/index.ts';
import { brokersFromEnv, KafkaIngest } from '../adapters/kafka.ts';
import { requireUrl, serviceFromEnv } from '../adapters/testing.ts';
import { inputCommandSchema, type ClientToServerEvents, type ServerToClientEvents, type WsServerMessage } from '../protocol.ts';
import { startServerWith, type ServerInternals } from '../server.ts';

/**
 * Property-based fuzzing of the doors (issue 12, item 9). Two servers on the same city and seed,
 * clocks paused (the test advances both alike): every generated input goes to server A through the
 * HTTP route and to server B through Socket.io (commands, operator actions, clock) or raw ws
 * (subscriptions), with a random role. Demanded: no 5xx, the same outcome (status class and error
 * code) through both doors, the same state hash on both after every advance, no non-finite number
 * in any actor's state, and A's journal replaying to the same hashes on a fresh engine.
 *
 * Kafka is the third door: with a broker (`STRATUM_KAFKA_BROKERS`) the first FUZZ_KAFKA_INPUTS
 * (default 100) raw commands of the injector role go to B through Kafka instead of Socket.io — the
 * server's `KafkaIngest` wired to B's door as `stratum start` wires it, on topics of this run; a
 * valid telemetry reading half the time as a telemetry record (key = asset id), everything else as a
 * command message. Kafka has no role (the topic is the injector's) and no reply: its outcome is
 * "journalled" or "dead-lettered", compared with the HTTP route's accepted or refused. Without a
 * broker this part is skipped with the reason printed (not under STRATUM_REQUIRE_SERVICES=1).
 *
 * Generation is seeded (FUZZ_SEED, default 12) and printed on failure; no shrinking (the servers
 * are stateful), the failing input and its position are named instead.
 */
const SEED = Number(process.env['FUZZ_SEED'] ?? 12);
const INPUTS_PER_DOOR = Number(process.env['FUZZ_INPUTS'] ?? 5_000);
const KAFKA_INPUTS = Number(process.env['FUZZ_KAFKA_INPUTS'] ?? 100);
const kafka = serviceFromEnv('kafka');
const ADVANCE_EVERY = 250;
const ADVANCE_MS = 30_000;

type Client = ClientSocket<ServerToClientEvents, ClientToServerEvents>;
const TOKENS = { viewer: 'fz-viewer-1', operator: 'fz-operator-1', injector: 'fz-injector-1', trainer: 'fz-trainer-1', admin: 'fz-admin-123' } as const;
type Role = keyof typeof TOKENS;
const ROLES = Object.keys(TOKENS) as Role[];

/** What a door answered, reduced to what must agree across doors. */
interface Outcome {
  readonly ok: boolean;
  readonly code: string;
}

type Generated =
  | { kind: 'command'; role: Role; body: unknown }
  | { kind: 'operator'; role: Role; action: 'isolate' | 'restore' | 'repair' | 'shed' | 'reroute'; target: string; share?: unknown; to?: string }
  | { kind: 'clock'; role: Role; body: unknown }
  | { kind: 'subscribe'; role: Role; body: unknown }
  | { kind: 'guard'; key: string; guarded: boolean };

function arbitraries(ids: readonly string[], cohortIds: readonly string[], layers: readonly string[], districts: readonly string[]): fc.Arbitrary<Generated> {
  const role = fc.constantFrom(...ROLES);
  const target = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...ids) },
    { weight: 1, arbitrary: fc.constantFrom(...cohortIds) },
    { weight: 1, arbitrary: fc.constantFrom('no-such-asset', 'pw-xx-999999', `layer:${layers[0]!}`, `district:${districts[0]!}`, 'layer:plasma') },
  );
  // Numbers as a hostile client sends them: in range, out of range, huge, tiny, non-numbers.
  const share = fc.oneof(
    { weight: 6, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(5, -3, 1e308, -0, 5e-324, 1.0000001, Number.MAX_VALUE) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 5 }), fc.constant(null), fc.boolean(), fc.constant([0.5]), fc.constant({})) },
  );
  const number = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), fc.constantFrom(0, 1, -1, 1e308, 5e-324, 70, -60, 71), fc.string({ maxLength: 3 }), fc.constant(null));
  const type = fc.constantFrom('fail', 'repair', 'restore', 'isolate', 'telemetry', 'shed', 'reroute', 'ambient', 'cyber', 'secure', 'order', 'voltage', 'explode', '');
  const command = fc.record(
    {
      type,
      target: fc.oneof(target, fc.constant(''), fc.integer()),
      severity: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), number),
      hazard: fc.constantFrom('flood', 'wind', 'shaking', 'heat', 'fire', 'lava'),
      value: number,
      share,
      to: target,
      celsius: number,
      attack: fc.constantFrom('compromise', 'ddos', 'ransomware', 'rootkit'),
      order: fc.constantFrom('shelter', 'evacuate', 'save-water', 'all-clear', 'panic'),
      vmPu: number,
      extra: fc.string({ maxLength: 4 }),
    },
    { requiredKeys: ['type'] },
  );
  const view = fc.record(
    {
      layers: fc.array(fc.oneof(fc.constantFrom(...layers), fc.constant('plasma'), fc.string({ maxLength: 3 })), { maxLength: 3 }),
      districts: fc.array(fc.oneof(fc.constantFrom(...districts), fc.constant('atlantis')), { maxLength: 3 }),
      cohorts: fc.oneof(fc.boolean(), fc.constant('yes')),
      maxRateHz: fc.oneof(fc.double({ min: 0.2, max: 30, noNaN: true }), number),
      bbox: fc.oneof(fc.record({ minX: number, minY: number, maxX: number, maxY: number }), fc.constant({ minX: 0, minY: 0, maxX: 1e4, maxY: 1e4 })),
    },
    { requiredKeys: [] },
  );
  // Well-formed commands of every type (most inputs), so that many are accepted and move the state.
  const unit = fc.double({ min: 0, max: 1, noNaN: true });
  const validCommand = fc.oneof(
    fc.record({ type: fc.constant('fail'), target, severity: unit, hazard: fc.constantFrom('flood', 'wind', 'shaking', 'heat', 'fire') }, { requiredKeys: ['type', 'target'] }),
    fc.record({ type: fc.constantFrom('repair', 'restore', 'isolate', 'secure'), target }),
    fc.record({ type: fc.constant('telemetry'), target, value: fc.double({ min: 0, max: 1e4, noNaN: true }) }),
    fc.record({ type: fc.constant('shed'), target, share: unit }),
    fc.record({ type: fc.constant('reroute'), target, to: target, share: unit }),
    fc.record({ type: fc.constant('ambient'), target, celsius: fc.double({ min: -60, max: 70, noNaN: true }) }),
    fc.record({ type: fc.constant('cyber'), target, attack: fc.constantFrom('compromise', 'ddos', 'ransomware'), severity: unit }, { requiredKeys: ['type', 'target', 'attack'] }),
    fc.record({ type: fc.constant('order'), target, order: fc.constantFrom('shelter', 'evacuate', 'save-water', 'all-clear') }),
    fc.record({ type: fc.constant('voltage'), target, vmPu: fc.double({ min: 0, max: 2, noNaN: true }) }),
  );
  const junk = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.integer()));
  return fc.oneof(
    { weight: 10, arbitrary: fc.record({ kind: fc.constant('command' as const), role, body: fc.oneof({ weight: 6, arbitrary: validCommand }, { weight: 3, arbitrary: command }, { weight: 1, arbitrary: junk }) }) },
    {
      weight: 8,
      arbitrary: fc.record(
        { kind: fc.constant('operator' as const), role, action: fc.constantFrom('isolate', 'restore', 'repair', 'shed', 'reroute'), target: fc.constantFrom(...ids), share, to: fc.constantFrom(...ids) },
        { requiredKeys: ['kind', 'role', 'action', 'target'] },
      ),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('clock' as const),
        role,
        body: fc.oneof(fc.constant({ action: 'pause' }), fc.record({ action: fc.constant('speed'), speed: fc.oneof(fc.double({ min: 0.01, max: 100_000, noNaN: true }), number) }), fc.record({ action: fc.constantFrom('rewind', 'stop') })),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('subscribe' as const), role, body: fc.oneof(fc.record({ view }, { requiredKeys: [] }), fc.constant({ view: { layers: ['power'] }, junk: 1 })) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('guard' as const), key: fc.constantFrom('isolate', 'shed', 'restore', `isolate:${ids[0]!}`), guarded: fc.boolean() }) },
  );
}

const operates = (role: Role): boolean => role === 'operator' || role === 'admin';

describe(`door fuzzing (fast-check, seed ${SEED}): HTTP vs Socket.io/ws on twin servers`, () => {
  let city: CityModel;
  let a: ServerInternals;
  let b: ServerInternals;
  const sockets = new Map<Role, Client>();
  const wsByRole = new Map<Role, { ws: WebSocket; waiters: ((m: WsServerMessage) => void)[] }>();
  /** B's Kafka door (when a broker is configured): its ingest, a producer and the topics of this run. */
  let kafkaDoor: { ingest: KafkaIngest; producer: Producer; telemetryTopic: string; commandsTopic: string; handled: () => number; waiters: (() => void)[] } | undefined;
  let kafkaBudget = KAFKA_INPUTS;

  const start = (): Promise<ServerInternals> =>
    startServerWith(
      { city, seed: 7, port: 0, quiet: true, adminToken: TOKENS.admin },
      {
        paused: true,
        eventsPerSecond: 1e9,
        rateLimitPerMinute: 1e9,
        anonymousRateLimitPerMinute: 1e9,
        env: { STRATUM_TOKENS: (['viewer', 'operator', 'injector', 'trainer'] as const).map((r) => `${r}:${r}:${TOKENS[r]}`).join(',') },
      },
    );

  beforeAll(async () => {
    city = parseCity(generateCity({ assets: 300, seed: 9 }), 'generated');
    [a, b] = await Promise.all([start(), start()]);
    for (const role of ROLES) {
      const socket: Client = ioClient(b.url, { transports: ['websocket'], reconnection: false, auth: { token: TOKENS[role] } });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      sockets.set(role, socket);
      const ws = new WebSocket(`${b.url.replace('http', 'ws')}/ws?token=${TOKENS[role]}`);
      const entry = { ws, waiters: [] as ((m: WsServerMessage) => void)[] };
      ws.on('message', (data, binary) => {
        if (binary) return;
        const m = JSON.parse(String(data)) as WsServerMessage;
        if (m.type === 'subscribed' || m.type === 'error') entry.waiters.shift()?.(m);
      });
      // The URL subscribes at once: wait for that reply before queueing ours.
      await new Promise<void>((resolve) => entry.waiters.push(() => resolve()));
      wsByRole.set(role, entry);
    }
    if (kafka.skip || KAFKA_INPUTS <= 0) {
      console.log(`door fuzz: Kafka door not fuzzed (${KAFKA_INPUTS <= 0 ? 'FUZZ_KAFKA_INPUTS=0' : kafka.reason})`);
      return;
    }
    const brokers = brokersFromEnv(requireUrl(kafka));
    const tag = randomUUID().slice(0, 8);
    const topics = { telemetryTopic: `fuzz-telemetry-${tag}`, commandsTopic: `fuzz-commands-${tag}`, deadLetterTopic: `fuzz-dlq-${tag}` };
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 1 })), waitForLeaders: true });
    await admin.disconnect();
    const producer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const waiters: (() => void)[] = [];
    // Wired as connectAdapters wires it for `stratum start`: B's engine, B's door.
    const ingest = new KafkaIngest({
      brokers, engine: b.engine, door: b.control, groupId: `fuzz-${tag}`, ...topics, fromBeginning: true, logLevel: logLevel.NOTHING,
      onBatchDone: () => {
        for (const wake of waiters.splice(0)) wake();
      },
    });
    await ingest.start();
    const handled = (): number => ingest.counters.accepted + ingest.counters.deadLettered + ingest.counters.duplicates;
    kafkaDoor = { ingest, producer, telemetryTopic: topics.telemetryTopic, commandsTopic: topics.commandsTopic, handled, waiters };
  }, 60_000);
  afterAll(async () => {
    await kafkaDoor?.ingest.stop();
    await kafkaDoor?.producer.disconnect();
    for (const s of sockets.values()) s.close();
    for (const { ws } of wsByRole.values()) ws.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  const http = async (server: ServerInternals, method: string, path: string, token: string | undefined, body?: unknown): Promise<Outcome & { status: number }> => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as { ok?: boolean; code?: string };
    return { status: res.status, ok: res.status < 300, code: res.status < 300 ? 'ok' : String(json.code) };
  };
  const ack = async (role: Role, event: 'command' | 'clock' | 'subscribe', body: unknown): Promise<Outcome> => {
    const socket = sockets.get(role)!;
    const reply = (await socket.timeout(10_000).emitWithAck(event as 'command', body)) as { ok: boolean; code?: string };
    return { ok: reply.ok, code: reply.ok ? 'ok' : String(reply.code) };
  };
  const wsSubscribe = (role: Role, body: unknown): Promise<Outcome> => {
    const entry = wsByRole.get(role)!;
    return new Promise((resolve) => {
      entry.waiters.push((m) => resolve(m.type === 'error' ? { ok: false, code: m.code } : { ok: true, code: 'ok' }));
      entry.ws.send(JSON.stringify({ ...(typeof body === 'object' && body !== null ? body : {}), type: 'subscribe' }));
    });
  };

  /**
   * One message into B's Kafka door; resolves once the ingest has handled it: journalled
   * (`ok`) or dead-lettered (`refused`: Kafka carries no error code back, only the reason).
   */
  const viaKafka = async (body: unknown): Promise<Outcome> => {
    const door = kafkaDoor!;
    const before = { handled: door.handled(), accepted: door.ingest.counters.accepted };
    const parsed = inputCommandSchema.safeParse(body);
    const message = parsed.success && parsed.data.type === 'telemetry' && kafkaBudget % 2 === 0
      ? { topic: door.telemetryTopic, messages: [{ key: parsed.data.target, value: JSON.stringify({ value: parsed.data.value }) }] }
      : { topic: door.commandsTopic, messages: [{ value: JSON.stringify(body) ?? '' }] };
    await door.producer.send(message);
    while (door.handled() === before.handled) await new Promise<void>((resolve) => door.waiters.push(resolve));
    return door.ingest.counters.accepted > before.accepted ? { ok: true, code: 'ok' } : { ok: false, code: 'refused' };
  };

  /** Sends one generated input through A's HTTP door and B's socket door (or Kafka); returns both outcomes. */
  const send = async (input: Generated): Promise<{ http: Outcome & { status: number }; other: Outcome; door: string }> => {
    switch (input.kind) {
      case 'command': {
        if (kafkaDoor !== undefined && input.role === 'injector' && kafkaBudget > 0) {
          kafkaBudget--;
          const h = await http(a, 'POST', '/api/inject', TOKENS[input.role], input.body);
          const o = await viaKafka(input.body);
          // Kafka answers "journalled" or "dead-lettered": compare the outcome class.
          return { http: { ...h, code: h.ok ? 'ok' : 'refused' }, other: o, door: 'kafka' };
        }
        const [h, o] = await Promise.all([http(a, 'POST', '/api/inject', TOKENS[input.role], input.body), ack(input.role, 'command', input.body)]);
        return { http: h, other: o, door: 'socket.io command' };
      }
      case 'operator': {
        const body: Record<string, unknown> = { type: input.action, target: input.target };
        if (input.action === 'shed' || input.action === 'reroute') body['share'] = input.share;
        if (input.action === 'reroute') body['to'] = input.to;
        // The HTTP equivalent: the operator route for roles that operate, POST /api/inject for the rest.
        const route = operates(input.role)
          ? http(a, 'POST', `/api/assets/${encodeURIComponent(input.target)}/${input.action}`, TOKENS[input.role], input.action === 'shed' ? { share: input.share } : input.action === 'reroute' ? { to: input.to, share: input.share } : undefined)
          : http(a, 'POST', '/api/inject', TOKENS[input.role], body);
        const [h, o] = await Promise.all([route, ack(input.role, 'command', body)]);
        return { http: h, other: o, door: 'socket.io command (operator)' };
      }
      case 'clock': {
        const [h, o] = await Promise.all([http(a, 'POST', '/api/clock', TOKENS[input.role], input.body), ack(input.role, 'clock', input.body)]);
        return { http: h, other: o, door: 'socket.io clock' };
      }
      case 'subscribe': {
        // Subscriptions have no HTTP route: Socket.io is the reference, raw ws the other door.
        const reference = await ack(input.role, 'subscribe', input.body);
        const other = await wsSubscribe(input.role, input.body);
        return { http: { ...reference, status: reference.ok ? 200 : 400 }, other, door: 'ws subscribe' };
      }
      case 'guard': {
        const body = { key: input.key, guarded: input.guarded };
        const [h, o] = await Promise.all([http(a, 'POST', '/api/actions/guarded', TOKENS.admin, body), http(b, 'POST', '/api/actions/guarded', TOKENS.admin, body)]);
        return { http: h, other: o, door: 'http (both)' };
      }
    }
  };

  const checkFinite = (server: ServerInternals, label: string): void => {
    const index = server.engine.index;
    for (let actor = 0; actor < index.assetCount + index.cohortCount; actor++) {
      const v = server.engine.kernel.view(actor);
      if (!Number.isFinite(v.level) || !Number.isFinite(v.load) || !Number.isFinite(v.stress)) {
        throw new Error(`${label}: actor ${index.ids[actor]} has a non-finite state ${JSON.stringify({ level: v.level, load: v.load, stress: v.stress })}`);
      }
    }
  };

  it(`sends ${INPUTS_PER_DOOR} generated inputs through each of two doors: no 5xx, same outcomes, same states, finite numbers, identical replay`, async () => {
    const index = a.engine.index;
    const ids = index.ids.slice(0, index.assetCount);
    const cohortIds = index.ids.slice(index.assetCount, index.assetCount + Math.min(5, index.cohortCount));
    const inputs = fc.sample(arbitraries(ids, cohortIds, index.layers, index.districts), { seed: SEED, numRuns: INPUTS_PER_DOOR });
    const boundaries: { journal: number; untilMs: number; hash: string }[] = [];
    const tally = new Map<string, number>();
    const timeByKind = new Map<string, number>();
    const started = performance.now();
    for (let k = 0; k < inputs.length; k++) {
      const input = inputs[k]!;
      const t0 = performance.now();
      const { http: h, other, door } = await send(input);
      timeByKind.set(input.kind, (timeByKind.get(input.kind) ?? 0) + performance.now() - t0);
      const where = `seed ${SEED}, input #${k} via ${door}: ${JSON.stringify(input)}`;
      expect(h.status, where).toBeLessThan(500);
      expect(other.code, where).not.toBe('internal');
      expect({ ok: other.ok, code: other.code }, where).toEqual({ ok: h.ok, code: h.code });
      tally.set(`${input.kind}:${h.code}`, (tally.get(`${input.kind}:${h.code}`) ?? 0) + 1);
      if ((k + 1) % ADVANCE_EVERY === 0 || k === inputs.length - 1) {
        const until = a.engine.now + ADVANCE_MS;
        await Promise.all([a.engine.runUntil(until), b.engine.runUntil(until)]);
        checkFinite(a, `A after input #${k}`);
        checkFinite(b, `B after input #${k}`);
        const hash = a.engine.summary().stateHash;
        expect(b.engine.summary().stateHash, `state hash after input #${k}`).toBe(hash);
        boundaries.push({ journal: a.engine.journal.length, untilMs: until, hash });
      }
    }
    if (kafkaDoor !== undefined) {
      const sent = KAFKA_INPUTS - kafkaBudget;
      console.log(`door fuzz: ${sent} of them through Kafka (${kafkaDoor.ingest.counters.accepted} journalled, ${kafkaDoor.ingest.counters.deadLettered} dead-lettered)`);
      expect(sent).toBeGreaterThan(0);
      expect(kafkaDoor.ingest.counters.accepted).toBeGreaterThan(0);
      expect(kafkaDoor.ingest.counters.deadLettered).toBeGreaterThan(0);
    }
    console.log(`door fuzz: ${inputs.length} inputs × 2 doors in ${((performance.now() - started) / 1000).toFixed(1)} s; journal ${a.engine.journal.length}; outcomes ${JSON.stringify(Object.fromEntries([...tally].sort()))}; ms by kind ${JSON.stringify(Object.fromEntries([...timeByKind].map(([k, v]) => [k, Math.round(v)])))}`);
    // Both doors accepted the same inputs, so the journals agree entry for entry (sources aside).
    const strip = (e: JournalEntry): unknown => ({ seq: e.seq, time: e.time, command: e.command });
    expect(b.engine.journal.entries.map(strip)).toEqual(a.engine.journal.entries.map(strip));
    expect(a.engine.journal.entries.every((e) => JSON.stringify(e.command) === JSON.stringify(JSON.parse(JSON.stringify(e.command))))).toBe(true);

    // The journal replays identically: a fresh engine fed the same entries between the same advances.
    const replay = await Engine.create({ city, behaviours: (i) => createBehaviours(i), seed: 7, driver: 'direct' });
    try {
      let fed = 0;
      for (const boundary of boundaries) {
        for (; fed < boundary.journal; fed++) {
          const entry = a.engine.journal.entries[fed]!;
          replay.submit(entry.command, { at: entry.time / 1000, source: entry.source });
        }
        await replay.runUntil(boundary.untilMs);
        expect(replay.summary().stateHash, `replayed hash at ${boundary.untilMs} ms`).toBe(boundary.hash);
      }
    } finally {
      await replay.stop();
    }
    const accepted = [...tally].filter(([key]) => key.endsWith(':ok')).reduce((n, [, c]) => n + c, 0);
    expect(accepted).toBeGreaterThan(INPUTS_PER_DOOR / 20);
    expect(a.engine.journal.length).toBeGreaterThan(50);
  }, 240_000);
});
