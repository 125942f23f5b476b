// The dashboard's entry point: session, navigation, the live connection, routing.

import { AuthError, gql, onAuthFailure } from "./api.js";
import { h, message, replace } from "./dom.js";
import { about, RegistryEvents } from "./events.js";
import { graphqlSocketUrl, LiveClient, STATUS } from "./live.js";
import * as session from "./session.js";
import { approvalsView } from "./views/approvals.js";
import { auditView } from "./views/audit.js";
import { modelView } from "./views/model.js";
import { modelsView } from "./views/models.js";
import { signInView, VIEWER } from "./views/signin.js";
import { webhookView, webhooksView } from "./views/webhooks.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const liveBadge = document.getElementById("live");
const who = document.getElementById("who");
const signOutButton = document.getElementById("sign-out");
const notice = document.getElementById("notice");

function refreshProblem(error) {
  if (error instanceof AuthError) return; // signing out says why
  notice.textContent = error ? `Not up to date: ${error.message}` : "";
}

// Hash routes: the page is served at `/` only, and nothing here is a secret.
const ROUTES = [
  { pattern: /^\/models$/, view: modelsView },
  { pattern: /^\/models\/([^/]+)$/, view: modelView, params: ["name"] },
  { pattern: /^\/approvals$/, view: approvalsView },
  { pattern: /^\/webhooks$/, view: webhooksView, role: "ADMIN" },
  { pattern: /^\/webhooks\/([^/]+)$/, view: webhookView, params: ["id"], role: "ADMIN" },
  { pattern: /^\/audit$/, view: auditView, role: "ADMIN" },
];

const NAV = [
  { href: "#/models", label: "Models", path: "/models" },
  { href: "#/approvals", label: "Approvals", path: "/approvals" },
  { href: "#/webhooks", label: "Webhooks", path: "/webhooks", role: "ADMIN" },
  { href: "#/audit", label: "Audit log", path: "/audit", role: "ADMIN" },
];

const LIVE_LABELS = {
  [STATUS.CONNECTING]: "connecting…",
  [STATUS.LIVE]: "live",
  [STATUS.RECONNECTING]: "reconnecting…",
  [STATUS.OFFLINE]: "offline",
};

const live = new LiveClient({
  url: graphqlSocketUrl(),
  token: session.token,
  onStatus: (status, detail) => {
    liveBadge.textContent = LIVE_LABELS[status];
    liveBadge.className = `live live-${status}`;
    liveBadge.title = detail || "";
    events.statusChanged(status);
  },
  // The socket only says 4401/4403; ask over HTTP why (expired, revoked, ...).
  onUnauthorized: () => verifySession(),
});
const events = new RegistryEvents(live);

let current = null; // the AbortController of the page on screen
let signedInScope = null; // aborted at sign-out: what lives as long as the session
let pendingCount = null; // requests waiting for a decision, shown beside "Approvals"

const PENDING = "query Pending { transitionRequests(first: 1, filter: {status: PENDING}) { totalCount } }";

function pendingLabel() {
  return pendingCount ? `${pendingCount} pending` : "";
}

async function refreshPending() {
  try {
    pendingCount = (await gql(PENDING)).transitionRequests.totalCount;
  } catch {
    return; // the page shows errors; the count just stays as it was
  }
  const badge = nav.querySelector("[data-pending]");
  if (badge) badge.textContent = pendingLabel();
}

function parseHash() {
  const raw = window.location.hash.startsWith("#/") ? window.location.hash.slice(1) : "/models";
  const [path, search = ""] = raw.split("?");
  return { path: path.replace(/\/+$/, "") || "/models", query: new URLSearchParams(search) };
}

/** Go to `hash`; `replace` keeps the history entry (a filter typed, a redirect). */
export function navigate(hash, { replace: replaceEntry = false } = {}) {
  if (replaceEntry) {
    window.history.replaceState(null, "", hash);
    route();
  } else window.location.hash = hash;
}

function renderChrome(path) {
  const viewer = session.currentViewer();
  const links = viewer
    ? NAV.filter((item) => !item.role || session.atLeast(item.role)).map((item) =>
        h(
          "a",
          { href: item.href, "aria-current": path.startsWith(item.path) ? "page" : null },
          item.label,
          item.path === "/approvals" ? [" ", h("span", { class: "count", "data-pending": "" }, pendingLabel())] : null,
        ),
      )
    : [];
  replace(nav, links);
  who.textContent = viewer ? `${viewer.name} · ${viewer.role.toLowerCase()}` : "";
  signOutButton.hidden = !viewer;
}

async function route() {
  const { path, query } = parseHash();
  if (current) current.abort();
  notice.textContent = "";
  const controller = new AbortController();
  current = controller;
  if (!session.token() || session.currentViewer() === null) {
    renderChrome(path);
    signInView({ main, reason: session.takeSignInReason(), signedIn });
    return;
  }
  renderChrome(path);
  const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
  if (!match) {
    replace(main, h("h1", {}, "Not found"), message("error", `Nothing at ${path}.`), h("a", { href: "#/models" }, "Models"));
    return;
  }
  if (match.r.role && !session.atLeast(match.r.role)) {
    replace(main, h("h1", {}, "Not allowed"), message("error", `This page is for ${match.r.role.toLowerCase()}s.`));
    return;
  }
  const params = {};
  (match.r.params || []).forEach((name, index) => {
    params[name] = decodeURIComponent(match.m[index + 1]);
  });
  const ctx = {
    main,
    params,
    query,
    signal: controller.signal,
    navigate,
    // A filter typed: the URL follows (to share or reload) without re-rendering the page.
    setUrl: (hash) => window.history.replaceState(null, "", hash),
    // A live reload that fails (the server restarting) says so in the top bar
    // and leaves the page as it was; the next one that works clears it.
    refreshOn: (wants, reload) =>
      events.on(
        wants,
        () =>
          Promise.resolve()
            .then(reload)
            .then(
              () => refreshProblem(null),
              (error) => refreshProblem(error),
            ),
        controller.signal,
      ),
  };
  try {
    await match.r.view(ctx);
  } catch (error) {
    if (controller.signal.aborted || error instanceof AuthError) return;
    replace(main, h("h1", {}, "Something went wrong"), message("error", error.message || String(error)));
  }
}

function signedIn(viewer) {
  session.setViewer(viewer);
  live.start();
  events.start();
  signedInScope = new AbortController();
  events.on(about.requests(), refreshPending, signedInScope.signal);
  refreshPending();
  const { path } = parseHash();
  if (path === "/sign-in") navigate("#/models", { replace: true });
  else route();
  main.focus();
}

function signOut(reason) {
  session.signOut(reason);
  if (signedInScope) signedInScope.abort();
  pendingCount = null;
  events.stop();
  live.stop();
  route();
}

/** Ask the server who we are; a refused token signs out with the server's reason. */
async function verifySession() {
  try {
    const data = await gql(VIEWER);
    return data.viewer;
  } catch (error) {
    if (!(error instanceof AuthError)) {
      replace(main, h("h1", {}, "modelreg"), message("error", error.message));
    }
    return null;
  }
}

onAuthFailure((error) => signOut(error.message));
signOutButton.addEventListener("click", () => signOut(null));
window.addEventListener("hashchange", () => {
  if (window.location.hash === "" || window.location.hash.startsWith("#/")) route();
});
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

async function start() {
  if (!session.token()) {
    route();
    return;
  }
  const viewer = await verifySession();
  if (viewer) signedIn(viewer);
  // Otherwise a refused token has signed out (and shows why), or verifySession said what failed.
}

start();
