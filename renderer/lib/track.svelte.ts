/**
 * @file Track page state (renderer process): the track, its captions, the Q&A thread with streamed answers,
 * and similar tracks.
 */
import type { QaMessage, TrackDetail, TrackRow } from '../../preload/contract';
import { call, errorMessage, isUnavailable, on } from './api';

/** A message in the chat, including the answer being streamed. */
export interface ChatMessage {
  key: string;
  role: 'user' | 'assistant';
  text: string;
  isStreaming: boolean;
  error: string | null;
}

function newThreadId(): string {
  return `t-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** State of one open track. */
export class TrackState {
  track = $state<TrackDetail | null>(null);
  error = $state('');
  chat = $state<ChatMessage[]>([]);
  threadId = $state(newThreadId());
  isAsking = $state(false);
  qaUnavailable = $state(false);
  captionUnavailable = $state(false);
  captionJob = $state<{ jobId: number; text: string } | null>(null);
  /** Why the last Write caption / Regenerate failed, shown next to that button. */
  captionError = $state('');
  similar = $state<TrackRow[] | null>(null);
  similarError = $state('');
  /** The answer's job id while it streams. */
  private askingJob: number | null = null;
  private isStopRequested = false;
  /** Answers the user stopped: their late events (the cancellation) are ignored. */
  private stopped = new Set<number>();

  constructor(readonly trackId: number) {}

  async load(): Promise<void> {
    try {
      this.track = await call('track:get', this.trackId);
      this.error = '';
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  async loadHistory(): Promise<void> {
    try {
      const history = await call('qa:history', this.trackId);
      this.chat = history.map(toChat);
      const last = history.at(-1);
      if (last) this.threadId = last.threadId;
    } catch (e) {
      this.qaUnavailable = isUnavailable(e);
    }
  }

  /** Asks a question; the answer streams in through qa:progress. */
  async ask(question: string): Promise<void> {
    const q = question.trim();
    if (!q || this.isAsking) return;
    this.isAsking = true;
    this.chat.push({ key: `u-${Date.now()}`, role: 'user', text: q, isStreaming: false, error: null });
    this.chat.push({ key: `a-${Date.now()}`, role: 'assistant', text: '', isStreaming: true, error: null });
    try {
      const { jobId } = await call('qa:ask', { trackId: this.trackId, threadId: this.threadId, question: q });
      this.askingJob = jobId;
      if (this.isStopRequested) await this.stop();
    } catch (e) {
      this.qaUnavailable = isUnavailable(e);
      this.finishAnswer('', errorMessage(e));
    }
  }

  private finishAnswer(text: string, error: string | null): void {
    const last = this.chat.at(-1);
    if (last && last.role === 'assistant') {
      if (text) last.text = text;
      last.isStreaming = false;
      last.error = error;
    }
    this.isAsking = false;
    this.askingJob = null;
  }

  /** Stops the answer being streamed (its job is cancelled; the text so far stays, marked as stopped). */
  async stop(): Promise<void> {
    const jobId = this.askingJob;
    if (jobId === null) {
      // Stop pressed before the question reached the queue: stop as soon as it has a job.
      this.isStopRequested = this.isAsking;
      return;
    }
    this.isStopRequested = false;
    try {
      await call('jobs:cancel', jobId);
    } catch {
      // It finished meanwhile: the answer arrives as usual.
      return;
    }
    this.stopped.add(jobId);
    const last = this.chat.at(-1);
    this.finishAnswer(last?.text ?? '', null);
    if (last && last.role === 'assistant') last.text = `${last.text} (stopped)`.trim();
  }

  /** Starts a new conversation about the same track. */
  newThread(): void {
    this.threadId = newThreadId();
    this.chat = [];
  }

  async regenerate(): Promise<void> {
    try {
      this.captionError = '';
      const { jobId } = await call('caption:request', this.trackId);
      this.captionJob = { jobId, text: '' };
    } catch (e) {
      this.captionUnavailable = isUnavailable(e);
      this.captionError = errorMessage(e);
    }
  }

  async saveCaption(startMs: number, lengthMs: number, text: string): Promise<boolean> {
    try {
      await call('caption:edit', { trackId: this.trackId, startMs, lengthMs, text });
      await this.load();
      return true;
    } catch (e) {
      this.error = errorMessage(e);
      return false;
    }
  }

  async loadSimilar(): Promise<void> {
    try {
      this.similar = await call('similar:list', { trackId: this.trackId, limit: 10 });
      this.similarError = '';
    } catch (e) {
      this.similar = null;
      this.similarError = errorMessage(e);
    }
  }

  /** Subscribes to streamed answers and captions for this track; returns the teardown. */
  subscribe(): () => void {
    const offs = [
      on('qa:progress', (p) => {
        if (p.trackId !== this.trackId || p.threadId !== this.threadId || this.stopped.has(p.jobId)) return;
        if (this.askingJob !== null && p.jobId !== this.askingJob) return;
        const last = this.chat.at(-1);
        if (last && last.role === 'assistant' && last.isStreaming) last.text = p.text;
        if (p.done) this.finishAnswer(p.text, p.error);
      }),
      on('caption:progress', (p) => {
        if (p.trackId !== this.trackId) return;
        this.captionJob = p.done ? null : { jobId: p.jobId, text: p.text };
        if (p.error) this.captionError = p.error;
        if (p.done) void this.load();
      }),
    ];
    return () => offs.forEach((off) => off());
  }
}

function toChat(m: QaMessage): ChatMessage {
  return { key: `m-${m.id}`, role: m.role, text: m.text, isStreaming: false, error: null };
}
