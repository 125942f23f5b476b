// Loading a page's data: only the newest answer is shown (a slow one never
// overwrites a later one), and nothing once the viewer has left the page.

/**
 * A `load()` that runs `fetch` and hands its result to `show`; an error goes
 * to `fail` (default: thrown, for the router to show).
 */
export function latest(signal, fetch, show, fail = null) {
  let generation = 0;
  return async () => {
    const mine = ++generation;
    const current = () => mine === generation && !signal.aborted;
    let data;
    try {
      data = await fetch();
    } catch (error) {
      if (!current()) return;
      if (fail === null) throw error;
      fail(error);
      return;
    }
    if (current()) show(data);
  };
}
