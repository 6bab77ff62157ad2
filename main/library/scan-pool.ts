/**
 * @file A pool of scan threads that read files for the scanner in parallel with its database writes. Main
 * process and CLI; the threads run main/library/scan-thread.ts.
 *
 * [Note: Scan threads]
 * A CPU profile of the 2,000-file scan bench (real MP3 and FLAC files) showed the main thread busy with three
 * things in turn: asynchronous file calls (each open, read, stat and close a hand-off to libuv's pool and back:
 * with a handful per file that cost more than reading the bytes), music-metadata's parse (including building its
 * tag-name maps anew for every file), and the inserts (two FTS5 tables with prefix indexes follow every row).
 * Only the inserts must stay with the single writable connection. The pool moves everything else to worker
 * threads: each reads one file at a time with blocking calls (no hand-offs: a blocking read of a cached page
 * is a copy), hashes, sniffs and parses it, stats it again, and posts the outcome back, while the main thread
 * writes the previous batch. The outcome is the same plain data the in-process reader returns
 * (read-track.ts), so the scanner cannot tell them apart.
 *
 * A thread that dies (out of memory, a native crash, a terminate) fails only the file it was reading, with an
 * `internal` scan error naming it; the files queued behind it go to the other threads, and a replacement is
 * started (at most {@link MAX_RESTARTS} per pool). A thread that ends before saying it is ready (its entry
 * failed to load) costs no file and is not replaced. With no thread left the files are read in this thread.
 * Until a thread says it is ready (its modules take ~100 ms to load) reads happen in this thread, so a small
 * first scan is done before the threads matter and a large one loses no time waiting for them. The pool is used
 * only for the real file system (tests that inject faults through LibraryFs read in-process), on a folder's
 * first scan (started while the folder is listed) and for batches with enough files to pay for the start.
 */
import { Worker } from 'node:worker_threads';
import type { TrackReader, ReadOutcome } from './read-track';

/** One file for a scan thread to read. */
export interface ScanThreadRequest {
  readonly id: number;
  readonly path: string;
  readonly sizeBytes: number;
}

/** One file's outcome. */
export interface ScanThreadReply {
  readonly id: number;
  readonly outcome: ReadOutcome;
}

/**
 * Messages carry several files each (the reads the scanner asked for in one turn of the event loop; the
 * outcomes of one such batch): a message costs about as much as a small file's parse.
 */
export type ScanThreadRequests = readonly ScanThreadRequest[];
/** See {@link ScanThreadRequests}. */
export type ScanThreadReplies = readonly ScanThreadReply[];

/** A thread's first message: its modules loaded, it takes requests. */
export const SCAN_THREAD_READY = 'ready';

/** What the pool needs of a thread (a Node Worker; tests wrap one). */
export interface ScanThread {
  postMessage(message: ScanThreadRequests): void;
  on(event: 'message', listener: (message: ScanThreadReplies | typeof SCAN_THREAD_READY) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  terminate(): Promise<number>;
}

/** Starts one scan thread. */
export type ScanThreadLauncher = () => ScanThread;

/** Replacement threads started per pool after crashes. */
export const MAX_RESTARTS = 2;

/**
 * Reads to keep asked for per thread, so that a thread never runs dry while the main thread writes a batch of
 * 200 rows and cannot hand it more. With 128 (a thread's work for ~55 ms) the scan thread of the 2,000-file
 * bench sat idle a fifth of the scan, waiting for the main thread to come back from its writes; with 400
 * (~170 ms of work) the scan took 8–9 % less time (bench/scan-vs-beets.ts, alternating runs); more than that
 * measured no better. The outcomes waiting are small (tags as plain data).
 */
export const READS_IN_FLIGHT_PER_THREAD = 400;

/** Reads done in this thread at once while no thread can take them (as many as the scanner's own default). */
export const MAIN_THREAD_READS = 8;

/** A launcher of real worker threads on `entry` (the bundled scan.thread.mjs). */
export function workerThreadLauncher(entry: URL): ScanThreadLauncher {
  return () => {
    const w = new Worker(entry);
    // A thread left running must not keep the CLI alive; the pool terminates its threads when done.
    w.unref();
    return w as unknown as ScanThread;
  };
}

interface Pending {
  readonly req: ScanThreadRequest;
  readonly resolve: (o: ReadOutcome) => void;
  readonly signal: AbortSignal | undefined;
}

interface Slot {
  readonly thread: ScanThread;
  /** Requests posted and not answered, oldest first (a thread answers in order). */
  readonly inFlight: Map<number, Pending>;
  /** Requests of this turn of the event loop, posted together at its end. */
  outbox: ScanThreadRequest[];
  alive: boolean;
  /** Said {@link SCAN_THREAD_READY}: a thread that ends before that never read a file (a broken entry). */
  ready: boolean;
}

/** Scan threads behind the {@link TrackReader} interface. `fallback` reads in this thread when none is left. */
export class ScanThreadPool implements TrackReader {
  readonly #launch: ScanThreadLauncher;
  readonly #fallback: TrackReader;
  readonly #slots: Slot[] = [];
  /** Reads not yet handed to a thread or to this thread, oldest first. */
  readonly #waiting: Pending[] = [];
  /** Reads being done in this thread. */
  #inThread = 0;
  #nextId = 0;
  #restarts = 0;
  #closed = false;

