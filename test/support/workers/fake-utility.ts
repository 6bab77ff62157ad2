/**
 * @file A fake of Electron's `utilityProcess` and `MessageChannelMain` for tests in plain Node: fork starts a
 * child process (child_process.fork of fake-utility-child.mjs) that loads the worker entry with a
 * process.parentPort as Electron gives one; the MessagePortMain pair is a Node MessageChannel whose far end is
 * bridged over the fork's IPC channel. What main/workers/utility-launcher.ts does with it is what it does with
 * Electron's own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { MessagePortMainLike } from '../../../model/inference/protocol';
import type { ElectronUtility, UtilityProcessLike } from '../../../main/workers/utility-launcher';

const CHILD = join(import.meta.dirname, 'fake-utility-child.mjs');

/** A MessagePortMain-like wrapper of a Node port (events carry `{ data }`, as Electron's do). */
class FakePortMain implements MessagePortMainLike {
  private readonly wrapped = new Map<(e: { data: unknown }) => void, (d: unknown) => void>();
  constructor(readonly raw: MessagePort) {}
  postMessage(message: unknown): void {
    this.raw.postMessage(message);
  }
  on(_event: 'message', listener: (e: { data: unknown }) => void): this {
    const w = (data: unknown): void => listener({ data });
    this.wrapped.set(listener, w);
    this.raw.on('message', w);
    return this;
  }
  off(_event: 'message', listener: (e: { data: unknown }) => void): this {
    const w = this.wrapped.get(listener);
    if (w) this.raw.off('message', w);
    return this;
  }
  start(): void {
    this.raw.start();
  }
  close(): void {
    this.raw.close();
  }
}

/** Every process the fake forked, in order (tests count them and kill them). */
export interface FakeElectron extends ElectronUtility {
  readonly forks: { readonly serviceName: string; readonly modulePath: string; readonly env: NodeJS.ProcessEnv | undefined; readonly child: ChildProcess }[];
}

/** A fake Electron utility-process API. */
export function fakeElectronUtility(): FakeElectron {
  const forks: FakeElectron['forks'][number][] = [];
  return {
    forks,
    MessageChannelMain: class {
      readonly port1: FakePortMain;
      readonly port2: FakePortMain;
      constructor() {
        const { port1, port2 } = new MessageChannel();
        this.port1 = new FakePortMain(port1);
        this.port2 = new FakePortMain(port2);
      }
    },
    utilityProcess: {
      fork(modulePath, _args, options): UtilityProcessLike {
        const child = fork(CHILD, [modulePath], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced', ...(options.env ? { env: options.env } : {}) });
        forks.push({ serviceName: options.serviceName, modulePath, env: options.env, child });
        return {
          stdout: child.stdout,
          stderr: child.stderr,
          postMessage(message, transfer) {
            child.send({ type: 'init', data: message });
            const near = transfer?.[0] as FakePortMain | undefined;
            if (!near) return;
            // The child's end of the channel lives here; its traffic crosses the IPC channel.
            near.raw.on('message', (m: unknown) => {
              if (child.connected) child.send({ type: 'port', m });
            });
            child.on('message', (x: { type?: string; m?: unknown }) => {
              if (x?.type === 'port') near.raw.postMessage(x.m);
            });
            child.once('exit', () => near.raw.close());
          },
          kill: () => child.kill(),
          once(_event, listener) {
            child.once('exit', (code) => listener(code ?? -1));
            return this;
          },
        };
      },
    },
  };
}
