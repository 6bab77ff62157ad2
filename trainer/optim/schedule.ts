/**
 * @file Learning-rate schedule: linear warmup then cosine decay, per optimizer step. Plain TS.
 *
 * [Note: Reference schedule] MusiLingo's stage 2 uses LAVIS's LinearWarmupCosineLRScheduler: the rate rises
 * linearly from a small warmup rate to init_lr (3e-5), then follows a half cosine down to min_lr (1e-5).
 * LAVIS steps the cosine per epoch; a user's library gives few, short epochs, so we step it per optimizer step
 * over the whole run, which is the same curve sampled more finely.
 */

/** Parameters of {@link learningRateAt}. */
export interface ScheduleOptions {
  /** Peak rate reached at the end of warmup (reference: 3e-5). */
  readonly peakLr: number;
  /** Final rate at the last step (reference: 1e-5). */
  readonly minLr: number;
  /** Rate at step 0 of warmup (reference: 1e-6). */
  readonly warmupStartLr: number;
  /** Number of warmup steps; 0 skips warmup. */
  readonly warmupSteps: number;
  /** Total optimizer steps of the run. */
  readonly totalSteps: number;
}

/** The learning rate for optimizer step `step` (0-based). */
export function learningRateAt(step: number, o: ScheduleOptions): number {
  if (step < o.warmupSteps) {
    return o.warmupStartLr + ((o.peakLr - o.warmupStartLr) * step) / Math.max(1, o.warmupSteps);
  }
  const decaySteps = Math.max(1, o.totalSteps - o.warmupSteps - 1);
  const progress = Math.min(1, (step - o.warmupSteps) / decaySteps);
  return o.minLr + (o.peakLr - o.minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
