// Comparing two versions of a model: metrics and params side by side, with deltas.

import { gql } from "../api.js";
import { field, h, message, number, replace, stageBadge, table } from "../dom.js";
import { atLeast, mayChange } from "../session.js";
import { modelCardPanel } from "./model_card.js";

const VERSION_PAIR = `query VersionPair($name: String!, $base: Int!, $candidate: Int!) {
  base: modelVersion(name: $name, version: $base) { ...Compared }
  candidate: modelVersion(name: $name, version: $candidate) { ...Compared }
}
fragment Compared on ModelVersion {
  version stage description
  metrics { key value }
  params { key value }
  modelCard
  modelCardHistory(first: 1) { edges { node { actor createdAt } } }
}`;

/** Rows of a comparison: every key of either side, with the candidate's change. */
export function compareEntries(base, candidate, numeric) {
  const left = new Map(base.map((e) => [e.key, e.value]));
  const right = new Map(candidate.map((e) => [e.key, e.value]));
  const keys = [...new Set([...left.keys(), ...right.keys()])].sort();
  return keys.map((key) => {
    const a = left.has(key) ? left.get(key) : null;
    const b = right.has(key) ? right.get(key) : null;
    const row = { key, base: a, candidate: b, changed: a !== b };
    if (numeric && a !== null && b !== null) {
      row.delta = b - a;
      row.relative = a !== 0 ? (b - a) / Math.abs(a) : null;
    }
    return row;
  });
}

async function loadPair(name, base, candidate) {
  const data = await gql(VERSION_PAIR, { name, base, candidate });
  return {
    base: data.base,
    candidate: data.candidate,
    metrics: compareEntries(data.base.metrics, data.candidate.metrics, true),
    params: compareEntries(data.base.params, data.candidate.params, false),
  };
}

function signed(value) {
  if (value === undefined || value === null) return "—";
  return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${number(Math.abs(value))}`;
}

function percent(value) {
  if (value === undefined || value === null) return "";
  return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${Number((Math.abs(value) * 100).toPrecision(3))} %`;
}

function comparisonTables(result) {
  const a = `v${result.base.version}`;
  const b = `v${result.candidate.version}`;
  const metricRows = result.metrics.map((row) =>
    h(
      "tr",
      { "data-metric": row.key },
      h("th", { scope: "row" }, row.key),
      h("td", { class: "num" }, number(row.base)),
      h("td", { class: "num" }, number(row.candidate)),
      h("td", { class: "num delta" }, signed(row.delta), row.relative !== null && row.relative !== undefined ? h("span", { class: "muted" }, ` (${percent(row.relative)})`) : null),
    ),
  );
  const paramRows = result.params.map((row) =>
    h(
      "tr",
      { class: row.changed ? "changed" : null },
      h("th", { scope: "row" }, row.key),
      h("td", {}, row.base ?? "—"),
      h("td", {}, row.candidate ?? "—"),
      h("td", {}, row.changed ? "changed" : "same"),
    ),
  );
  return [
    metricRows.length ? table(["Metric", a, b, `Δ ${b} − ${a}`], metricRows, "Metrics") : message("info", "Neither version has metrics."),
    paramRows.length ? table(["Param", a, b, ""], paramRows, "Params") : null,
  ];
}

/**
 * The comparison section of a model page. `versions`: the version numbers loaded
 * (newest first); `production`: the Production version number or null;
 * `chosen`: {base, candidate}, kept by the page so a live reload keeps the choice.
 */
export function comparisonSection(name, versions, production, chosen = {}) {
  const candidateDefault = versions.find((v) => v !== production) ?? versions[0];
  const baseDefault = production ?? versions.find((v) => v !== candidateDefault) ?? candidateDefault;
  const keep = (v) => (versions.includes(v) ? v : null);
  const options = (selected) => versions.map((v) => h("option", { value: v, selected: v === selected }, `v${v}${v === production ? " (Production)" : ""}`));
  const base = h("select", { name: "base", "data-key": "compare-base" }, options(keep(chosen.base) ?? baseDefault));
  const candidate = h("select", { name: "candidate", "data-key": "compare-candidate" }, options(keep(chosen.candidate) ?? candidateDefault));
  const output = h("div", { class: "comparison", "aria-live": "polite" });
  const card = h("div", { class: "model-card" });
  const againstProduction = h("button", { type: "button", class: "quiet", hidden: production === null }, "Candidate vs Production");
  const section = h(
    "section",
    { class: "panel", id: "compare", "aria-labelledby": "compare-title" },
    h("h2", { id: "compare-title" }, "Compare versions"),
    h("form", { class: "filters" }, field("Base", base), field("Candidate", candidate), againstProduction),
    h("div", { class: "compare-grid" }, output, card),
  );
  let generation = 0;
  const show = async () => {
    const mine = ++generation;
    const pair = [Number(base.value), Number(candidate.value)];
    if (!pair[0] || !pair[1]) return;
    try {
      const result = await loadPair(name, pair[0], pair[1]);
      if (mine !== generation) return;
      replace(
        output,
        h("p", {}, "Base ", stageBadge(result.base.stage), ` v${result.base.version}`, " · candidate ", stageBadge(result.candidate.stage), ` v${result.candidate.version}`),
        comparisonTables(result),
      );
      const editable = atLeast("WRITER") && mayChange(name);
      chosen.cardDrafts = chosen.cardDrafts || {};
      replace(card, modelCardPanel(name, result.candidate, { editable, drafts: chosen.cardDrafts }));
    } catch (error) {
      if (mine === generation) replace(output, message("error", error.message));
    }
  };
  const choose = () => {
    chosen.base = Number(base.value);
    chosen.candidate = Number(candidate.value);
    show();
  };
  base.addEventListener("change", choose);
  candidate.addEventListener("change", choose);
  againstProduction.addEventListener("click", () => {
    base.value = String(production);
    if (Number(candidate.value) === production) candidate.value = String(candidateDefault);
    choose();
  });
  if (versions.length) show();
  return section;
}
