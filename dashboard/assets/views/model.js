// One model: its versions, stage history, pending requests and a comparison; live.

import { ApiError, gql } from "../api.js";
import { chip, h, message, number, replace, stageBadge, table, time } from "../dom.js";
import { about } from "../events.js";
import { latest } from "../loading.js";
import { atLeast, mayChange } from "../session.js";
import { asOfForm } from "./as_of.js";
import { comparisonSection } from "./compare.js";
import { stageHistoryTimeline } from "./timeline.js";
import { versionActions } from "./version_actions.js";

const PAGE = 20;

const VERSION_ROW = `fragment VersionRow on ModelVersion {
  version stage source runId digest description createdAt createdBy updatedAt updatedBy
  aliases
  tags { key value }
  metrics { key value }
}`;

const MODEL = `query Model($name: String!, $first: Int!) {
  model(name: $name) {
    name description createdAt createdBy updatedAt updatedBy
    tags { key value }
    aliases { alias version }
    productionVersion { version }
    versions(first: $first) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { ...VersionRow } }
    }
    stageHistory(first: 30) {
      totalCount
      edges { node { version fromStage toStage cause actor comment overrideReason createdAt } }
    }
  }
  transitionRequests(first: 50, filter: {model: $name}) {
    edges { node {
      id version fromStage toStage alias deleteAlias status requestedBy comment createdAt resolvedAt resolvedBy
      approvals { actor comment createdAt }
      rejections { actor comment createdAt }
    } }
  }
}
${VERSION_ROW}`;

const MORE_VERSIONS = `query MoreVersions($name: String!, $first: Int!, $after: String) {
  model(name: $name) {
    versions(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { ...VersionRow } }
    }
  }
}
${VERSION_ROW}`;

const ROLLBACK = `mutation Rollback($input: RollbackInput!) {
  rollback(input: $input) { restored { version } demoted { version } }
}`;

function versionRow(name, version, actions) {
  const metrics = version.metrics.slice(0, 6).map((m) => h("div", { class: "metric" }, h("span", { class: "metric-key" }, m.key), " ", number(m.value)));
  if (version.metrics.length > 6) metrics.push(h("div", { class: "muted" }, `+${version.metrics.length - 6} more`));
  return h(
    "tr",
    { "data-version": version.version, "data-stage": version.stage },
    h("th", { scope: "row" }, `v${version.version}`),
    h("td", {}, stageBadge(version.stage), version.aliases.map((a) => chip(`@${a}`, "alias"))),
    h("td", {}, metrics),
    h(
      "td",
      { class: "source" },
      h("code", { class: "source-uri wrap" }, version.source),
      version.runId && h("div", { class: "muted" }, "run ", h("code", {}, version.runId)),
      version.digest && h("div", { class: "muted wrap", title: version.digest }, version.digest.slice(0, 19), "…"),
      version.description && h("div", { class: "description" }, version.description),
    ),
    h("td", {}, version.tags.map((t) => chip(`${t.key}=${t.value}`))),
    h("td", {}, time(version.createdAt), h("div", { class: "muted" }, version.createdBy)),
    h("td", {}, actions),
  );
}

