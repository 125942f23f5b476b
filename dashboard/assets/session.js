// Who is signed in: the token (sessionStorage only: gone with the tab, never
// in a URL or a cookie) and the viewer the server says it belongs to.

const TOKEN_KEY = "modelreg.token";
const ROLES = ["READER", "WRITER", "MAINTAINER", "ADMIN"];

let viewer = null;
let signInReason = null;

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(newToken, who) {
  sessionStorage.setItem(TOKEN_KEY, newToken);
  viewer = who;
  signInReason = null;
}

export function setViewer(who) {
  viewer = who;
}

/** Forget the token; `reason` is shown on the sign-in page (expired, revoked, ...). */
export function signOut(reason = null) {
  sessionStorage.removeItem(TOKEN_KEY);
  viewer = null;
  signInReason = reason;
}

/** The reason for the last forced sign-out, once. */
export function takeSignInReason() {
  const reason = signInReason;
  signInReason = null;
  return reason;
}

export function currentViewer() {
  return viewer;
}

/** The viewer's role is `role` or above (the server decides anyway; this hides what would fail). */
export function atLeast(role) {
  return viewer !== null && ROLES.indexOf(viewer.role) >= ROLES.indexOf(role);
}

/** The viewer's token may change `modelName` (no patterns: every model). */
export function mayChange(modelName) {
  if (viewer === null) return false;
  return viewer.models.length === 0 || viewer.models.some((pattern) => fnmatch(pattern).test(modelName));
}

/** Python's fnmatch.fnmatchcase as a RegExp: `*`, `?`, `[seq]`, `[!seq]`. */
export function fnmatch(pattern) {
  let source = "";
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i];
    if (c === "*") source += "[\\s\\S]*";
    else if (c === "?") source += "[\\s\\S]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) {
        source += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
      if (body.startsWith("!")) body = `^${body.slice(1)}`;
      else if (body.startsWith("^")) body = `\\${body}`;
      source += `[${body}]`;
      i = end;
    } else source += c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}
