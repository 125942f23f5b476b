// Markdown (a model card) to DOM nodes, without ever producing HTML.
//
// Why our own and not marked + DOMPurify: a renderer that builds elements with
// createElement and text nodes cannot emit markup, so there is nothing to
// sanitise; raw HTML in a card is shown as the characters it is. It covers what
// model cards use (headings, paragraphs, emphasis, code, lists, tables, quotes,
// links, rules); links go to http(s) only; images become links (the page loads
// no third-party content: CSP img-src 'self').

import { h, safeHref } from "./dom.js";

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const LIST_ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const TABLE_SEPARATOR = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;
const BLANK = /^[ \t]*$/;
const INDENTED_CODE = /^( {4}|\t)(.*)$/;
const PUNCTUATION = /[!-/:-@[-`{-~]/;

/** A card's Markdown as a DocumentFragment. Headings start at <h3> (the page has h1, h2). */
export function renderMarkdown(source) {
  const lines = String(source ?? "").replace(/\r\n?/g, "\n").split("\n");
  const fragment = document.createDocumentFragment();
  for (const node of blocks(lines)) fragment.appendChild(node);
  return fragment;
}

function blocks(lines) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) {
      i += 1;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const close = new RegExp(`^ {0,3}${fence[1][0] === "`" ? "`" : "~"}{${fence[1].length},}[ \\t]*$`);
      const body = [];
      i += 1;
      while (i < lines.length && !close.test(lines[i])) body.push(lines[i++]);
      i += 1;
      const language = fence[2].trim().split(/\s+/)[0];
      out.push(h("pre", {}, h("code", language ? { "data-language": language } : {}, body.join("\n"))));
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = Math.min(6, heading[1].length + 2);
      out.push(h(`h${level}`, {}, inline(heading[2] || "")));
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      out.push(h("hr"));
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(QUOTE.exec(lines[i++])[1]);
      out.push(h("blockquote", {}, blocks(body)));
      continue;
    }
    if (LIST_ITEM.test(line)) {
      const [list, next] = listAt(lines, i);
      out.push(list);
      i = next;
      continue;
    }
    if (INDENTED_CODE.test(line)) {
      const body = [];
      while (i < lines.length && (INDENTED_CODE.test(lines[i]) || BLANK.test(lines[i]))) {
        body.push(lines[i].replace(/^( {4}|\t)/, ""));
        i += 1;
      }
      while (body.length && BLANK.test(body[body.length - 1])) body.pop();
      out.push(h("pre", {}, h("code", {}, body.join("\n"))));
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1])) {
      const [tableNode, next] = tableAt(lines, i);
      out.push(tableNode);
      i = next;
      continue;
    }
    const paragraph = [];
    while (i < lines.length && !BLANK.test(lines[i]) && !startsBlock(lines, i)) paragraph.push(lines[i++]);
    if (paragraph.length === 0) paragraph.push(lines[i++]); // a line no block rule took after all
    out.push(h("p", {}, inline(paragraph.join("\n"))));
  }
  return out;
}

function startsBlock(lines, i) {
  const line = lines[i];
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    LIST_ITEM.test(line) ||
    (line.includes("|") && i + 1 < lines.length && TABLE_SEPARATOR.test(lines[i + 1]))
  );
}

/** A list starting at line `start`; items' continuation lines and nested lists are indented. */
function listAt(lines, start) {
  const first = LIST_ITEM.exec(lines[start]);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const list = h(ordered ? "ol" : "ul");
  if (ordered && Number.parseInt(first[2], 10) !== 1) list.setAttribute("start", String(Number.parseInt(first[2], 10)));
  let i = start;
  while (i < lines.length) {
    const item = LIST_ITEM.exec(lines[i]);
    if (!item || item[1].length !== indent || /\d/.test(item[2]) !== ordered) break;
    const body = [item[3]];
    i += 1;
    while (i < lines.length) {
      const line = lines[i];
      if (BLANK.test(line)) {
        const following = lines[i + 1];
        if (following !== undefined && /^\s+\S/.test(following) && leading(following) > indent) {
          body.push("");
          i += 1;
          continue;
        }
        break;
      }
      const nested = LIST_ITEM.exec(line);
      if (nested && nested[1].length <= indent) break;
      if (!nested && leading(line) <= indent && startsBlock(lines, i)) break;
      body.push(line.slice(Math.min(leading(line), indent + 2)));
      i += 1;
    }
    const inner = body.some((text) => LIST_ITEM.test(text) || BLANK.test(text));
    list.appendChild(h("li", {}, inner ? blocks(body) : inline(body.join("\n"))));
    while (i < lines.length && BLANK.test(lines[i]) && LIST_ITEM.test(lines[i + 1] || "") && leading(lines[i + 1]) === indent) i += 1;
  }
  return [list, i];
}

function leading(line) {
  return line.length - line.trimStart().length;
}

function cells(line) {
  let text = line.trim();
  if (text.startsWith("|")) text = text.slice(1);
  if (text.endsWith("|") && !text.endsWith("\\|")) text = text.slice(0, -1);
  const out = [];
  let current = "";
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === "\\" && text[i + 1] === "|") {
      current += "|";
      i += 1;
    } else if (text[i] === "|") {
      out.push(current.trim());
      current = "";
    } else current += text[i];
  }
  out.push(current.trim());
  return out;
}

function tableAt(lines, start) {
  const header = cells(lines[start]);
  const aligns = cells(lines[start + 1]).map((spec) => {
    if (spec.startsWith(":") && spec.endsWith(":")) return "center";
    if (spec.endsWith(":")) return "right";
    return null;
  });
  const cell = (tag, text, column) => h(tag, aligns[column] ? { class: `align-${aligns[column]}` } : {}, inline(text));
  const rows = [];
  let i = start + 2;
  while (i < lines.length && !BLANK.test(lines[i]) && lines[i].includes("|")) {
    const values = cells(lines[i]);
    rows.push(h("tr", {}, header.map((_, column) => cell("td", values[column] ?? "", column))));
    i += 1;
  }
  const table = h(
    "table",
    {},
    h("thead", {}, h("tr", {}, header.map((text, column) => cell("th", text, column)))),
    h("tbody", {}, rows),
  );
  return [h("div", { class: "table-wrap" }, table), i];
}

/** Inline Markdown: code, emphasis, strikethrough, links, autolinks, breaks, escapes. */
export function inline(text) {
  const out = [];
  let plain = "";
  const flush = () => {
    if (plain) out.push(document.createTextNode(plain));
    plain = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length && PUNCTUATION.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "\\" && text[i + 1] === "\n") {
      flush();
      out.push(h("br"));
      i += 2;
      continue;
    }
    if (c === "\n") {
      if (/ {2,}$/.test(plain)) {
        plain = plain.replace(/ +$/, "");
        flush();
        out.push(h("br"));
      } else plain += "\n";
      i += 1;
      continue;
    }
    if (c === "`") {
      const run = /^`+/.exec(text.slice(i))[0];
      const end = text.indexOf(run, i + run.length);
      if (end !== -1) {
        flush();
        out.push(h("code", {}, text.slice(i + run.length, end).replace(/\n/g, " ").trim() || " "));
        i = end + run.length;
        continue;
      }
      plain += run;
      i += run.length;
      continue;
    }
    const link = c === "[" || (c === "!" && text[i + 1] === "[") ? linkAt(text, i) : null;
    if (link) {
      flush();
      out.push(link.node);
      i = link.end;
      continue;
    }
    if (c === "<") {
      const auto = /^<(https?:\/\/[^\s<>]+)>/.exec(text.slice(i));
      if (auto) {
        flush();
        out.push(anchor(auto[1], [auto[1]]));
        i += auto[0].length;
        continue;
      }
    }
    const emphasis = emphasisAt(text, i);
    if (emphasis) {
      flush();
      out.push(emphasis.node);
      i = emphasis.end;
      continue;
    }
    plain += c;
    i += 1;
  }
  flush();
  return out;
}

function anchor(url, children) {
  const href = safeHref(url);
  if (href === null || href.startsWith("#")) return h("span", {}, children);
  return h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, children);
}

/** [text](url "title") or ![alt](url) at `start`; null when it is not one. */
function linkAt(text, start) {
  const image = text[start] === "!";
  const open = image ? start + 1 : start;
  let depth = 0;
  let close = -1;
  for (let i = open; i < text.length; i += 1) {
    if (text[i] === "\\") i += 1;
    else if (text[i] === "[") depth += 1;
    else if (text[i] === "]" && --depth === 0) {
      close = i;
      break;
    }
  }
  if (close === -1 || text[close + 1] !== "(") return null;
  const target = /^\(\s*<?([^\s()<>]*)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/.exec(text.slice(close + 1));
  if (!target) return null;
  const label = text.slice(open + 1, close);
  const end = close + 1 + target[0].length;
  if (image) return { node: anchor(target[1], [`image: ${label || target[1]}`]), end };
  return { node: anchor(target[1], inline(label)), end };
}

/** **strong**, __strong__, *em*, _em_ or ~~del~~ at `start`; null when it is not one. */
function emphasisAt(text, start) {
  const rest = text.slice(start);
  const delimiter = ["**", "__", "~~", "*", "_"].find((d) => rest.startsWith(d));
  if (!delimiter) return null;
  const after = text[start + delimiter.length];
  if (after === undefined || /\s/.test(after)) return null;
  const underscore = delimiter[0] === "_";
  // snake_case stays as it is: `_` opens and closes only at word edges.
  if (underscore && start > 0 && /[\p{L}\p{N}]/u.test(text[start - 1])) return null;
  let from = start + delimiter.length;
  while (from < text.length) {
    const end = text.indexOf(delimiter, from);
    if (end === -1) return null;
    const before = text[end - 1];
    const next = text[end + delimiter.length];
    const closesWord = !underscore || next === undefined || !/[\p{L}\p{N}]/u.test(next);
    const single = delimiter.length === 1 && next === delimiter; // `*` of a `**`
    if (end > start + delimiter.length && !/\s/.test(before) && closesWord && !single && text[end - 1] !== "\\") {
      const tag = delimiter === "~~" ? "del" : delimiter.length === 2 ? "strong" : "em";
      return { node: h(tag, {}, inline(text.slice(start + delimiter.length, end))), end: end + delimiter.length };
    }
    from = end + delimiter.length;
  }
  return null;
}
