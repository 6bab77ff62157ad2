/* global WebSocket, location, window */
// @file E2E preload shim (browser page): implements window.api — the same Api as preload/index.ts — over the
// bridge's WebSocket, so the unmodified renderer talks to the real handlers. Plain JS, served as-is.
(function () {
  'use strict';
  const pending = new Map();
  const listeners = new Map();
  const queue = [];
  let nextId = 1;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/__bridge/ws`);
  ws.addEventListener('open', () => {
    for (const m of queue.splice(0)) ws.send(m);
  });
  ws.addEventListener('message', (e) => {
    const msg = JSON.parse(e.data);
    if (msg.id !== undefined) {
      const resolve = pending.get(msg.id);
      pending.delete(msg.id);
      if (resolve) resolve(msg.result);
    } else if (msg.event) {
      for (const l of listeners.get(msg.event) || []) {
        try { l(msg.payload); } catch (err) { console.error(err); }
      }
    }
  });
  ws.addEventListener('close', () => {
    for (const [, resolve] of pending) resolve({ ok: false, error: { code: 'internal', message: 'The test bridge closed the connection' } });
    pending.clear();
  });
  function send(text) {
    if (ws.readyState === WebSocket.OPEN) ws.send(text);
    else queue.push(text);
  }
  const api = {
    invoke(channel, ...args) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        send(JSON.stringify({ id, channel, args }));
      });
    },
    on(channel, listener) {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel).add(listener);
      return () => listeners.get(channel).delete(listener);
    },
  };
  Object.defineProperty(window, 'api', { value: Object.freeze(api), writable: false });
})();
