/**
 * @file The structured-clone-safe RPC protocol between the job runner (main process or CLI) and the inference
 * service (Electron utility process or CLI worker thread), and the two ends: {@link rpcServe} and
 * {@link rpcClient}. Plain data only: no classes, functions or Electron types cross the port.
 *
 * [Note: Inference RPC]
 * - request  { id, method, args }            client → service
 * - cancel   { id, cancel: true }            client → service: aborts the call's AbortSignal
 * - reply    { id, ok: true, value }         service → client, exactly one per request
 *            { id, ok: false, error: { code, message } }
 * - event    { id, event, data }             service → client while the call runs (tokens, progress);
 *            { id: null, event: 'log', data } for the service's own log lines (main writes them, STYLE B4)
 * Float32Arrays travel as they are (structured clone copies them). A port closing, or the process behind it
 * dying, fails every pending call with code 'worker-exited' so the job runner can retry.
 */

/** Error codes that cross the port; the job runner decides retries from them (main/jobs/inference-jobs.ts). */
export type InferenceErrorCode =
  | 'invalid-argument'
  | 'not-found'
  | 'bad-audio'
  | 'too-short'
  | 'silent'
  | 'model-unavailable'
  | 'session-failed'
  | 'cancelled'
  | 'worker-exited'
  | 'internal';

/** An error as it crosses the port. */
export interface RpcErrorData {
  readonly code: InferenceErrorCode;
  readonly message: string;
}

/** A call. */
export interface RpcRequest {
  readonly id: number;
  readonly method: string;
  readonly args: unknown;
}

/** Cancels call `id`. */
export interface RpcCancel {
  readonly id: number;
  readonly cancel: true;
}

/** The one reply to a call. */
export type RpcReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: RpcErrorData };

/** A progress or token event of call `id`, or a log line (`id` null). */
export interface RpcEvent {
  readonly id: number | null;
  readonly event: string;
  readonly data: unknown;
}

/** The part of a message port both ends need; Electron's MessagePortMain and Node's ports fit via adapters. */
export interface RpcPort {
  postMessage(message: unknown): void;
  /** Subscribes; returns the unsubscribe function. */
  onMessage(listener: (message: unknown) => void): () => void;
  close(): void;
}

/** An error with an {@link InferenceErrorCode}; thrown by handlers and re-thrown by the client. */
export class InferenceError extends Error {
  readonly code: InferenceErrorCode;
  constructor(code: InferenceErrorCode, message: string) {
    super(message);
    this.name = 'InferenceError';
    this.code = code;
  }
}

/** What a handler gets besides its arguments. */
export interface CallContext {
  /** Aborted when the client cancels the call or the port closes. */
  readonly signal: AbortSignal;
  /** Sends an event of this call to the client. */
  emit(event: string, data: unknown): void;
}

/** A service as {@link rpcServe} takes it: one async function per method. */
export type RpcHandlers<H> = { [K in keyof H]: (args: never, ctx: CallContext) => Promise<unknown> };

/** The methods of a handler map, as the client sees them. */
export type ClientOf<H> = {
  [M in keyof H]: H[M] extends (args: infer A, ctx: CallContext) => Promise<infer R> ? (args: A) => Promise<R> : never;
};

/** Options of one client call. */
export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: string, data: unknown) => void;
}

/** The calling end. */
export interface RpcClient<H> {
  call<M extends keyof H & string>(
    method: M,
    args: Parameters<ClientOf<H>[M]>[0],
    opts?: CallOptions,
  ): ReturnType<ClientOf<H>[M]>;
  /** Fails pending calls with 'worker-exited' (the supervisor calls it when the process died). */
  failAll(reason: string): void;
  close(): void;
}

function toErrorData(e: unknown): RpcErrorData {
  if (e instanceof InferenceError) return { code: e.code, message: e.message };
  if (e instanceof Error && e.name === 'AbortError') return { code: 'cancelled', message: 'Cancelled.' };
  if (e instanceof Error) return { code: 'internal', message: e.message };
  return { code: 'internal', message: String(e) };
}

function isRecord(m: unknown): m is Record<string, unknown> {
  return typeof m === 'object' && m !== null;
}

/**
 * Serves `handlers` on `port`: runs each request, streams its events, answers once, honours cancels.
 * Returns a function that stops serving (pending calls are aborted).
 */
