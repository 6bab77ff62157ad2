/**
 * @file zod schemas for every invoke channel's arguments (main process and the E2E bridge). The renderer is
 * untrusted input: every argument tuple is parsed here before a handler sees it (STYLE B3, B8).
 */
import { z } from 'zod';
import type { Invoke } from '../../preload/contract';

const id = z.number().int().positive();
const text = (max: number) => z.string().max(max);

const trackQuery = z.object({
  text: text(500),
  sort: z.enum(['relevance', 'title', 'artist', 'album', 'genre', 'year', 'durationMs', 'addedAt']),
  direction: z.enum(['asc', 'desc']),
  offset: z.number().int().min(0),
  limit: z.number().int().min(1).max(1000),
  genre: text(200),
  captioned: z.boolean().nullable(),
});

const libraryColumn = z.enum(['title', 'artist', 'album', 'trackNo', 'discNo', 'genre', 'year', 'durationMs', 'caption']);

/** Also parses the stored view (main/app/view-state.ts), so a stale or hand-edited row cannot break the page. */
export const libraryView = z.object({
  text: text(500),
  sort: trackQuery.shape.sort,
  direction: z.enum(['asc', 'desc']),
  genre: text(200),
  captioned: z.boolean().nullable(),
  isUserSort: z.boolean(),
  activeIndex: z.number().int().min(0),
  anchorIndex: z.number().int().min(0),
  selectedIds: z.array(id).max(1_000_000),
  hiddenColumns: z.array(libraryColumn).max(20),
  columnWidths: z.partialRecord(libraryColumn, z.number().int().min(40).max(2000)),
});

const trainOptions = z.object({
  modelId: text(200).min(1),
  steps: z.number().int().min(1).max(1_000_000),
  learningRate: z.number().positive().max(1),
  activate: z.boolean(),
});

const tagField = z.enum(['genre', 'mood', 'instruments', 'vocals', 'tempo', 'caption']);
const trackIds = z.array(id).max(100_000).nullable();

/** A tuple schema whose parsed output is exactly the channel's parameter list. */
type ArgsSchema<K extends keyof Invoke> = z.ZodType<Parameters<Invoke[K]>>;

/** One argument-tuple schema per channel; the mapped type makes a missing channel a compile error. */
export const schemas: { [K in keyof Invoke]: ArgsSchema<K> } = {
  'app:info': z.tuple([]),
  'settings:get': z.tuple([]),
  'settings:set': z.tuple([z.object({ theme: z.enum(['system', 'light', 'dark']).optional() }).strict()]) as ArgsSchema<'settings:set'>,
  'workers:status': z.tuple([]),
  'workers:restart': z.tuple([z.enum(['inference', 'trainer'])]),

  'library:list': z.tuple([trackQuery]),
  'library:genres': z.tuple([]),
  'track:get': z.tuple([id]),
  'library:ids': z.tuple([trackQuery.extend({ limit: z.number().int().min(1).max(1_000_000) })]),
  'library:get-view': z.tuple([]),
  'library:save-view': z.tuple([libraryView]) as ArgsSchema<'library:save-view'>,

  'folders:list': z.tuple([]),
  'folders:pick': z.tuple([]),
  'folders:add': z.tuple([text(4096).min(1, 'Folder path is empty')]),
  'folders:remove': z.tuple([id]),
  'folders:rescan': z.tuple([id]),
  'folders:errors': z.tuple([id]),

  'caption:request': z.tuple([id]),
  'caption:request-many': z.tuple([z.object({ trackIds: z.array(id).min(1).max(1_000_000).nullable(), redo: z.boolean(), dryRun: z.boolean() }).strict()]),
  'caption:edit': z.tuple([
    z.object({
      trackId: id,
      startMs: z.number().int().min(0),
      lengthMs: z.number().int().min(0),
      text: text(20_000).trim().min(1, 'Caption is empty'),
    }),
  ]),
  'qa:history': z.tuple([id]),
  'qa:ask': z.tuple([
    z.object({ trackId: id, threadId: text(100).min(1), question: text(4000).trim().min(1, 'Question is empty') }),
  ]),
  'qa:ask-many': z.tuple([z.object({ trackIds: z.array(id).min(1).max(100_000), question: text(4000).trim().min(1, 'Question is empty') }).strict()]),
  'similar:list': z.tuple([z.object({ trackId: id, limit: z.number().int().min(1).max(200) })]),

  'jobs:list': z.tuple([]),
  'jobs:pause': z.tuple([id.nullable()]),
  'jobs:resume': z.tuple([id.nullable()]),
  'jobs:cancel': z.tuple([id]),
  'jobs:retry': z.tuple([id]),
  'jobs:clear': z.tuple([]),

  'models:catalog': z.tuple([]),
  'models:download': z.tuple([text(200).min(1)]),
  'models:convert': z.tuple([z.object({ modelId: text(200).min(1), variant: z.enum(['float32', 'float16', 'int4']) })]),
  'models:activate': z.tuple([text(200).min(1)]),
  'models:doctor': z.tuple([]),

  'training:runs': z.tuple([]),
  'training:start': z.tuple([trainOptions]),
  'training:cancel': z.tuple([text(200).min(1)]),
  'training:loss': z.tuple([text(200).min(1)]),
  'training:adapters': z.tuple([]),
  'eval:run': z.tuple([
    z.object({
      predictionsPath: text(4096).min(1).nullable(),
      dataset: z.enum(['musiccaps', 'mi-short', 'mi-long', 'musicqa']).nullable(),
      annPath: text(4096).min(1).nullable(),
      audioDir: text(4096).min(1).nullable(),
      limit: z.number().int().min(1).max(1_000_000).nullable(),
      bertScore: z.boolean(),
    }).strict(),
  ]),
  'eval:paper': z.tuple([]),
  'training:activate': z.tuple([text(200)]),
  'training:stale-captions': z.tuple([]),
  'training:recaption-stale': z.tuple([]),

  'tags:get': z.tuple([id]),
  'tags:suggest': z.tuple([trackIds]),
  'tags:ask-model': z.tuple([trackIds]),
  'tags:decide': z.tuple([z.object({ trackId: id, field: tagField, decision: z.enum(['accepted', 'rejected']), value: text(2000).nullable() })]),
  'tags:set': z.tuple([z.object({ trackId: id, field: tagField, values: z.array(text(20_000).trim()).min(1).max(50) })]),
  'tags:bulk-accept': z.tuple([z.object({ field: tagField, whereEmpty: z.boolean(), dryRun: z.boolean() })]),
  'tags:preview': z.tuple([trackIds]),
  'tags:write': z.tuple([trackIds]),
  'tags:undo': z.tuple([text(100).min(1).nullable()]),
  'tags:history': z.tuple([]),
};
