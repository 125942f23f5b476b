// Comparing versions of a model: metrics and params side by side with their deltas
// against a baseline (by default the current Production version), computed on the
// server by `compareModelVersions`; beside it, a compared version's model card.

import { gql } from "../api.js";
import { field, h, message, number, replace, stageBadge, table } from "../dom.js";
import { atLeast, mayChange } from "../session.js";
import { modelCardPanel } from "./model_card.js";

// The server compares at most this many versions at once.
export const MAX_COMPARED = 10;
const ROWS = 100;

const COMPARE = `query Compare($name: String!, $versions: [Int!]!, $baseline: Int, $onlyDifferent: Boolean!, $rows: Int!) {
  compareModelVersions(name: $name, versions: $versions, baseline: $baseline) {
    baseline { version stage }
    versions {
      version stage modelCard
      modelCardHistory(first: 1) { edges { node { actor createdAt } } }
    }
    metrics(first: $rows, onlyDifferent: $onlyDifferent) {
      totalCount
      edges { node { key baselineValue differs values { version value delta relativeDelta } } }
    }
    params(first: $rows, onlyDifferent: $onlyDifferent) {
      totalCount
      edges { node { key baselineValue differs values { version value differsFromBaseline } } }
    }
  }
}`;

function signed(value, format = number) {
  if (value === undefined || value === null) return "";
  const sign = value > 0 ? "+" : value < 0 ? "−" : "±";
  return `${sign}${format(Math.abs(value))}`;
}

const percent = (value) => `${Number((value * 100).toPrecision(3))} %`;

function metricCell(value) {
  if (value.value === null) return h("td", { class: "num muted" }, "—");
  return h(
    "td",
    { class: "num", "data-version": value.version },
    number(value.value),
    value.delta !== null ? h("div", { class: "delta" }, signed(value.delta), value.relativeDelta !== null ? h("span", { class: "muted" }, ` (${signed(value.relativeDelta, percent)})`) : null) : null,
  );
}

function comparisonTables(result) {
  const baseline = result.baseline ? `v${result.baseline.version} (baseline)` : "no baseline";
  const headers = (first) => [first, baseline, ...result.versions.map((v) => `v${v.version}`)];
  const metrics = result.metrics.edges.map(({ node }) =>
    h(
      "tr",
      { "data-metric": node.key, class: node.differs ? null : "same" },
      h("th", { scope: "row" }, node.key),
      h("td", { class: "num" }, number(node.baselineValue)),
      node.values.map(metricCell),
    ),
  );
  const params = result.params.edges.map(({ node }) =>
    h(
      "tr",
      { "data-param": node.key, class: node.differs ? "changed" : null },
      h("th", { scope: "row" }, node.key),
      h("td", {}, node.baselineValue ?? "—"),
      node.values.map((v) => h("td", { class: v.differsFromBaseline ? "differs" : null }, v.value ?? "—")),
    ),
  );
  const more = (connection, what) =>
    connection.totalCount > connection.edges.length ? h("p", { class: "muted" }, `The first ${connection.edges.length} of ${connection.totalCount} ${what} (by name); “Only differences” narrows them.`) : null;
  return [
    metrics.length ? table(headers("Metric"), metrics, "Metrics") : message("info", "No metrics to compare."),
    more(result.metrics, "metrics"),
    params.length ? table(headers("Param"), params, "Params") : null,
    more(result.params, "params"),
  ];
}

/**
 * The comparison section of a model page. `versions`: the version numbers loaded
 * (newest first); `production`: the Production version number or null; `chosen`:
 * what the viewer picked (kept by the page, so a live reload keeps it).
 */
export function comparisonSection(name, versions, production, chosen = {}) {
  const kept = (chosen.candidates || []).filter((v) => versions.includes(v));
  const candidates = new Set(kept.length ? kept : [versions.find((v) => v !== production) ?? versions[0]]);
  const baseline = h(
    "select",
    { name: "baseline", "data-key": "compare-baseline" },
    h("option", { value: "" }, production !== null ? `Production (v${production})` : "Production (none)"),
    versions.map((v) => h("option", { value: v, selected: v === chosen.baseline }, `v${v}`)),
  );
  const boxes = versions.map((v) => {
    const box = h("input", { type: "checkbox", name: "versions", value: v, checked: candidates.has(v), "data-key": `compare-v${v}` });
    return h("label", { class: "check" }, box, ` v${v}`);
  });
  const onlyDifferent = h("input", { type: "checkbox", name: "onlyDifferent", checked: chosen.onlyDifferent === true, "data-key": "compare-only-different" });
  const cardOf = h("select", { name: "cardOf", "data-key": "compare-card-of" });
  const output = h("div", { class: "comparison", "aria-live": "polite" });
  const card = h("div", { class: "model-card" });
  const section = h(
    "section",
    { class: "panel", id: "compare", "aria-labelledby": "compare-title" },
    h("h2", { id: "compare-title" }, "Compare versions"),
    h(
      "form",
      { class: "filters" },
      field("Baseline", baseline),
      h("fieldset", { class: "versions-picker" }, h("legend", {}, `Versions (up to ${MAX_COMPARED})`), boxes),
      h("label", { class: "check" }, onlyDifferent, " Only differences"),
    ),
    h("div", { class: "compare-grid" }, output, h("div", {}, field("Model card of", cardOf), card)),
  );

  let result = null;
  const showCard = () => {
    const version = result && result.versions.find((v) => String(v.version) === cardOf.value);
    if (!version) return replace(card);
    chosen.cardOf = version.version;
    chosen.cardDrafts = chosen.cardDrafts || {};
    const editable = atLeast("WRITER") && mayChange(name);
    return replace(card, modelCardPanel(name, version, { editable, drafts: chosen.cardDrafts }));
  };
  let generation = 0;
  const show = async () => {
    const mine = ++generation;
    const picked = boxes.map((label) => label.firstChild).filter((box) => box.checked).map((box) => Number(box.value));
    if (picked.length === 0) {
      replace(output, message("info", "Pick the versions to compare."));
      return;
    }
    const variables = { name, versions: picked, baseline: baseline.value ? Number(baseline.value) : null, onlyDifferent: onlyDifferent.checked, rows: ROWS };
    try {
      const data = await gql(COMPARE, variables);
      if (mine !== generation) return;
      result = data.compareModelVersions;
      replace(
        output,
        h("p", {}, result.baseline ? ["Against ", stageBadge(result.baseline.stage), ` v${result.baseline.version}`] : "Nothing in Production and no baseline picked: values only."),
        comparisonTables(result),
      );
      const wanted = result.versions.some((v) => v.version === chosen.cardOf) ? chosen.cardOf : result.versions[0].version;
      replace(cardOf, result.versions.map((v) => h("option", { value: v.version, selected: v.version === wanted }, `v${v.version}`)));
      showCard();
    } catch (error) {
      if (mine === generation) replace(output, message("error", `${error.code}: ${error.message}`));
    }
  };
  const choose = () => {
    chosen.baseline = baseline.value ? Number(baseline.value) : null;
    chosen.candidates = boxes.map((label) => label.firstChild).filter((box) => box.checked).map((box) => Number(box.value));
    chosen.onlyDifferent = onlyDifferent.checked;
    show();
  };
  baseline.addEventListener("change", choose);
  onlyDifferent.addEventListener("change", choose);
  for (const label of boxes) label.firstChild.addEventListener("change", choose);
  cardOf.addEventListener("change", showCard);
  if (versions.length) show();
  return section;
}
