import { readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server, type Socket } from 'socket.io';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { bundleParser, encodeBundle, FRAME_PACKET_HEADER } from '../frame-bundle.ts';
import { installedVersions, PINNED_VERSIONS, PRE_ENCODED_FRAMES, SocketIoFrameWriter } from './socketio-frames.ts';

const FRAME = Uint8Array.from([0x53, 1, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xff, 0x80, 0x7f]);

/** ws's Sender as engine.io loads it (engine.io has its own copy of ws). */
const engineRequire = createRequire(createRequire(import.meta.url).resolve('socket.io'));
const engineWs = createRequire(engineRequire.resolve('engine.io'))('ws') as { Sender: { prototype: { send: (...args: unknown[]) => unknown } } };

describe('the one-message frame writer: pinned internals of ws, engine.io and Socket.io', () => {
  it('runs on exactly the versions it was written against, pinned in package.json', () => {
    expect(installedVersions()).toEqual(PINNED_VERSIONS);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string>; overrides: Record<string, unknown> };
    expect(pkg.dependencies['ws']).toBe(PINNED_VERSIONS.ws);
    expect(pkg.dependencies['socket.io']).toBe(PINNED_VERSIONS['socket.io']);
    expect(pkg.dependencies['engine.io']).toBe(PINNED_VERSIONS['engine.io']);
    expect(pkg.overrides['engine.io']).toEqual({ ws: PINNED_VERSIONS['engine.io>ws'] });
    expect(PRE_ENCODED_FRAMES).toBe(true);
  });

  let http: HttpServer;
  let io: Server;
  let url: string;
  const serverSockets: Socket[] = [];

  beforeAll(async () => {
    http = createServer();
    io = new Server(http, { transports: ['websocket'] });
    io.on('connection', (socket) => serverSockets.push(socket));
    await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    io.disconnectSockets(true);
    await new Promise<void>((done) => http.close(() => done()));
  });

  const nextSocket = async (count: number): Promise<Socket> => {
    while (serverSockets.length < count) await new Promise((r) => setTimeout(r, 5));
    return serverSockets[count - 1]!;
  };

  it('writes, pre-encoded, the very WebSocket messages the public path writes — without ws encoding them per socket', async () => {
    // A raw engine.io client: every WebSocket message as it arrives, text or binary.
    const raw = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const messages: { text: boolean; data: Buffer }[] = [];
    raw.on('message', (data: Buffer, isBinary: boolean) => messages.push({ text: !isBinary, data: Buffer.from(data) }));
    await new Promise<void>((done) => raw.once('open', () => done()));
    raw.send('40');
    const socket = await nextSocket(serverSockets.length + 1);
    while (!messages.some((m) => m.text && m.data.toString().startsWith('40'))) await new Promise((r) => setTimeout(r, 5));
    messages.length = 0;

    let sends = 0;
    const originalSend = engineWs.Sender.prototype.send;
    engineWs.Sender.prototype.send = function (this: unknown, ...args: unknown[]) {
      sends++;
      return originalSend.apply(this, args);
    };
    const collect = async (write: () => void, expected: number): Promise<{ messages: { text: boolean; data: Buffer }[]; sends: number }> => {
      const before = sends;
      messages.length = 0;
      write();
      while (messages.length < expected) await new Promise((r) => setTimeout(r, 5));
      return { messages: messages.splice(0), sends: sends - before };
    };
    try {
      const pre = new SocketIoFrameWriter(true);
      const pub = new SocketIoFrameWriter(false);
      const bundlePre = await collect(() => pre.write(socket, FRAME, true), 1);
      const bundlePub = await collect(() => pub.write(socket, FRAME, true), 1);
      expect(bundlePre.messages).toEqual(bundlePub.messages);
      expect(bundlePre.messages).toEqual([{ text: false, data: Buffer.from(encodeBundle(FRAME_PACKET_HEADER, [FRAME])) }]);
      expect(bundlePre.sends).toBe(0); // framed once by the writer, handed to ws's sendFrame
      expect(bundlePub.sends).toBe(1);

      const legacyPre = await collect(() => pre.write(socket, FRAME, false), 2);
      const legacyPub = await collect(() => pub.write(socket, FRAME, false), 2);
      expect(legacyPre.messages).toEqual(legacyPub.messages);
      expect(legacyPre.messages).toEqual([{ text: true, data: Buffer.from(`4${FRAME_PACKET_HEADER}`) }, { text: false, data: Buffer.from(FRAME) }]);
      expect(legacyPre.sends).toBe(0);
      expect(legacyPub.sends).toBe(2);
    } finally {
      engineWs.Sender.prototype.send = originalSend;
      raw.close();
    }
  });

  it('real Socket.io clients get the frame event with the frame bytes, bundled and in the default form', async () => {
    const connect = async (bundle: boolean): Promise<{ client: ClientSocket; socket: Socket }> => {
      const count = serverSockets.length + 1;
      const client = ioClient(url, { transports: ['websocket'], reconnection: false, ...(bundle ? { parser: bundleParser } : {}) });
      return { client, socket: await nextSocket(count) };
    };
    const writer = new SocketIoFrameWriter();
    for (const bundle of [true, false]) {
      const { client, socket } = await connect(bundle);
      const got = new Promise<Uint8Array>((done) => client.on('frame', (bytes: ArrayBuffer | Uint8Array) => done(new Uint8Array(bytes))));
      while (!client.connected) await new Promise((r) => setTimeout(r, 5));
      writer.write(socket, FRAME, bundle);
      expect(Array.from(await got)).toEqual(Array.from(FRAME));
      client.close();
    }
  });
});
