/**
 * @file The message-port shape the rpc client and the supervisor use, whichever runtime launched the worker
 * (Electron's MessagePortMain in the app, Node's worker and child ports in the CLI and the E2E bridge). It is the
 * inference protocol's own port type; model/inference/protocol.ts also has the MessagePortMain adapter.
 */
export type { RpcPort as WorkerPort } from '../../model/inference/protocol';
