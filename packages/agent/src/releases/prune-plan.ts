// Which old releases to delete after a deploy. Pure: the store lists the
// folders and acts on the answer.
//
// The rule:
//   - the `keep` newest versions stay (the window);
//   - every version in `protect` (the running one, the last good one) stays
//     too, even when it is older than the window: deleting the folder a
//     process runs from, or the one a rollback returns to, is never right;
//   - a protected version inside the window takes one of its slots; one
//     outside it is kept in addition, so up to keep + protect.length remain.
//     It does not push a newer release out: those are the ones a rollback of
//     the next deploy wants.
//   - everything else is deleted.
// keep <= 0 deletes every unprotected version; a fractional keep is rounded
// down; NaN keeps everything (a bad number must not delete releases). Duplicates and order in the input do not matter; the answer
// is ascending and holds each version once.

/** Versions to delete so that at most `keep` remain besides the protected ones. */
export function planPrune(versions: number[], keep: number, protect: number[]): number[] {
  const unique = [...new Set(versions)].sort((a, b) => a - b);
  const slots = Number.isNaN(keep) ? unique.length : Math.max(0, Math.floor(keep));
  // slice(-0) would be the whole list, hence the explicit empty window.
  const window = new Set(slots === 0 ? [] : unique.slice(-slots));
  const kept = new Set(protect);
  return unique.filter((v) => !window.has(v) && !kept.has(v));
}
