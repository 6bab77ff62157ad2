/**
 * @file The demo model's id and label, apart from its installer (main/models/demo.ts, which pulls in the
 * tokenizer vocabulary), so that every listing can label it cheaply. Plain Node.
 */

/** The demo's model id; its pack is `demo@float32`. */
export const DEMO_MODEL_ID = 'demo';

/** How the demo is labelled wherever a model or pack is listed. */
export const DEMO_LABEL = 'demo: random weights, writes gibberish';

/** The label of a model id: {@link DEMO_LABEL} for the demo, else undefined. */
export function modelLabel(modelId: string): string | undefined {
  return modelId === DEMO_MODEL_ID ? DEMO_LABEL : undefined;
}
