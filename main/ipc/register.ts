/**
 * @file Registers every invoke channel with ipcMain (main process): sender check, then the shared
 * validate-call-wrap path in dispatch.ts (STYLE B3).
 */
import { ipcMain } from 'electron';
import { INVOKE, type InvokeChannel } from '../../preload/contract';
import type { AppServices } from '../app/services';
import { isAppFrame } from '../security';
import { dispatchInvoke } from './dispatch';
import { fail } from './errors';
import { createHandlers } from './handlers';

/** Registers one ipcMain.handle per allow-listed channel. */
export function registerIpc(services: AppServices): void {
  const handlers = createHandlers(services);
  for (const channel of Object.keys(INVOKE) as InvokeChannel[]) {
    ipcMain.handle(channel, async (event, ...raw: unknown[]) => {
      if (!isAppFrame(event.senderFrame)) {
        services.log('error', `ipc ${channel}: rejected a call from an untrusted frame (${event.senderFrame?.url ?? 'gone'})`);
        return fail('internal', `Untrusted sender on ${channel}`);
      }
      return dispatchInvoke(handlers, channel, raw, (message, error) => services.log('error', message, error));
    });
  }
}
