// The hostile client of bench/reliability-door.ts, in a worker thread (its own event loop): sends the
// inputs of issue 12 for `durationMs` and posts back how many of each it sent. Plain JavaScript so
// the worker needs no TypeScript loader.
/* global fetch, performance */
import { parentPort, workerData } from 'node:worker_threads';
import { io } from 'socket.io-client';
import WebSocket from 'ws';

const { url, tokens, durationMs, target } = workerData;
const wsUrl = url.replace('http', 'ws');
const sent = { socketSheds: 0, guardedIsolates: 0, storms: 0, anonymousPosts: 0, badSpeeds: 0, unknownLayers: 0, bareEngineIo: 0, tokenUrls: 0 };

const post = (path, token, body) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then((r) => r.arrayBuffer());

const connect = (token) =>
  new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], reconnection: false, auth: { token } });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });

const operator = await connect(tokens.operator);
const trainer = await connect(tokens.trainer);
const storm = { name: 'hostile-storm', events: [{ at: 0, type: 'storm', track: [{ x: '0%', y: '0%', hour: 0 }, { x: '100%', y: '100%', hour: 3000 }], maxWind: 50, radius: '20%', stepMinutes: 1 }] };
const bare = [];
const until = performance.now() + durationMs;
let round = 0;
while (performance.now() < until) {
  const work = [];
  for (const share of ['abc', 5, -3, 1e308]) {
    work.push(operator.timeout(5_000).emitWithAck('command', { type: 'shed', target, share }).catch(() => undefined));
    sent.socketSheds++;
  }
  work.push(operator.timeout(5_000).emitWithAck('command', { type: 'isolate', target }).catch(() => undefined));
  work.push(post('/api/inject', tokens.injector, { type: 'isolate', target }));
  sent.guardedIsolates += 2;
  work.push(post('/api/scenarios/run', tokens.injector, storm));
  sent.storms++;
  for (let i = 0; i < 20; i++) work.push(post('/api/inject', i % 2 === 0 ? undefined : `made-up-token-${round}-${i}`, { type: 'fail', target }));
  sent.anonymousPosts += 20;
  work.push(trainer.timeout(5_000).emitWithAck('clock', { action: 'speed', speed: 5e-324 }).catch(() => undefined));
  work.push(post('/api/clock', tokens.trainer, { action: 'speed', speed: 5e-324 }));
  sent.badSpeeds += 2;
  work.push(operator.timeout(5_000).emitWithAck('subscribe', { view: { layers: ['plasma'] } }).catch(() => undefined));
  sent.unknownLayers++;
  if (bare.length < 200) {
    for (let i = 0; i < 10; i++) bare.push(new WebSocket(`${wsUrl}/socket.io/?EIO=4&transport=websocket`).on('error', () => undefined));
    sent.bareEngineIo += 10;
  }
  const ws = new WebSocket(`${wsUrl}/ws?token=${tokens.operator}&layers=plasma`);
  ws.on('error', () => undefined);
  ws.on('message', () => ws.close());
  sent.tokenUrls++;
  await Promise.all(work);
  round++;
}
for (const ws of bare) ws.terminate();
operator.close();
trainer.close();
parentPort.postMessage(sent);
