import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createBehaviours } from '../../actors/index.ts';
import { ConflictError, inputCommandSchema, type CityModel, type Engine, type InputCommand } from '../../engine/index.ts';
import {
  ActionGuard,
  defaultRecordingsDir,
  expandScenario,
  GuardError,
  Ledger,
  listLibrary,
  listRecordings,
  recordingQuota,
  recordingsUsage,
  storeCityOnce,
  loadLibraryScenario,
  parseScenario,
  saveRecording,
  scenarioJsonSchema,
  whatIf,
  type Recording,
  type RecordingMeta,
  type Scenario,
  type WhatIfResult,
} from '../../scenarios/index.ts';
import type { AuditLog } from '../door/index.ts';
import type { Principal } from '../door/index.ts';
import type { Control, OperatorAction } from '../door/index.ts';
import { errorResponses, GatewayError, NotFoundError } from '../door/index.ts';
import { actionRequestSchema } from '../protocol.ts';

export interface ScenarioRoutesContext {
  readonly engine: Engine;
  readonly control: Control;
  readonly audit: AuditLog;
  readonly city: CityModel;
  readonly env?: NodeJS.ProcessEnv;
  /** Decision ledger; default: file `STRATUM_LEDGER_FILE` when set, else in memory. */
  readonly ledger?: Ledger;
  /** Where `POST /api/recordings` writes; default `STRATUM_RECORDINGS` or ./recordings. */
  readonly recordingsDir?: string;
  /**
   * Also stores each recording there (PostgreSQL when the adapters are on), after the files;
   * `GET /api/recordings` lists its recordings beside the files'.
   */
  readonly recordingStore?: { save(recording: Recording, city: CityModel): Promise<void>; list(): Promise<RecordingMeta[]> };
  /** Runs what-ifs off the event loop (a worker thread); absent: in process, in slices (tests). */
  readonly whatIf?: { run(engine: Engine, command: InputCommand, horizonSeconds: number): Promise<WhatIfResult> };
}

/** Where a listed recording lives: the recordings folder, the database, or both. */
export type RecordingStoreName = 'file' | 'postgres' | 'both';

export interface ListedRecording {
  readonly id: string;
  readonly title: string;
  readonly createdAt: string;
  readonly scenario: string | null;
  readonly seed: number;
  readonly untilMs: number;
  readonly inputs: number;
  readonly stateHash: string;
  readonly store: RecordingStoreName;
}

/**
 * One list from the folder's recordings and the database's, newest first, one entry per id. A
 * recording in both places is shown once with the file's meta (the two are written from the same
 * recording by `POST /api/recordings`).
 *
 * @example
 * mergeRecordingLists(listRecordings(dir), await pg.list()); // [{ id: 'live-…', store: 'both', … }]
 */