  constructor(launch: ScanThreadLauncher, threads: number, fallback: TrackReader) {
    this.#launch = launch;
    this.#fallback = fallback;
    for (let i = 0; i < threads; i++) this.#start();
  }

  /** Threads running now. */
  get threads(): number {
    return this.#slots.filter((s) => s.alive).length;
  }

  /** Reads the scanner should keep asked for at once. */
  get concurrency(): number {
    return READS_IN_FLIGHT_PER_THREAD * Math.max(1, this.#slots.length);
  }

  /**
   * Reads `path` on the least busy ready thread, or in this thread while none is ready (at most
   * {@link MAIN_THREAD_READS} at once); the rest wait their turn. Never rejects.
   */
  read(path: string, sizeBytes: number, signal?: AbortSignal): Promise<ReadOutcome> {
    return new Promise((resolve) => {
      this.#waiting.push({ req: { id: this.#nextId++, path, sizeBytes }, resolve, signal });
      this.#drain();
    });
  }

  /**
   * Stops the threads (after the scan: nothing awaits a read any more); a second call does nothing. Reads
   * still waiting (asked for ahead of a scan that was then cancelled) are not done: they end as `internal`.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    for (const s of slots) s.alive = false;
    for (const p of this.#waiting.splice(0)) {
      const { path } = p.req;
      p.resolve({ ok: false, error: { path, code: 'internal', message: `"${path}" was not read: the scan ended first` } });
    }
    await Promise.all(slots.map((s) => s.thread.terminate().catch(() => 0)));
  }

  /** Hands waiting reads to ready threads with room, then to this thread up to its share. */
  #drain(): void {
    while (this.#waiting.length) {
      let best: Slot | undefined;
      if (!this.#closed) {
        for (const s of this.#slots) {
          if (s.alive && s.ready && s.inFlight.size < READS_IN_FLIGHT_PER_THREAD && (!best || s.inFlight.size < best.inFlight.size)) best = s;
        }
      }
      if (best) {
        this.#post(best, this.#waiting.shift()!);
      } else if (this.#inThread < MAIN_THREAD_READS && (this.#closed || !this.#slots.some((s) => s.alive && s.ready))) {
        // Only while no thread is ready: a share read here would delay this thread's writes and its answers to
        // the threads, which then sit idle (measured: the thread idled a fifth of the scan).
        const p = this.#waiting.shift()!;
        this.#inThread++;
        void this.#fallback.read(p.req.path, p.req.sizeBytes, p.signal).then((o) => {
          this.#inThread--;
          p.resolve(o);
          this.#drain();
        });
      } else {
        return;
      }
    }
  }

  #post(slot: Slot, p: Pending): void {
    slot.inFlight.set(p.req.id, p);
    if (slot.outbox.push(p.req) === 1) {
      queueMicrotask(() => {
        const batch = slot.outbox;
        slot.outbox = [];
        if (slot.alive && batch.length) slot.thread.postMessage(batch);
      });
    }
  }

  #start(): void {
    let thread: ScanThread;
    try {
      thread = this.#launch();
    } catch {
      return; // no thread: reads fall back to this thread
    }
    const slot: Slot = { thread, inFlight: new Map(), outbox: [], alive: true, ready: false };
    this.#slots.push(slot);
    thread.on('message', (replies: ScanThreadReplies | typeof SCAN_THREAD_READY) => {
      if (replies === SCAN_THREAD_READY) {
        slot.ready = true;
      } else {
        for (const reply of replies) {
          const p = slot.inFlight.get(reply.id);
          if (!p) continue;
          slot.inFlight.delete(reply.id);
          p.resolve(reply.outcome);
        }
      }
      this.#drain();
    });
    // An uncaught error in the thread is followed by 'exit'; without a listener 'error' would throw here.
    let lastError: Error | undefined;
    thread.on('error', (e: Error) => {
      lastError = e;
    });
    thread.on('exit', (code: number) => this.#onExit(slot, code, lastError));
  }

  #onExit(slot: Slot, code: number, error: Error | undefined): void {
    if (!slot.alive) return; // closed by us
    slot.alive = false;
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    const orphans = [...slot.inFlight.values()];
    slot.inFlight.clear();
    slot.outbox = [];
    // A thread that never got going (its entry failed to load) read nothing: no file is to blame, and starting
    // another from the same entry would fail the same way.
    if (!slot.ready) {
      this.#waiting.unshift(...orphans);
      this.#drain();
      return;
    }
    const culprit = orphans.shift();
    if (culprit) {
      const why = error ? error.message : `exit code ${code}`;
      const { path } = culprit.req;
      culprit.resolve({
        ok: false,
        error: { path, code: 'internal', message: `Reading "${path}" stopped the scan thread (${why}); the file was skipped and will be tried again by the next scan` },
      });
    }
    if (!this.#closed && this.#restarts < MAX_RESTARTS) {
      this.#restarts++;
      this.#start();
    }
    this.#waiting.unshift(...orphans);
    this.#drain();
  }
}
