// Keyset paging: a page is asked for by the cursor of the one before it, so
// going back means remembering the cursors we came through.

import { h } from "./dom.js";

export class Pages {
  constructor() {
    this.reset();
  }

  reset() {
    this.before = []; // the `after` of each page before this one
    this.after = null; // this page's `after`
  }

  get index() {
    return this.before.length;
  }

  /** ← and → buttons (and `summary` between them) that move and call `load`. */
  nav(pageInfo, load, { back = "← Previous", forward = "Next →", summary = null } = {}) {
    const previous = h("button", { type: "button", class: "quiet", disabled: this.before.length === 0 }, back);
    const next = h("button", { type: "button", class: "quiet", disabled: !pageInfo.hasNextPage }, forward);
    previous.addEventListener("click", () => {
      this.after = this.before.pop() ?? null;
      load();
    });
    next.addEventListener("click", () => {
      this.before.push(this.after);
      this.after = pageInfo.endCursor;
      load();
    });
    return h("nav", { class: "pager", "aria-label": "Pages" }, previous, summary && h("span", { class: "muted" }, summary), next);
  }
}
