/**
 * @file One handler per invoke channel (main process, E2E bridge). Handlers only call services: no SQL, no
 * Electron, so the same object serves ipcMain (register.ts) and the E2E WebSocket bridge. A service missing
 * from this build answers 'unavailable', which the renderer shows as an honest empty state.
 */
import type { Invoke } from '../../preload/contract';
import type { AppServices } from '../app/services';
import { createViewStore } from '../app/view-state';
import { tagsFacadeFor } from '../app/tags-adapter';
import { unavailable } from './errors';

/** A mapped type forces exactly one handler per channel (STYLE B3). */
export type Handlers = { [K in keyof Invoke]: (...args: Parameters<Invoke[K]>) => Promise<ReturnType<Invoke[K]>> };

function need<T>(service: T | null, what: string): T {
  if (service === null) throw unavailable(what);
  return service;
}

/** Creates the handlers over the wired services. */
export function createHandlers(s: AppServices): Handlers {
  const library = (): NonNullable<AppServices['library']> => need(s.library, 'The music library');
  const inference = (): NonNullable<AppServices['inference']> => need(s.inference, 'Captions and questions');
  const jobs = (): NonNullable<AppServices['jobs']> => need(s.jobs, 'The job queue');
  const models = (): NonNullable<AppServices['models']> => need(s.models, 'Model management');
  const training = (): NonNullable<AppServices['training']> => need(s.training, 'Adapter training');
  // Created on first use: handlers are also built over stub services that have no database (unit tests).
  let viewStore: ReturnType<typeof createViewStore> | undefined;
  const views = (): ReturnType<typeof createViewStore> => (viewStore ??= createViewStore(s.db));
  const tags = () => tagsFacadeFor(s.db, s.events);

  return {
    'app:info': async () => s.info(),
    'settings:get': async () => s.settings.get(),
    'settings:set': async (patch) => s.settings.update(patch),
    'workers:status': async () => s.workerStatus(),
    'workers:restart': async (name) => {
      // A conversion's worker is started again by converting again (Models page), not from here.
      const worker = name === 'converter' ? null : s.workers[name];
      if (!worker) throw unavailable(`The ${name} worker`);
      worker.start();
    },

    'library:list': async (q) => library().list(q),
    'library:genres': async () => library().genres(),
    'track:get': async (id) => library().get(id),
    'library:ids': async (q) => library().ids(q),
    'library:get-view': async () => views().getLibrary(),
    'library:save-view': async (view) => views().saveLibrary(view),

    'folders:list': async () => library().folders(),
    'folders:pick': async () => s.pickFolder(),
    'folders:add': async (path) => library().addFolder(path),
    'folders:remove': async (id) => library().removeFolder(id),
    'folders:rescan': async (id) => library().rescan(id),
    'folders:errors': async (id) => library().errors(id),

    'caption:request': async (trackId) => inference().requestCaption(trackId),
    'caption:request-many': async (q) => inference().requestCaptions(q),
    'caption:edit': async (edit) => inference().editCaption(edit),
    'qa:history': async (trackId) => inference().history(trackId),
    'qa:ask': async (q) => inference().ask(q),
    'qa:ask-many': async (q) => inference().askMany(q),
    'similar:list': async (q) => inference().similar(q),

    'jobs:list': async () => jobs().snapshot(),
    'jobs:pause': async (id) => jobs().pause(id),
    'jobs:resume': async (id) => jobs().resume(id),
    'jobs:cancel': async (id) => jobs().cancel(id),
    'jobs:retry': async (id) => jobs().retry(id),
    'jobs:clear': async () => jobs().clear(),

    'models:catalog': async () => models().catalog(),
    'models:download': async (id) => models().download(id),
    'models:convert': async (q) => models().convert(q),
    'models:activate': async (id) => models().activate(id),
    'models:doctor': async () => models().doctor(),

    'training:runs': async () => training().runs(),
    'training:start': async (opts) => training().start(opts),
    'training:cancel': async (id) => training().cancel(id),
    'training:loss': async (id) => training().loss(id),
    'training:adapters': async () => training().adapters(),
    'training:activate': async (id) => training().activate(id),
    'eval:run': async (q) => s.evaluation.run(q),
    'eval:paper': async () => s.evaluation.paper(),
    'training:stale-captions': async () => training().staleCaptions(),
    'training:recaption-stale': async () => training().recaptionStale(),

    'tags:get': async (trackId) => tags().get(trackId),
    'tags:suggest': async (ids) => tags().suggest(ids),
    'tags:ask-model': async (ids) => inference().askTagQuestions(ids),
    'tags:decide': async (q) => tags().decide(q),
    'tags:set': async (q) => tags().set(q),
    'tags:bulk-accept': async (q) => tags().bulkAccept(q),
    'tags:preview': async (ids) => tags().preview(ids),
    'tags:write': async (ids) => tags().write(ids),
    'tags:undo': async (batchId) => tags().undo(batchId),
    'tags:history': async () => tags().history(),
  };
}
