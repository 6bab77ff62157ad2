/**
 * @file The push-event hub (main process, E2E bridge): services publish contract events here; the Electron
 * shell forwards them to windows with webContents.send, the bridge to its WebSocket clients.
 */
import { EVENTS, type EventChannel, type Events } from '../../preload/contract';

/** Receives every published event. */
export type EventSink = (channel: EventChannel, payload: Events[EventChannel]) => void;

/** Publish/subscribe for contract events. */
export interface EventHub {
  emit<K extends EventChannel>(channel: K, payload: Events[K]): void;
  /** Returns the unsubscribe function. */
  subscribe(sink: EventSink): () => void;
}

/** Creates a hub. Only allow-listed channels can be emitted (a typo fails loudly in development). */
export function createEventHub(): EventHub {
  const sinks = new Set<EventSink>();
  return {
    emit(channel, payload) {
      if (!Object.hasOwn(EVENTS, channel)) throw new Error(`Unknown event channel '${channel}'`);
      for (const sink of sinks) sink(channel, payload);
    },
    subscribe(sink) {
      sinks.add(sink);
      return () => {
        sinks.delete(sink);
      };
    },
  };
}
