// Models: search by name, filter by stage and tags, keyset pages; live.

import { gql } from "../api.js";
import { chip, field, h, message, modelHref, replace, stageBadge, table, time } from "../dom.js";
import { about } from "../events.js";
import { latest } from "../loading.js";
import { Pages } from "../paging.js";

const PAGE = 20;

const MODELS = `query Models($first: Int!, $after: String, $filter: ModelFilter) {
  models(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      name description updatedAt updatedBy
      tags { key value }
      aliases { alias version }
      latestVersion { version }
      productionVersion { version }
      stagingVersions { version }
    } }
  }
}`;

/** `key=value, key2=value2` as tag inputs; null when a pair has no `=`. */
export function parseTags(text) {
  const pairs = text.split(",").map((part) => part.trim()).filter(Boolean);
  const tags = [];
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) return null;
    tags.push({ key: pair.slice(0, at).trim(), value: pair.slice(at + 1).trim() });
  }
  return tags;
}

export async function modelsView(ctx) {
  const { main, query } = ctx;
  const state = {
    q: query.get("q") || "",
    stage: query.get("stage") || "",
    tags: query.get("tags") || "",
  };
  const pages = new Pages();

  const search = h("input", { type: "search", name: "q", value: state.q, placeholder: "part of a name", autocomplete: "off" });
  const stage = h(
    "select",
    { name: "stage" },
    h("option", { value: "" }, "any"),
    ["PRODUCTION", "STAGING", "ARCHIVED", "NONE"].map((s) => h("option", { value: s, selected: s === state.stage }, s.toLowerCase())),
  );
  const tags = h("input", { type: "text", name: "tags", value: state.tags, placeholder: "key=value, …", autocomplete: "off" });
  const results = h("section", { "aria-live": "polite", "aria-busy": "true" });
  const form = h(
    "form",
    { class: "filters", role: "search" },
    field("Name contains", search),
    field("Has a version in", stage),
    field("Tags", tags),
    h("button", { type: "submit" }, "Search"),
  );
  replace(main, h("h1", {}, "Models"), form, results);

  let typing = null;
  const changed = () => {
    state.q = search.value.trim();
    state.stage = stage.value;
    state.tags = tags.value.trim();
    pages.reset();
    const shared = new URLSearchParams();
    for (const key of ["q", "stage", "tags"]) if (state[key]) shared.set(key, state[key]);
    ctx.setUrl(`#/models${shared.size ? `?${shared}` : ""}`);
    load();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    changed();
  });
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(changed, 250);
  });
  stage.addEventListener("change", changed);
  tags.addEventListener("change", changed);

  const load = latest(
    ctx.signal,
    async () => {
      const tagInputs = parseTags(state.tags);
      if (tagInputs === null) throw new Error("Tags are key=value pairs separated by commas.");
      results.setAttribute("aria-busy", "true");
      const filter = { nameContains: state.q || null, hasVersionInStage: state.stage || null, tags: tagInputs };
      return (await gql(MODELS, { first: PAGE, after: pages.after, filter })).models;
    },
    (connection) => render(connection),
    (error) => replace(results, message("error", error.message)),
  );

  function render(connection) {
    results.setAttribute("aria-busy", "false");
    const rows = connection.edges.map(({ node }) =>
      h(
        "tr",
        { "data-model": node.name },
        h("th", { scope: "row" }, h("a", { href: modelHref(node.name) }, node.name), node.description && h("div", { class: "muted clamp" }, node.description)),
        h("td", {}, node.productionVersion ? [stageBadge("PRODUCTION"), ` v${node.productionVersion.version}`] : h("span", { class: "muted" }, "—")),
        h("td", {}, node.stagingVersions.length ? node.stagingVersions.slice(0, 5).map((v) => chip(`v${v.version}`, "staging")) : h("span", { class: "muted" }, "—")),
        h("td", {}, node.aliases.map((a) => chip(`@${a.alias} → v${a.version}`, "alias"))),
        h("td", {}, node.tags.slice(0, 6).map((t) => chip(`${t.key}=${t.value}`))),
        h("td", {}, node.latestVersion ? `v${node.latestVersion.version}` : "—"),
        h("td", {}, time(node.updatedAt), h("div", { class: "muted" }, node.updatedBy)),
      ),
    );
    const first = pages.index * PAGE + 1;
    const summary = connection.totalCount === 0 ? "No models match." : `${first}–${first + rows.length - 1} of ${connection.totalCount}`;
    replace(
      results,
      rows.length ? table(["Model", "Production", "Staging", "Aliases", "Tags", "Latest", "Updated"], rows) : null,
      pages.nav(connection.pageInfo, load, { summary }),
    );
  }

  ctx.refreshOn(about.models(), load);
  await load();
}
