/** The privacy policy (DESIGN §6): decisions in policy.ts, rendering in render.ts. Every path imports from here. */
export { eventLens, freeBusyDefaultLens, freeBusyLens, hasRight, higherRight, isPublic, lensKey, lensOfKey, levelOf, mostRestrictive, rightRank, widerLens } from './policy.ts';
export type { Lens, Right, ViewLevel, Viewer } from './policy.ts';
export { opaqueUid, redactIcs } from './redact-ics.ts';
export { busyInstanceShows, renderEvent, renderInstance } from './render.ts';