export async function modelView(ctx) {
  const { main, params } = ctx;
  const name = params.name;
  const mayAct = atLeast("WRITER") && mayChange(name);
  // What the viewer was doing in a version's stage form survives live reloads.
  const drafts = new Map();
  let extra = []; // versions loaded with "Show more"
  let after = null;
  let hasMore = false;
  // The versions being compared stay chosen across live reloads, and so does
  // the point-in-time form (made again only when the aliases change).
  const comparing = { base: null, candidate: null };
  let asOf = null;
  let asOfAliases = null;
  const load = latest(
    ctx.signal,
    () => gql(MODEL, { name, first: PAGE }),
    (data) => {
      if (extra.length === 0) {
        after = data.model.versions.pageInfo.endCursor;
        hasMore = data.model.versions.pageInfo.hasNextPage;
      }
      render(data);
    },
    (error) => {
      if (!(error instanceof ApiError && error.code === "NOT_FOUND")) throw error;
      replace(main, h("h1", {}, name), message("error", `There is no model named ${name}.`), h("a", { href: "#/models" }, "All models"));
    },
  );

  function render(data) {
    const model = data.model;
    const firstPage = model.versions.edges.map((e) => e.node);
    const seen = new Set(firstPage.map((v) => v.version));
    const versions = [...firstPage, ...extra.filter((v) => !seen.has(v.version))];
    const production = model.productionVersion ? model.productionVersion.version : null;
    const requests = data.transitionRequests.edges.map((e) => e.node);
    const pending = requests.filter((r) => r.status === "PENDING");
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    const aliasNames = model.aliases.map((a) => a.alias).join("\n");
    if (asOf === null || aliasNames !== asOfAliases) {
      asOf = asOfForm(name, model.aliases.map((a) => a.alias));
      asOfAliases = aliasNames;
    }

    const rows = versions.map((v) => versionRow(name, v, mayAct ? versionActions({ name, version: v, drafts, reload: load }) : null));
    const more = h("button", { type: "button", class: "quiet", hidden: !hasMore }, "Show more versions");
    more.addEventListener("click", async () => {
      more.disabled = true;
      const page = await gql(MORE_VERSIONS, { name, first: PAGE, after });
      extra = [...extra, ...page.model.versions.edges.map((e) => e.node)];
      after = page.model.versions.pageInfo.endCursor;
      hasMore = page.model.versions.pageInfo.hasNextPage;
      load();
    });

    replace(
      main,
      h(
        "header",
        { class: "page-header" },
        h("p", { class: "crumbs" }, h("a", { href: "#/models" }, "Models"), " / "),
        h("h1", {}, model.name),
        model.description && h("p", { class: "description" }, model.description),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Production"),
          h("dd", { id: "production-version" }, production !== null ? [stageBadge("PRODUCTION"), ` v${production}`] : "none"),
          h("dt", {}, "Aliases"),
          h("dd", {}, model.aliases.length ? model.aliases.map((a) => chip(`@${a.alias} → v${a.version}`, "alias")) : "none"),
          h("dt", {}, "Tags"),
          h("dd", {}, model.tags.length ? model.tags.map((t) => chip(`${t.key}=${t.value}`)) : "none"),
          h("dt", {}, "Created"),
          h("dd", {}, time(model.createdAt), ` by ${model.createdBy}`),
          h("dt", {}, "Updated"),
          h("dd", {}, time(model.updatedAt), ` by ${model.updatedBy}`),
        ),
        production !== null && atLeast("MAINTAINER") && mayChange(name) ? rollbackButton(name, load) : null,
      ),
      pending.length
        ? h(
            "section",
            { class: "panel notice", "aria-labelledby": "pending-title" },
            h("h2", { id: "pending-title" }, `Pending requests (${pending.length})`),
            h("ul", {}, pending.map((r) => h("li", {}, `v${r.version} → ${r.alias ? `@${r.alias}` : r.toStage.toLowerCase()} by ${r.requestedBy} `, h("a", { href: `#/approvals?model=${encodeURIComponent(name)}` }, "review")))),
          )
        : null,
      h(
        "section",
        { class: "panel", "aria-labelledby": "versions-title" },
        h("h2", { id: "versions-title" }, `Versions (${model.versions.totalCount})`),
        rows.length ? table(["Version", "Stage", "Metrics", "Source", "Tags", "Registered", mayAct ? "Actions" : ""], rows) : message("info", "No versions yet."),
        more,
      ),
      versions.length ? comparisonSection(name, versions.map((v) => v.version), production, comparing) : null,
      stageHistoryTimeline(model.stageHistory, requests, asOf),
    );
    if (focused) {
      const again = main.querySelector(`[data-key="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  ctx.refreshOn(about.model(name), load);
  await load();
}

function rollbackButton(name, reload) {
  const button = h("button", { type: "button", class: "danger quiet" }, "Roll back Production");
  const status = h("span", { class: "form-status" });
  button.addEventListener("click", async () => {
    if (!window.confirm(`Put the previous Production version of ${name} back?`)) return;
    button.disabled = true;
    try {
      const data = await gql(ROLLBACK, { input: { modelName: name } });
      replace(status, message("ok", `v${data.rollback.restored.version} is in Production again; v${data.rollback.demoted.version} archived.`));
      reload();
    } catch (error) {
      replace(status, message("error", error.message));
      button.disabled = false;
    }
  });
  return h("div", { class: "actions" }, button, status);
}
