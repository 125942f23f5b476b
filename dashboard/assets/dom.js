// Building the page from data without ever parsing data as HTML.
//
// Every string given to h() becomes a text node or an attribute value, so a
// model description holding `<img src=x onerror=...>` is shown as those
// characters. The server's Trusted Types policy makes every HTML-string sink throw anyway.

const BOOLEAN_ATTRIBUTES = new Set(["disabled", "hidden", "required", "selected", "checked", "open"]);

/**
 * h("a", {href: "#/models", class: "x", onclick: fn}, "text", child, [more])
 * Attributes named on* take a function (an event listener), never a string.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) {
      if (typeof value !== "function") throw new TypeError(`${name} must be a function`);
      element.addEventListener(name.slice(2), value);
    } else if (name === "href") {
      const safe = safeHref(value);
      if (safe !== null) element.setAttribute("href", safe);
    } else if (name === "style") {
      throw new TypeError("no inline styles: use a class");
    } else if (name === "value" && "value" in element) {
      element.value = String(value);
    } else if (BOOLEAN_ATTRIBUTES.has(name)) {
      if (value) element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

/** Append strings (as text), nodes and (nested) arrays of them; null and false are skipped. */
export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace everything inside `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A link target we are willing to render: an in-app route, or an absolute http(s) URL. */
export function safeHref(value) {
  const text = String(value);
  if (text.startsWith("#")) return text;
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** A link that leaves the dashboard: opened in a new tab, without our referrer or window. */
export function externalLink(url, text) {
  const href = safeHref(url);
  if (href === null || href.startsWith("#")) return h("span", {}, text ?? String(url));
  return h("a", { href, target: "_blank", rel: "noopener noreferrer" }, text ?? href);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** The server's ISO-8601 time as a Date (naive strings are UTC, as the API promises). */
export function parseTime(iso) {
  if (!iso) return null;
  const text = /[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A <time> in the viewer's time zone, with UTC in its tooltip. */
export function time(iso) {
  const date = parseTime(iso);
  if (date === null) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: date.toISOString(), title: `${date.toISOString()} (UTC)` }, dateTime.format(date));
}

/** Numbers as people read them: up to 6 significant digits, no exponent for ordinary ones. */
export function number(value) {
  if (value === null || value === undefined) return "—";
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-4 || magnitude >= 1e9)) return value.toExponential(4);
  return String(Number(value.toPrecision(6)));
}

const STAGE_LABELS = { NONE: "None", STAGING: "Staging", PRODUCTION: "Production", ARCHIVED: "Archived" };

export function stageLabel(stage) {
  return STAGE_LABELS[stage] ?? String(stage);
}

export function stageBadge(stage) {
  return h("span", { class: `badge stage-${String(stage).toLowerCase()}` }, stageLabel(stage));
}

export function chip(text, kind = "tag") {
  return h("span", { class: `chip chip-${kind}` }, text);
}

/** `<label>` around a control: every control on the page has a visible name. */
export function field(label, control, hint = null) {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), control, hint && h("span", { class: "hint" }, hint));
}

export function message(kind, text) {
  return h("p", { class: `message message-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function table(headers, rows, caption = null) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      caption && h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows),
    ),
  );
}

export function modelHref(name) {
  return `#/models/${encodeURIComponent(name)}`;
}
