/**
 * @file The inference RPC: replies, events, errors with codes, cancel, and pending calls failing when the
 * worker goes away.
 */
import { describe, expect, it } from 'vitest';
import { InferenceError, localPortPair, rpcClient, rpcServe, type CallContext } from '../../../model/inference/protocol';

const handlers = {
  async echo(args: { x: Float32Array }, ctx: CallContext): Promise<{ sum: number }> {
    ctx.emit('token', { n: 1 });
    ctx.emit('token', { n: 2 });
    return { sum: args.x.reduce((a, b) => a + b, 0) };
  },
  async fail(_args: Record<string, never>): Promise<void> {
    throw new InferenceError('bad-audio', 'Cannot decode /x.mp3: truncated');
  },
  async slow(_args: Record<string, never>, ctx: CallContext): Promise<string> {
    await new Promise((resolve, reject) => {
      const t = setTimeout(resolve, 5000);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new Error('aborted'));
      });
    });
    return 'late';
  },
};

describe('inference rpc', () => {
  it('answers calls, streams events and carries error codes', async () => {
    const [a, b] = localPortPair();
    rpcServe(b, handlers);
    const client = rpcClient<typeof handlers>(a);
    const events: unknown[] = [];
    await expect(client.call('echo', { x: new Float32Array([1, 2, 3]) }, { onEvent: (e, d) => events.push([e, d]) })).resolves.toEqual({ sum: 6 });
    expect(events).toEqual([['token', { n: 1 }], ['token', { n: 2 }]]);
    const err = await client.call('fail', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceError);
    expect(err).toMatchObject({ code: 'bad-audio', message: 'Cannot decode /x.mp3: truncated' });
  });

  it('cancels a call through its signal', async () => {
    const [a, b] = localPortPair();
    rpcServe(b, handlers);
    const client = rpcClient<typeof handlers>(a);
    const ac = new AbortController();
    const p = client.call('slow', {}, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('fails pending calls when the worker is gone, and rejects unknown methods', async () => {
    const [a, b] = localPortPair();
    rpcServe(b, handlers);
    const client = rpcClient<typeof handlers>(a);
    const p = client.call('slow', {});
    client.failAll('The inference worker exited (code 1).');
    await expect(p).rejects.toMatchObject({ code: 'worker-exited' });
    const unknown = await client.call('nope' as 'echo', { x: new Float32Array(0) }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'invalid-argument' });
  });
});
