/**
 * @file Child process of the kill/resume test: trains the synthetic task and prints one line per checkpoint,
 * pausing after each so the parent can SIGKILL it mid-run. argv: <checkpointPath> <steps>.
 */
import { runTraining } from '../../../trainer/run/train-loop';
import { makeSyntheticTask } from './synthetic';

const [checkpointPath, steps] = process.argv.slice(2);
const task = await makeSyntheticTask(Number(steps));
await runTraining({
  ...task,
  initialAdapter: task.adapter,
  checkpointPath: checkpointPath!,
  resume: true,
  onProgress: async (p) => {
    if (p.kind === 'checkpoint') {
      process.stdout.write(`checkpoint ${p.step}\n`);
      await new Promise((r) => setTimeout(r, 300));
    }
  },
});
process.stdout.write('done\n');
