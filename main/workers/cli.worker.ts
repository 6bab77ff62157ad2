/**
 * @file Entry of the "cli" utility process (thin): runs the bundled CLI (out/cli/musilingo.mjs) with the
 * arguments main posts first, as `node musilingo.mjs …` would, and exits with its exit code. It is how the app
 * runs the CLI for long work (the Evaluation page's eval) without ELECTRON_RUN_AS_NODE, so the RunAsNode fuse
 * is off (see [Note: The CLI as a child process]). Nothing from the rest of main/ is imported.
 */
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { connectToParent } from '../../model/worker-host';

/** What main posts first: validated, because it crosses a process boundary. */
const Start = z.object({ cliPath: z.string().min(1), args: z.array(z.string()) });

void connectToParent('cli.worker').then(async ({ data }) => {
  const { cliPath, args } = Start.parse(data);
  // The CLI reads its arguments from process.argv.slice(2), whatever argv the utility process was given.
  process.argv = [process.execPath, cliPath, ...args];
  await import(pathToFileURL(cliPath).href);
  // The CLI sets process.exitCode; the port to main would keep this process alive, so end it here.
  process.exit(process.exitCode ?? 0);
});
