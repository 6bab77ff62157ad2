/**
 * @file App-wide UI state (renderer process): current page, open track, theme, app info and worker status.
 * Shared through a typed context (STYLE B7).
 */
import { createContext } from 'svelte';
import type { AppInfo, Events, PageId, Settings, WorkerStatus } from '../../preload/contract';
import { call, errorMessage, on } from './api';
import { LibraryState } from './library.svelte';

/** Where the user is. */
export type Route = { page: PageId } | { page: 'track'; trackId: number; from: PageId };

/** The app's global state. */
export class AppState {
  route = $state<Route>({ page: 'library' });
  info = $state<AppInfo | null>(null);
  settings = $state<Settings>({ theme: 'system' });
  workers = $state<WorkerStatus[]>([]);
  /**
   * Whether a converted model is ready for captions, questions and similar tracks: null while unknown (or
   * when this build has no model management), so nothing is disabled on a guess.
   */
  hasModel = $state<boolean | null>(null);
  /** The Library's query, selection and scroll: kept for the session (Back) and stored (restarts). */
  readonly library = new LibraryState();
  #notice = $state('');
  #noticeTimer: ReturnType<typeof setTimeout> | undefined;

  /** A short message for the status line (announced politely to screen readers); clears itself after 8 s. */
  get notice(): string {
    return this.#notice;
  }
  set notice(text: string) {
    this.#notice = text;
    clearTimeout(this.#noticeTimer);
    if (text) this.#noticeTimer = setTimeout(() => (this.#notice = ''), 8_000);
  }
  /** Prefers-color-scheme, tracked live. */
  systemDark = $state(false);
  /** Bumped when a menu command asks for the search box. */
  focusSearchRequest = $state(0);
  /** The last request the Library page acted on (plain field: handling it must not re-run effects). */
  focusSearchHandled = 0;

  /** The theme actually shown. */
  readonly theme = $derived<'light' | 'dark'>(
    this.settings.theme === 'system' ? (this.systemDark ? 'dark' : 'light') : this.settings.theme,
  );

  /** Loads app info and settings; call once at startup. */
  async load(): Promise<void> {
    try {
      const [info, settings, workers] = await Promise.all([call('app:info'), call('settings:get'), call('workers:status')]);
      this.info = info;
      this.settings = settings;
      this.workers = workers;
      if (info.features.models) await this.loadModelState();
    } catch (e) {
      this.notice = `Could not reach the app backend: ${errorMessage(e)}`;
    }
  }

  /** Asks the catalog whether any model is ready (at start, and after a download or conversion moves). */
  async loadModelState(): Promise<void> {
    try {
      const catalog = await call('models:catalog');
      this.hasModel = catalog.some((m) => m.state === 'ready' || m.variants.length > 0);
    } catch {
      this.hasModel = null;
    }
  }

  /** Goes to a page (and moves focus to its heading, done by the page). */
  navigate(page: PageId): void {
    this.route = { page };
  }

  /** Opens the Track page. */
  openTrack(trackId: number): void {
    const from = this.route.page === 'track' ? this.route.from : this.route.page;
    this.route = { page: 'track', trackId, from };
  }

  /** Cycles system → dark/light toggle: the explicit opposite of what is shown now. */
  async toggleTheme(): Promise<void> {
    await this.setTheme(this.theme === 'dark' ? 'light' : 'dark');
  }

  async setTheme(theme: Settings['theme']): Promise<void> {
    this.settings = { ...this.settings, theme };
    try {
      this.settings = await call('settings:set', { theme });
    } catch (e) {
      this.notice = `Could not save the theme: ${errorMessage(e)}`;
    }
  }

  /** Handles a menu/shortcut command from main. */
  onCommand(cmd: Events['app:command']): void {
    if (cmd.command === 'navigate') this.navigate(cmd.page);
    else if (cmd.command === 'focus-search') {
      this.navigate('library');
      this.focusSearchRequest++;
    } else void this.toggleTheme();
  }

  /** Subscribes to worker and command events; returns the teardown. */
  subscribe(): () => void {
    const offs = [
      on('workers:changed', (w) => {
        this.workers = [...this.workers.filter((x) => x.name !== w.name), w];
        if (w.state === 'restarting' || w.state === 'failed') this.notice = w.lastError ?? `The ${w.name} worker stopped.`;
        else if (w.state === 'running' && w.restarts > 0) this.notice = `The ${w.name} worker was restarted and is running again.`;
      }),
      on('app:command', (c) => this.onCommand(c)),
      on('models:progress', (p) => {
        if (p.progress >= 1) void this.loadModelState();
      }),
    ];
    return () => offs.forEach((off) => off());
  }

  /** True when the build has this feature (unknown until info loads → assume yes). */
  has(feature: keyof AppInfo['features']): boolean {
    return this.info?.features[feature] ?? true;
  }
}

/** [get, set] for the AppState context. */
export const [getAppState, setAppState] = createContext<AppState>();
