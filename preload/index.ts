/**
 * @file The preload script (sandboxed renderer, isolated world). The only file that touches ipcRenderer. It
 * exposes exactly two functions as `window.api`: `invoke` for the allow-listed request channels and `on` for
 * the allow-listed event channels (STYLE B3, B10). electron-vite bundles it with contract.ts into one file,
 * which a sandboxed preload requires.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { EVENTS, INVOKE, type Api, type EventChannel, type Events, type InvokeChannel, type Result } from './contract';

function isInvokeChannel(channel: string): channel is InvokeChannel {
  return Object.hasOwn(INVOKE, channel);
}

function isEventChannel(channel: string): channel is EventChannel {
  return Object.hasOwn(EVENTS, channel);
}

/** Sends one request; unknown channels fail as data, like every other error (never a generic ipcRenderer). */
function invoke(channel: string, ...args: unknown[]): Promise<Result<unknown>> {
  if (!isInvokeChannel(channel)) {
    return Promise.resolve({ ok: false, error: { code: 'invalid-argument', message: `Unknown channel '${channel}'` } });
  }
  return ipcRenderer.invoke(channel, ...args) as Promise<Result<unknown>>;
}

/** Subscribes to one push channel; returns the unsubscribe function. The IPC event object never leaks. */
function on<K extends EventChannel>(channel: K, listener: (payload: Events[K]) => void): () => void {
  if (!isEventChannel(channel)) throw new Error(`Unknown event channel '${String(channel)}'`);
  const wrapped = (_event: IpcRendererEvent, payload: Events[K]): void => listener(payload);
  ipcRenderer.on(channel, wrapped);
  return () => {
    ipcRenderer.off(channel, wrapped);
  };
}

const api = { invoke, on } as Api;
contextBridge.exposeInMainWorld('api', api);
