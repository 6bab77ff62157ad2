/**
 * @file Checks that a tokenizer folder holds a tokenizer this app can run, before a pack is built from it or
 * registered: it is loaded with the same code inference uses (model/tokenizer) and run on a test string, so
 * that a pack never becomes Ready with a tokenizer that fails at the first caption (a UNIGRAM tokenizer.model,
 * a file that is not SentencePiece, bos/eos in the wrong place). Plain Node.
 */
import { join } from 'node:path';
import { loadLlamaTokenizer } from '../../model/tokenizer/llama-tokenizer';
import { BadCheckpointError } from './errors';

/** The string every tokenizer is run on: the prompt frame MusiLingo sends around the audio. */
export const TOKENIZER_TEST_STRING = '###Human: <Audio></Audio> Describe the music. ###Assistant: ';

/** What a checked tokenizer looks like. */
export interface TokenizerCheck {
  readonly file: string;
  readonly vocabSize: number;
  /** Ids of {@link TOKENIZER_TEST_STRING} (no special tokens). */
  readonly testIds: readonly number[];
}

/**
 * Loads the tokenizer in `dir`, checks bos `<s>` = 1 and eos `</s>` = 2 (LLaMA's, which the decoder was trained
 * with) and encodes a test string. Throws {@link BadCheckpointError} naming the file and the cause.
 */
export async function checkTokenizer(dir: string): Promise<TokenizerCheck> {
  const file = join(dir, 'tokenizer.model');
  let tok;
  try {
    tok = await loadLlamaTokenizer(dir);
  } catch (e) {
    throw new BadCheckpointError(`The tokenizer in ${dir} cannot be used: ${(e as Error).message}`);
  }
  if (tok.bosId !== 1 || tok.eosId !== 2) {
    throw new BadCheckpointError(`${file}: expected bos "<s>" = 1 and eos "</s>" = 2 (LLaMA's), found ${tok.bosId} and ${tok.eosId}`);
  }
  let ids: number[];
  try {
    ids = tok.encode(TOKENIZER_TEST_STRING);
    tok.decode(ids);
  } catch (e) {
    throw new BadCheckpointError(`${file} failed on a test string: ${(e as Error).message}`);
  }
  if (ids.length === 0) throw new BadCheckpointError(`${file} turned a test string into no tokens at all`);
  return { file, vocabSize: tok.vocabSize, testIds: ids };
}
