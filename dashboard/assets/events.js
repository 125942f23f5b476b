// The registry's changes, live: one `registryEvents` subscription for the whole
// dashboard, resumed after the last cursor it saw whenever the connection drops.
// Pages say which events concern them and reload (debounced) when one comes.
//
// It starts after the newest event's cursor, read before subscribing: a
// subscription "from now" joins only when the server gets to it, and a change
// committed before that would be heard by nobody (the pages' reload on
// becoming live may have read just before it).

import { gql } from "./api.js";
import { STATUS } from "./live.js";

const LATEST_CURSOR = "query LatestEventCursor { latestEventCursor }";

const REGISTRY_EVENTS = `subscription RegistryEvents($after: String) {
  registryEvents(after: $after) { cursor type sequence occurredAt actor modelName version data }
}`;

// Several events of one change (a promotion archives the previous version) come
// together: one reload for all of them.
const SETTLE_MS = 120;

/** Sent to every listener when the stream (re)starts: what was missed before it may matter. */
export const RESYNC = Object.freeze({ type: "dashboard.resync" });

export class RegistryEvents {
  constructor(client) {
    this.client = client;
    this.cursor = null;
    this.listeners = new Set();
    this.stopSubscription = null;
    this.wasLive = false;
    this.generation = 0;
  }

  async start() {
    const mine = ++this.generation;
    if (this.cursor === null) {
      try {
        this.cursor = (await gql(LATEST_CURSOR)).latestEventCursor;
      } catch {
        // Not reachable now: subscribe from now; the reload on becoming live still catches up.
      }
      if (mine !== this.generation) return; // stopped (or started again) meanwhile
      // What pages loaded before the cursor was read may have missed a change: once more.
      this.dispatch(RESYNC);
    }
    this.stopSubscription = this.client.subscribe({
      query: REGISTRY_EVENTS,
      variables: () => ({ after: this.cursor }),
      next: (payload) => this.received(payload),
      error: () => {
        // The cursor was refused (or the subscription is unknown): start again from now.
        this.cursor = null;
      },
    });
  }

  stop() {
    this.generation += 1;
    if (this.stopSubscription) this.stopSubscription();
    this.stopSubscription = null;
    this.cursor = null;
  }

  /** The client's status changed: on becoming live, listeners catch up once. */
  statusChanged(status) {
    const live = status === STATUS.LIVE;
    if (live && !this.wasLive) this.dispatch(RESYNC);
    this.wasLive = live;
  }

  received(payload) {
    const event = payload && payload.data ? payload.data.registryEvents : null;
    if (!event) return;
    if (event.cursor) this.cursor = event.cursor;
    this.dispatch(event);
  }

  dispatch(event) {
    for (const listener of this.listeners) {
      if (event === RESYNC || listener.wants(event)) listener.fire();
    }
  }

  /** Call `reload` (at most once per SETTLE_MS) for events `wants` accepts, until `signal` aborts. */
  on(wants, reload, signal) {
    let timer = null;
    const listener = {
      wants,
      fire: () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (!signal.aborted) reload();
        }, SETTLE_MS);
      },
    };
    this.listeners.add(listener);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      this.listeners.delete(listener);
    });
  }
}

/** Event predicates the pages share. */
export const about = {
  any: () => true,
  model: (name) => (event) => event.modelName === name,
  models: () => (event) => event.type.startsWith("model") || event.type.startsWith("tag.") || event.type.startsWith("alias."),
  // A request changes when decided or checked, and goes stale when its version or alias moves.
  requests: () => (event) =>
    event.type.startsWith("transition_request.") ||
    event.type === "check.reported" ||
    event.type === "model_version.stage_changed" ||
    event.type === "model.rolled_back" ||
    event.type.startsWith("alias."),
};
