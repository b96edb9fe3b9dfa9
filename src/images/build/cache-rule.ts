/**
 * Which completed RUN steps get a layer cache entry (the one source of this rule; the keys that
 * decide what an entry may be reused for are cache-keys.ts).
 *
 * An entry costs a push into the cache in the build that makes it (the step's new layer; the
 * first entry on a base also stores the base's layers, ~7 s) and a pull in the build that starts
 * from it; running a step again costs its own time plus a gVisor sandbox start. So a RUN step is
 * cached when
 *  - it used the build's network (asked Cubby's resolver for a name or opened a connection,
 *    step-network.ts), however quick: that is how dependencies get installed (npm ci, pip, apt),
 *    and running it again would depend on the registries again (their speed, their being up,
 *    their answer not having changed), as Docker's cache avoids too; or
 *  - it took at least MIN_CACHED_STEP_MS: loading its entry is quicker than running it again.
 * Quick steps that stay local (echo, mkdir, chmod, a compile of a few files) are run again: a push
 * in every build that has them would cost more than it saves.
 */

/** A RUN step that used no network and was quicker than this is run again rather than cached. */
export const MIN_CACHED_STEP_MS = 4000;

export interface CompletedStep {
  /** How long the step took (its STEP line to its commit). */
  durationMs: number;
  /** Whether it resolved a name or opened a connection through the build's network (false: none, or not known). */
  usedNetwork: boolean;
}

export function worthCaching(step: CompletedStep): boolean {
  return step.usedNetwork || step.durationMs >= MIN_CACHED_STEP_MS;
}
