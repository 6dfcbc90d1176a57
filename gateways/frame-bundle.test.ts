import { describe, expect, it } from 'vitest';
import { Encoder, PacketType, type Packet } from 'socket.io-parser';
import { BundleDecoder, decodeBundle, encodeBundle, FRAME_PACKET_HEADER } from './frame-bundle.ts';

const decodeAll = (chunks: readonly (string | Uint8Array)[]): Packet[] => {
  const decoder = new BundleDecoder();
  const out: Packet[] = [];
  decoder.on('decoded', (p: Packet) => out.push(p));
  for (const c of chunks) decoder.add(c);
  return out;
};

describe('one-message binary events (bundles)', () => {
  it('round-trips a header and its attachments, including empty and large ones', () => {
    const big = new Uint8Array(70_000).map((_, i) => i & 255);
    const bytes = encodeBundle('52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', [new Uint8Array(0), big]);
    const { header, attachments } = decodeBundle(bytes);
    expect(header).toBe('52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    expect(attachments.map((a) => a.length)).toEqual([0, 70_000]);
    expect(attachments[1]).toEqual(big);
  });

  it('decodes to the same packet as the default two-message form', () => {
    const frame = Uint8Array.from([0x53, 1, 2, 3, 4]);
    const packet: Packet = { type: PacketType.EVENT, nsp: '/', data: ['frame', frame] };
    const parts = new Encoder().encode(packet) as (string | Uint8Array)[];
    expect(parts[0]).toBe(FRAME_PACKET_HEADER);
    const [viaDefault] = decodeAll(parts);
    const [viaBundle] = decodeAll([encodeBundle(FRAME_PACKET_HEADER, [frame])]);
    expect(viaBundle).toEqual(viaDefault);
    expect(new Uint8Array((viaBundle!.data as [string, ArrayBufferLike | Uint8Array])[1] as Uint8Array)).toEqual(frame);
    // Another binary event takes the general path (header decoded by Socket.io's own decoder).
    const [other] = decodeAll([encodeBundle('51-["snapshot",{"_placeholder":true,"num":0}]', [frame])]);
    expect(other).toEqual({ ...viaDefault, data: ['snapshot', (viaDefault!.data as unknown[])[1]] });
    // Text packets pass through untouched, before and after binary ones.
    expect(decodeAll(['2["clock",{"t":1}]', encodeBundle(FRAME_PACKET_HEADER, [frame]), '2["hello",{}]']).map((p) => (p.data as unknown[])[0])).toEqual(['clock', 'frame', 'hello']);
  });

  it('refuses malformed bundles with a message that names the problem', () => {
    const good = encodeBundle(FRAME_PACKET_HEADER, [Uint8Array.of(1, 2, 3)]);
    expect(() => decodeBundle(Uint8Array.of(0x53, 1))).toThrow(/not a bundle: first byte 83/);
    expect(() => decodeBundle(good.subarray(0, good.length - 1))).toThrow(/truncated: attachment 0 of 3 bytes, 2 left/);
    expect(() => decodeBundle(good.subarray(0, 10))).toThrow(/truncated: header/);
    expect(() => decodeBundle(encodeBundle('2["clock",{}]', []))).toThrow(/not a binary packet/);
    expect(() => decodeBundle(encodeBundle(FRAME_PACKET_HEADER, [Uint8Array.of(1), Uint8Array.of(2)]))).toThrow(/carries 2 attachments, its header announces 1/);
    expect(() => decodeAll([Uint8Array.of(0xb5, 0xff, 0xff, 0xff, 0xff, 0xff)])).toThrow(/too long/);
  });
});
