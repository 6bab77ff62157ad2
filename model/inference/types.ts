/**
 * @file Types of the inference service: the loaded model pack's parts, requests and results. Plain data
 * (structured-clone-safe) except {@link InferencePack}, which lives inside the service process only.
 */

/** Which part of a track to analyse. Times are milliseconds at the track's own timeline. */
export type WindowSpec =
  | { readonly kind: 'default' }
  | { readonly kind: 'all' }
  | { readonly kind: 'at'; readonly startMs: number; readonly lengthMs?: number };

/** Pooled encoder output of one window: `rows` vectors of `dim` values (325-frame means), row-major. */
export interface PooledEmbedding {
  readonly rows: number;
  readonly dim: number;
  readonly data: Float32Array;
}

/** What the service reports about the loaded pack. */
export interface PackInfo {
  /** The pack's id as stored with captions (captions.model_id). */
  readonly modelId: string;
  /** The adapter in use ('' = the pack's own); captions.adapter_id. */
  readonly adapterId: string;
  /** The encoder's identity; windows.model_id and track_vectors.model_id. */
  readonly encoderId: string;
  readonly dir: string;
  /** Decoder hidden size (4096 for Vicuna-7B). */
  readonly hiddenSize: number;
  /** Decoder context length; prompts and answers must fit. */
  readonly maxPositions: number;
  readonly bosId: number;
  /** The execution provider that runs ('webgpu', 'cuda', 'cpu', …) and why, when it is not the first choice. */
  readonly executionProvider: string;
  /** Set when the provider asked for explicitly (or the one that was running) failed and another took over. */
  readonly fallbackReason?: string;
  /** With 'auto': why the providers tried before the one that runs were skipped (expected on most machines). */
  readonly providerNotes?: string;
  readonly variant: string;
}

/** Options for token generation. Greedy by default (DESIGN §3). */
export interface GenerationOptions {
  readonly maxNewTokens?: number;
  /** 0 = greedy. */
  readonly temperature?: number;
  readonly topP?: number;
  readonly repetitionPenalty?: number;
  readonly seed?: number;
}

/** What the generator gets from the service. */
export interface GenerateRequest extends GenerationOptions {
  /** One prompt per sequence: inputs_embeds, row-major [length, hiddenSize]. */
  readonly prompts: readonly Float32Array[];
  /** Called once per new token of sequence `index` (before stop handling; the stop token included). */
  readonly onToken?: (index: number, tokenId: number) => void;
  /** Sequence `index` is finished when this returns true for its new tokens so far. */
  readonly isDone: (index: number, newIds: readonly number[]) => boolean;
  readonly signal?: AbortSignal;
}

/**
 * A loaded model pack as the service uses it. Built by a pack loader from the pack's files (encoder.onnx,
 * decoder.onnx, embedding table, adapter.safetensors, tokenizer); tests may build one from the fixtures.
 */
export interface InferencePack {
  readonly info: PackInfo;
  /** Text → ids with no special tokens (SentencePiece "▁" prefix per call). */
  encodeText(text: string): number[];
  /** Ids → text (special tokens dropped). */
  decodeText(ids: readonly number[]): string;
  /** 24 kHz mono window → MERT → mean of hidden states → 325-frame pooling. */
  encodeAudio(pcm: Float32Array, signal?: AbortSignal): Promise<PooledEmbedding>;
  /** Adapter (llama_proj): pooled [rows, encDim] → [rows, hiddenSize]. */
  projectAudio(pooled: PooledEmbedding): Float32Array;
  /** Token embeddings [ids.length, hiddenSize]. */
  embedTokens(ids: readonly number[]): Promise<Float32Array>;
  /** Generates new token ids for each prompt (a batch across tracks); returns them per prompt. */
  generate(req: GenerateRequest): Promise<number[][]>;
  dispose(): Promise<void>;
}

/** A pack to load. */
export interface LoadRequest {
  /** The model pack folder (manifest.json, encoder.onnx, decoder.onnx, …). */
  readonly packDir: string;
  /** An adapter file to use instead of the pack's own (a fine-tuned one). */
  readonly adapterPath?: string;
  /** The adapter's id as stored with captions (captions.adapter_id); '' or absent = the pack's own. */
  readonly adapterId?: string;
  /** Preferred execution provider ('auto' tries the best first). */
  readonly executionProvider?: string;
  readonly threads?: number;
}

/** One track to caption or embed. `key` comes back with its result (the job id). */
export interface TrackItem {
  readonly key: string;
  readonly path: string;
  readonly window: WindowSpec;
}

/** One analysed window of a track. */
export interface WindowResult {
  readonly startMs: number;
  readonly lengthMs: number;
  readonly embedding: PooledEmbedding;
}

/** A captioned window. */
export interface CaptionedWindow extends WindowResult {
  readonly text: string;
  readonly tokens: number;
}

/** Per-track outcome: a failure of one track (vanished file) does not fail the batch. */
export type ItemResult<T> =
  | { readonly key: string; readonly ok: true; readonly value: T }
  | { readonly key: string; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/** A caption call: many tracks, batched on the decoder. */
export interface CaptionArgs {
  readonly items: readonly TrackItem[];
  /** Default: {@link CAPTION_QUESTION}. */
  readonly question?: string;
  readonly generation?: GenerationOptions;
}

/** An ask call. */
export interface AskArgs {
  readonly item: TrackItem;
  readonly question: string;
  readonly history?: readonly { readonly question: string; readonly answer: string }[];
  readonly generation?: GenerationOptions;
}

/** An answer. */
export interface AskValue extends CaptionedWindow {
  readonly turnsKept: number;
}

/** An embed call: every window of each track (or the given window). */
export interface EmbedArgs {
  readonly items: readonly TrackItem[];
}

/** A token event: the text so far of one window of one item (cut at "###"). */
export interface TokenEventData {
  readonly key: string;
  readonly startMs: number;
  readonly text: string;
}

/** A progress event: `done` of `total` work units of the call. */
export interface ProgressEventData {
  readonly key?: string;
  readonly stage: 'decode' | 'encode' | 'generate';
  readonly done: number;
  readonly total: number;
}
