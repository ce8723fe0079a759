/**
 * The two parts of a Graphēon release, in the order the tool handles them (pulls, restarts,
 * reports): the one list every loop over them uses.
 */

/** Backend, then frontend. */
export const COMPONENTS = ["backend", "frontend"] as const;

/** One of the two. */
export type Component = typeof COMPONENTS[number];