export function rpcServe<H extends RpcHandlers<H>>(port: RpcPort, handlers: H): () => void {
  const running = new Map<number, AbortController>();
  const post = (m: RpcReply | RpcEvent): void => {
    try {
      port.postMessage(m);
    } catch {
      // The port closed under us (the client went away); nothing is listening.
    }
  };
  const off = port.onMessage((m) => {
    if (!isRecord(m) || typeof m['id'] !== 'number') return;
    const id = m['id'];
    if (m['cancel'] === true) {
      running.get(id)?.abort();
      return;
    }
    const method = m['method'];
    if (typeof method !== 'string') return;
    const table = handlers as unknown as Record<string, (args: unknown, ctx: CallContext) => Promise<unknown>>;
    const handler = Object.hasOwn(table, method) ? table[method] : undefined;
    if (!handler) {
      post({ id, ok: false, error: { code: 'invalid-argument', message: `Unknown inference method "${method}". Expected one of: ${Object.keys(handlers).join(', ')}` } });
      return;
    }
    const ac = new AbortController();
    running.set(id, ac);
    const ctx: CallContext = { signal: ac.signal, emit: (event, data) => post({ id, event, data }) };
    void (async () => {
      try {
        const value = await handler(m['args'], ctx);
        post({ id, ok: true, value });
      } catch (e) {
        post({ id, ok: false, error: ac.signal.aborted ? { code: 'cancelled', message: 'Cancelled.' } : toErrorData(e) });
      } finally {
        running.delete(id);
      }
    })();
  });
  return () => {
    off();
    for (const ac of running.values()) ac.abort();
    running.clear();
  };
}

/** Sends a log line from the service side (an event with id null). */
export function rpcLog(port: RpcPort, level: 'info' | 'warn' | 'error', message: string): void {
  port.postMessage({ id: null, event: 'log', data: { level, message } } satisfies RpcEvent);
}

/**
 * A client for a service served with {@link rpcServe}. `onLog` receives the service's log lines.
 */
export function rpcClient<H>(port: RpcPort, onLog?: (level: string, message: string) => void): RpcClient<H> {
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; onEvent?: CallOptions['onEvent'] }>();
  const off = port.onMessage((m) => {
    if (!isRecord(m)) return;
    if (m['id'] === null && m['event'] === 'log') {
      const d = m['data'] as { level?: string; message?: string } | undefined;
      onLog?.(d?.level ?? 'info', d?.message ?? '');
      return;
    }
    if (typeof m['id'] !== 'number') return;
    const p = pending.get(m['id']);
    if (!p) return;
    if (typeof m['event'] === 'string') {
      p.onEvent?.(m['event'], m['data']);
      return;
    }
    if (typeof m['ok'] === 'boolean') {
      pending.delete(m['id']);
      if (m['ok']) p.resolve(m['value']);
      else {
        const err = m['error'] as RpcErrorData;
        p.reject(new InferenceError(err.code, err.message));
      }
    }
  });
  const failAll = (reason: string): void => {
    for (const [id, p] of pending) {
      pending.delete(id);
      p.reject(new InferenceError('worker-exited', reason));
    }
  };
  return {
    call(method, args, opts = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        if (opts.signal?.aborted) {
          reject(new InferenceError('cancelled', 'Cancelled.'));
          return;
        }
        pending.set(id, { resolve, reject, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) });
        opts.signal?.addEventListener('abort', () => {
          if (pending.has(id)) port.postMessage({ id, cancel: true } satisfies RpcCancel);
        }, { once: true });
        try {
          port.postMessage({ id, method, args } satisfies RpcRequest);
        } catch (e) {
          pending.delete(id);
          reject(new InferenceError('worker-exited', `The inference worker is not reachable: ${(e as Error).message}`));
        }
      }) as never;
    },
    failAll,
    close() {
      off();
      failAll('The inference client was closed.');
      port.close();
    },
  };
}

/** The shape of Node's worker_threads MessagePort / Worker / parentPort that {@link fromNodePort} needs. */
export interface NodePortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/** Wraps a worker_threads MessagePort, a Worker (parent side) or parentPort (worker side). */
export function fromNodePort(port: NodePortLike, close: () => void = () => undefined): RpcPort {
  return {
    postMessage: (m) => port.postMessage(m),
    onMessage(listener) {
      port.on('message', listener);
      return () => {
        port.off('message', listener);
      };
    },
    close,
  };
}

/** The shape of Electron's MessagePortMain that {@link fromMessagePortMainLike} needs (structural: no import). */
export interface MessagePortMainLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): unknown;
  off(event: 'message', listener: (e: { data: unknown }) => void): unknown;
  start(): void;
  close(): void;
}

/** Wraps an Electron MessagePortMain (the utility-process side gets one from process.parentPort's event). */
export function fromMessagePortMainLike(port: MessagePortMainLike): RpcPort {
  port.start();
  return {
    postMessage: (m) => port.postMessage(m),
    onMessage(listener) {
      const wrapped = (e: { data: unknown }): void => listener(e.data);
      port.on('message', wrapped);
      return () => {
        port.off('message', wrapped);
      };
    },
    close: () => port.close(),
  };
}

/** An in-process pair of connected ports (tests, and running the service without a thread). */
export function localPortPair(): [RpcPort, RpcPort] {
  const listeners: [Set<(m: unknown) => void>, Set<(m: unknown) => void>] = [new Set(), new Set()];
  let isClosed = false;
  const make = (self: 0 | 1): RpcPort => ({
    postMessage(m) {
      if (isClosed) throw new Error('port closed');
      const copy = structuredClone(m);
      queueMicrotask(() => {
        for (const l of listeners[self === 0 ? 1 : 0]) l(copy);
      });
    },
    onMessage(l) {
      listeners[self].add(l);
      return () => listeners[self].delete(l);
    },
    close() {
      isClosed = true;
    },
  });
  return [make(0), make(1)];
}