export function mergeRecordingLists(files: readonly RecordingMeta[], stored: readonly RecordingMeta[]): ListedRecording[] {
  const byId = new Map<string, { meta: RecordingMeta; store: RecordingStoreName }>();
  for (const meta of files) byId.set(meta.id, { meta, store: 'file' });
  for (const meta of stored) {
    const known = byId.get(meta.id);
    if (known === undefined) byId.set(meta.id, { meta, store: 'postgres' });
    else known.store = 'both';
  }
  return [...byId.values()]
    .map(({ meta: m, store }) => ({ id: m.id, title: m.title, createdAt: m.createdAt, scenario: m.scenario, seed: m.seed, untilMs: m.untilMs, inputs: m.inputs, stateHash: m.stateHash, store }))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

const errors = errorResponses;
const runAck = z.object({ ok: z.literal(true), scenario: z.string(), inputs: z.number().int(), firstSeq: z.number().int().nullable(), lastSeq: z.number().int().nullable(), startMs: z.number() });
/** A store that could not be reached: the files still answer, and the caller is told what is missing. */
const unavailableStore = z.object({ store: z.literal('postgres'), reason: z.string() });

const listedRecording = z.object({
  id: z.string(),
  title: z.string(),
  createdAt: z.string(),
  scenario: z.string().nullable(),
  seed: z.number(),
  untilMs: z.number(),
  inputs: z.number().int(),
  stateHash: z.string(),
  store: z.enum(['file', 'postgres', 'both']).describe('where the recording lives: the recordings folder, PostgreSQL, or both'),
});
const OPERATOR = new Set(['isolate', 'restore', 'repair', 'shed', 'reroute']);

/**
 * Scenario, recording, ledger, guarded-action and what-if routes. Registered after `registerHttpApi`
 * (which installs authentication and the error handler on the same instance). Also taps the audit
 * log so every accepted mutation, whatever its transport, lands in the decision ledger and gets its
 * replay feed point noted.
 */
export function registerScenarioRoutes(fastify: FastifyInstance, ctx: ScenarioRoutesContext): { ledger: Ledger; guard: ActionGuard } {
  const { engine, control } = ctx;
  const env = ctx.env ?? process.env;
  const ledger = ctx.ledger ?? new Ledger(env['STRATUM_LEDGER_FILE']);
  const guard = new ActionGuard(ledger);
  const recordingsDir = ctx.recordingsDir ?? defaultRecordingsDir(env);
  const quota = recordingQuota(env);
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  // Composition-root tap: the audit log sees every accepted mutation right after it is journalled;
  // the ledger entry names exactly the inputs that action journalled (`control.actionJournalled`) —
  // not everything journalled since the previous action, which under a telemetry feed meant
  // thousands of readings copied and hashed into each operator's entry (and, once they left the
  // journal's memory window, the journal file read back on the request path).
  const record = ctx.audit.record.bind(ctx.audit);
  ctx.audit.record = (entry) => {
    record(entry);
    const range = control.actionJournalled;
    if (entry.result === 'ok' && range !== undefined && range.to > range.from && !entry.action.startsWith('scenario.')) {
      const inputs = engine.journal.since(range.from).slice(0, range.to - range.from).map((e) => ({ seq: e.seq, time: e.time, command: e.command }));
      ledger.append(OPERATOR.has(entry.action) ? 'operator-action' : 'injection', entry.who, entry.role, { via: entry.via, action: entry.action, target: entry.target, inputs });
    }
  };

  // The door applies the guard to every operator action, whatever door it comes through (HTTP
  // routes, POST /api/inject, Socket.io `command`, Kafka): guarded ones go through /api/actions/request.
  control.guard = guard;

  const run = (scenario: Scenario, principal: Principal | undefined, startIn: number) =>
    control.auditedAsync(principal, 'http', 'scenario.run', scenario.name, 'inject', async () => {
      const { events, entries, startMs } = await control.submitScenario(scenario, startIn, `scenario:${scenario.name}`);
      ledger.append('scenario', principal!.name, principal!.role, { scenario: scenario.name, source: scenario.source, inputs: events.length, firstSeq: entries[0]?.seq ?? null, startMs });
      return { ok: true as const, scenario: scenario.name, inputs: events.length, firstSeq: entries[0]?.seq ?? null, lastSeq: entries[entries.length - 1]?.seq ?? null, startMs };
    });
  // Nothing is required: no body at all (fastify validates it as null) is a run that starts now.
  const runBody = z.strictObject({ startInSeconds: z.number().min(0).max(30 * 86_400).optional() }).nullish();

  app.get('/api/scenarios', {
    config: { right: 'read' },
    schema: { tags: ['scenarios'], summary: 'The scenario library', security: [{ bearer: [] }], response: { 200: z.object({ scenarios: z.array(z.object({ name: z.string(), title: z.string(), description: z.string(), kind: z.string(), tags: z.array(z.string()), durationHours: z.number().nullable() })) }), ...errors } },
  }, () => ({ scenarios: listLibrary().map((e) => ({ ...e, tags: [...e.tags] })) }));

  app.get('/api/scenarios/schema', { config: { right: 'read' }, schema: { tags: ['scenarios'], summary: 'JSON Schema of the scenario format', security: [{ bearer: [] }] } }, () => scenarioJsonSchema());

  app.get('/api/scenarios/:name', {
    config: { right: 'read' },
    schema: { tags: ['scenarios'], summary: 'One library scenario and the inputs it expands to on this city', security: [{ bearer: [] }], params: z.object({ name: z.string().min(1) }) },
  }, async (request) => {
    const scenario = library(request.params.name);
    const inputs = control.expander === undefined ? expandScenario(scenario, engine.index, engine.kernel.seed) : await control.expander.expand(scenario);
    return { scenario, inputs: inputs.length, preview: inputs.slice(0, 50) };
  });

  app.post('/api/scenarios/:name/run', {
    config: { right: 'inject' },
    schema: { tags: ['scenarios'], summary: 'Run a library scenario now (injector, trainer, admin)', security: [{ bearer: [] }], params: z.object({ name: z.string().min(1) }), body: runBody, response: { 202: runAck, ...errors } },
  }, async (request, reply) => {
    const scenario = library(request.params.name);
    return reply.status(202).send(await run(scenario, request.principal, request.body?.startInSeconds ?? 0));
  });

  app.post('/api/scenarios/run', {
    config: { right: 'inject' },
    schema: { tags: ['scenarios'], summary: 'Run a scenario document (validated whole first; see /api/scenarios/schema)', security: [{ bearer: [] }], body: z.unknown(), response: { 202: runAck, ...errors } },
  }, async (request, reply) => {
    let scenario: Scenario;
    try {
      scenario = parseScenario(request.body, 'request body');
    } catch (error) {
      control.audited(request.principal, 'http', 'scenario.run', null, 'inject', () => {
        throw error;
      });
      throw error;
    }
    return reply.status(202).send(await run(scenario, request.principal, 0));
  });

  // ---- recordings ----
  app.get('/api/recordings', {
    config: { right: 'read' },
    schema: {
      tags: ['recordings'],
      summary: 'Recorded runs: the recordings folder and, with the PostgreSQL adapter on, the database (newest first, one entry per id); a database that cannot be reached is named in `unavailable` and the files are listed anyway',
      security: [{ bearer: [] }],
      response: { 200: z.object({ recordings: z.array(listedRecording), unavailable: z.array(unavailableStore).optional() }), ...errors },
    },
  }, async (request) => {
    const files = listRecordings(recordingsDir);
    if (ctx.recordingStore === undefined) return { recordings: mergeRecordingLists(files, []) };
    try {
      return { recordings: mergeRecordingLists(files, await ctx.recordingStore.list()) };
    } catch (error) {
      request.log.warn({ err: error }, 'recordings: the PostgreSQL store is unavailable; listing the files only');
      return { recordings: mergeRecordingLists(files, []), unavailable: [{ store: 'postgres' as const, reason: (error as Error).message }] };
    }
  });
  app.post('/api/recordings', {
    config: { right: 'clock' },
    schema: { tags: ['recordings'], summary: 'Record the live session so far (journal, seed, city) for replay and training', security: [{ bearer: [] }], body: z.strictObject({ title: z.string().max(200).optional() }).nullish() },
  }, async (request, reply) => {
    // A consistent cut: between instants, so the journal, the settled clock and the stream agree.
    await engine.whenIdle();
    const rec = control.audited(request.principal, 'http', 'recording.save', null, 'clock', () => {
      // Quotas first: a refused recording writes nothing.
      const usage = recordingsUsage(recordingsDir);
      if (usage.count >= quota.maxCount) throw new ConflictError(`recordings quota reached: ${usage.count} of ${quota.maxCount} recordings (STRATUM_RECORDINGS_MAX); delete old ones from ${recordingsDir}`);
      if (usage.bytes >= quota.maxBytes) throw new ConflictError(`recordings quota reached: ${usage.bytes} of ${quota.maxBytes} bytes (STRATUM_RECORDINGS_MAX_BYTES); delete old ones from ${recordingsDir}`);
      const id = `live-${new Date().toISOString().replace(/[-:.]/g, '')}`;
      const cityFile = storeCityOnce(recordingsDir, ctx.city, engine.cityHash);
      const rec = saveRecording(engine, { city: { file: cityFile }, dir: recordingsDir, id, title: request.body?.title ?? 'live session' });
      ledger.append('recording', request.principal!.name, request.principal!.role, { id, inputs: rec.meta.inputs, stateHash: rec.meta.stateHash });
      return rec;
    });
    const meta = rec.meta;
    const saved = { ok: true, id: meta.id, inputs: meta.inputs, untilMs: meta.untilMs, stateHash: meta.stateHash };
    if (ctx.recordingStore === undefined) return reply.status(201).send(saved);
    // The files are written: a database that cannot be reached does not undo the recording.
    try {
      await ctx.recordingStore.save(rec, ctx.city);
      return reply.status(201).send({ ...saved, stored: ['file', 'postgres'] });
    } catch (error) {
      request.log.warn({ err: error, id: meta.id }, 'recordings: saved to files only, the PostgreSQL store is unavailable');
      return reply.status(201).send({ ...saved, stored: ['file'], notStored: [{ store: 'postgres', reason: (error as Error).message }] });
    }
  });

  // ---- ledger ----
  app.get('/api/ledger', {
    config: { right: 'audit' },
    schema: { tags: ['ledger'], summary: 'Decision ledger (newest last)', security: [{ bearer: [] }], querystring: z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(100) }) },
  }, (request) => ({ total: ledger.entries.length, head: ledger.head, entries: ledger.entries.slice(-request.query.limit) }));
  app.get('/api/ledger/verify', { config: { right: 'audit' }, schema: { tags: ['ledger'], summary: 'Verify the hash chain', security: [{ bearer: [] }] } }, () => {
    const v = ledger.verify();
    return v.ok ? { ok: true, count: v.count, head: v.head } : { ok: false, count: v.count, firstBroken: v.firstBroken, reason: v.reason };
  });

  // ---- guarded actions and what-if ----
  app.get('/api/actions/guarded', { config: { right: 'read' }, schema: { tags: ['operator'], summary: 'Guarded actions and pending requests', security: [{ bearer: [] }] } }, () => ({ guarded: guard.list(), pending: guard.pendingList() }));
  app.post('/api/actions/guarded', {
    config: { right: 'audit' },
    schema: { tags: ['operator'], summary: 'Mark an action type (`isolate`) or one action on one asset (`isolate:pw-tx-0`) as guarded (admin)', security: [{ bearer: [] }], body: z.strictObject({ key: z.string().regex(/^(isolate|restore|repair|shed)(:.+)?$/), guarded: z.boolean() }) },
  }, (request) => {
    control.audited(request.principal, 'http', 'guard', request.body.key, 'audit', () => guard.setGuarded(request.body.key, request.body.guarded, request.principal!.name, request.principal!.role));
    return { ok: true, guarded: guard.list() };
  });
  const actionBody = actionRequestSchema;
  app.post('/api/actions/request', {
    config: { right: 'operate' },
    schema: { tags: ['operator'], summary: 'Request a (guarded) operator action; a second role approves it', security: [{ bearer: [] }], body: actionBody },
  }, (request, reply) => {
    const b = request.body;
    if (engine.index.indexOf(b.target) === undefined) throw new NotFoundError(`unknown asset "${b.target}"`);
    const command = b.action === 'shed' ? { type: 'shed' as const, target: b.target, share: b.share ?? 0.2 } : { type: b.action, target: b.target };
    const p = control.audited(request.principal, 'http', `request.${b.action}`, b.target, 'operate', () => guard.request(command, request.principal!.name, request.principal!.role, b.reason ?? ''));
    void reply.status(202).send({ ok: true, pending: p });
  });
  app.post('/api/actions/:id/approve', {
    config: { right: 'read' },
    schema: { tags: ['operator'], summary: 'Approve a pending action (another person, another role: operator, trainer or admin)', security: [{ bearer: [] }], params: z.object({ id: z.coerce.number().int().min(1) }) },
  }, (request, reply) => {
    const principal = request.principal!;
    let p;
    try {
      p = guard.approve(request.params.id, principal.name, principal.role);
    } catch (error) {
      if (error instanceof GuardError) {
        const mapped = error.code === 'not-found' ? new NotFoundError(error.message) : error.code === 'forbidden' ? new GatewayError(403, 'forbidden', error.message) : new ConflictError(error.message);
        control.audited(principal, 'http', 'approve', String(request.params.id), 'read', () => {
          throw mapped;
        });
      }
      throw error;
    }
    const c = p.command as { type: OperatorAction; target: string; share?: number };
    const entry = control.audited(principal, 'http', `approve.${c.type}`, c.target, 'read', () => {
      return control.submitApproved(p.command, `approved:${p.requestedBy}+${principal.name}`);
    });
    void reply.status(202).send({ ok: true, seq: entry.seq, time: entry.time });
  });
  // What-if: through the door (rights, the one command schema, the names checked on the live city,
  // bounded horizon, audited and ledgered); one at a time, run in slices so the loop keeps serving
  // (scenarios/decisions.ts). Nothing is journalled on the live engine, so the guard policy does not
  // refuse it — simulating a guarded action is how one prepares its request — but the answer says
  // `guarded: true` when the action itself would need a second person's approval.
  let whatIfRunning = false;
  app.post('/api/whatif', {
    config: { right: 'operate' },
    schema: { tags: ['operator'], summary: 'What happens if: simulate an input on a copy of the engine (the live one is untouched); one at a time (409 while one runs)', security: [{ bearer: [] }], body: z.strictObject({ command: inputCommandSchema, horizonSeconds: z.number().min(60).max(7 * 86_400).default(3600) }) },
  }, async (request) => {
    const principal = request.principal!;
    const { command, horizonSeconds } = request.body;
    return control.auditedAsync(principal, 'http', `whatif.${command.type}`, command.target, 'operate', async () => {
      if (whatIfRunning) throw new ConflictError('a what-if is running; try again when it is done (one at a time)');
      engine.targetsOf(command);
      const atMs = Math.max(0, engine.kernel.settledUntil);
      whatIfRunning = true;
      try {
        const result = ctx.whatIf !== undefined
          ? await ctx.whatIf.run(engine, command, horizonSeconds)
          : await whatIf({ city: ctx.city, index: engine.index, cityHash: engine.cityHash, seed: engine.kernel.seed, behaviours: (i) => createBehaviours(i), journal: engine.journal.iterate(), untilSeq: engine.journal.length, atMs, command, horizonSeconds });
        ledger.append('what-if', principal.name, principal.role, { command, atMs, horizonSeconds, delta: result.delta });
        return { ...result, guarded: guard.isGuarded(command) };
      } finally {
        whatIfRunning = false;
      }
    });
  });

  return { ledger, guard };
}

function library(name: string): Scenario {
  try {
    return loadLibraryScenario(name);
  } catch (error) {
    throw new NotFoundError((error as Error).message.replace(/\s+/g, ' '));
  }
}
