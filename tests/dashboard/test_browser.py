"""The dashboard in a real browser (Debian's Chromium) against a real `modelreg serve`."""

import json
import re
import time

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.dashboard.browser import ARTIFACTS, NARROW, Registry, screenshot, sign_in, wait_live

XSS = '<img src=x onerror="window.__xss = 1"><script>window.__xss = 2</script>'

REQUEST = """mutation($input: RequestTransitionInput!) {
  requestTransition(input: $input) { transitionRequest { id } } }"""
FORCE_PRODUCTION = """mutation($name: String!, $version: Int!) {
  transitionStage(input: {modelName: $name, version: $version, stage: PRODUCTION,
                          force: true, reason: "first release"}) { modelVersion { version } } }"""


def test_sign_in_then_find_a_model_by_name_stage_and_tag(page: Page, registry: Registry) -> None:
    registry.register("search-fraud")
    registry.gql(
        "admin",
        'mutation { setTag(input: {modelName: "search-fraud", key: "team", value: "risk"})'
        " { tag { key } } }",
    )
    registry.register("search-churn")
    registry.gql("admin", FORCE_PRODUCTION, {"name": "search-churn", "version": 1})

    response = page.goto(registry.base)
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    # Keyboard only: the token field has the focus, Enter signs in.
    expect(page.get_by_label("API token")).to_be_focused()
    page.keyboard.type(registry.tokens["reader"])
    page.keyboard.press("Enter")
    expect(page.locator("#who")).to_have_text("Reader · reader")
    expect(page.locator("#live")).to_be_visible()

    rows = page.locator("tr[data-model]")
    page.get_by_label("Name contains").fill("search-")
    expect(rows).to_have_count(2)
    page.get_by_label("Has a version in").select_option("PRODUCTION")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-model", "search-churn")
    expect(rows).to_contain_text("Production v1")
    page.get_by_label("Has a version in").select_option("")
    expect(rows).to_have_count(2)
    page.get_by_label("Tags").fill("team=risk")
    page.get_by_label("Tags").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-model", "search-fraud")
    assert "tags=team%3Drisk" in page.url  # the filter can be shared and reloaded

    page.get_by_role("link", name="search-fraud").click()
    expect(page.get_by_role("heading", name="search-fraud", level=1)).to_be_visible()
    expect(page.locator("tr[data-version='1']")).to_contain_text("s3://models/search-fraud")

    # The token lives in this tab's sessionStorage only: no cookie, no URL.
    token = registry.tokens["reader"]
    assert page.evaluate("sessionStorage.getItem('modelreg.token')") == token
    assert page.context.cookies() == []
    assert token not in page.url


def test_a_version_registered_elsewhere_appears_without_reload(
    page: Page, registry: Registry
) -> None:
    registry.register("live-model")
    sign_in(page, registry, registry.tokens["reader"], "#/models/live-model")
    expect(page.locator("tr[data-version]")).to_have_count(1)
    wait_live(page)
    page.evaluate("window.__sameDocument = true")

    registry.register("live-model", description="registered by CI")

    expect(page.locator("tr[data-version='2']")).to_contain_text("registered by CI")
    assert page.evaluate("window.__sameDocument") is True  # updated in place, not reloaded


def test_a_change_committed_before_the_subscription_joins_is_not_missed(
    page: Page, registry: Registry
) -> None:
    """The page's subscription starts after a cursor read before it, not "from now".

    The browser's `subscribe` message is held back (as a slow network or a
    busy server would) until the page has loaded, become live and gone
    quiet; a version registered then commits before the subscription joins.
    Subscribed "from now", the page would never hear of it.
    """
    name = "joined-late"
    registry.register(name)
    held: list[str] = []
    servers: list[WebSocketRoute] = []

    def hold_subscribe(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        servers.append(server)

        def to_server(message: str | bytes) -> None:
            if isinstance(message, str) and '"type":"subscribe"' in message.replace(" ", ""):
                held.append(message)
            else:
                server.send(message)

        ws.on_message(to_server)

    page.route_web_socket(re.compile(r"/graphql$"), hold_subscribe)
    in_flight = [0, time.monotonic()]  # requests, when the last one ended

    def started(_: object) -> None:
        in_flight[0] += 1

    def ended(_: object) -> None:
        in_flight[0] -= 1
        in_flight[1] = time.monotonic()

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    sign_in(page, registry, registry.tokens["reader"], f"#/models/{name}")
    expect(page.locator("tr[data-version]")).to_have_count(1)
    wait_live(page)
    # The reloads on becoming live have read the registry: no request for half a second.
    deadline = time.monotonic() + 15
    while in_flight[0] or time.monotonic() - in_flight[1] < 0.5:
        assert time.monotonic() < deadline, "the page never went quiet"
        page.wait_for_timeout(100)
    assert held
    assert len(servers) == 1

    registry.register(name, description="before the subscription joined")
    for message in held:
        servers[0].send(message)

    expect(page.locator("tr[data-version='2']")).to_contain_text("before the subscription")


def test_a_request_decided_elsewhere_leaves_the_inbox_and_promotes_live(
    page: Page, registry: Registry
) -> None:
    name = "decided-elsewhere"
    registry.register(name)
    made = registry.gql(
        "writer", REQUEST, {"input": {"modelName": name, "version": 1, "stage": "PRODUCTION"}}
    )
    request_id = made["requestTransition"]["transitionRequest"]["id"]
    sign_in(page, registry, registry.tokens["reader"], f"#/approvals?model={name}")
    expect(page.locator(f"article[data-request='{request_id}']")).to_be_visible()
    wait_live(page)
    page.evaluate("window.__sameDocument = true")

    registry.gql(
        "maintainer",
        "mutation($id: ID!) { approveTransitionRequest(input: {id: $id}) {"
        " transitionRequest { status } } }",
        {"id": request_id},
    )

    expect(page.locator(f"article[data-request='{request_id}']")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True


def test_the_live_badge_says_reconnecting_and_the_page_catches_up_after_a_restart(
    page: Page, registry: Registry
) -> None:
    registry.register("restarted")
    sign_in(page, registry, registry.tokens["reader"], "#/models/restarted")
    wait_live(page)
    registry.stop()
    expect(page.locator("#live")).to_have_text("reconnecting…")
    registry.start()
    # Registered while the page is still waiting to reconnect: the subscription
    # resumes after its last cursor, so this is not missed.
    registry.register("restarted", description="while away")
    wait_live(page)
    expect(page.locator("tr[data-version='2']")).to_contain_text("while away")


def test_a_maintainer_approves_and_the_model_shows_the_new_production(
    page: Page, registry: Registry
) -> None:
    name = "approve-me"
    registry.register(name, metrics=[{"key": "auc", "value": 0.81}])
    registry.register(name, metrics=[{"key": "auc", "value": 0.86}])
    registry.gql("admin", FORCE_PRODUCTION, {"name": name, "version": 1})
    registry.gql(
        "writer",
        REQUEST,
        {"input": {"modelName": name, "version": 2, "stage": "PRODUCTION", "comment": "auc +5"}},
    )

    sign_in(page, registry, registry.tokens["maintainer"], f"#/approvals?model={name}")
    expect(page.locator("[data-pending]")).to_have_text(re.compile(r"^\d+ pending$"))
    card = page.locator("article.request").filter(has_text=name)
    expect(card).to_contain_text("Requested by Writer")
    expect(card).to_contain_text("Approvals: 0 of 1")
    card.get_by_label("Comment").fill("looks good")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator("article.request")).to_have_count(0)  # no longer pending

    page.get_by_role("link", name="Models").click()
    page.get_by_role("link", name=name).click()
    expect(page.locator("#production-version")).to_have_text("Production v2")
    expect(page.locator("tr[data-version='2']")).to_have_attribute("data-stage", "PRODUCTION")
    expect(page.locator("tr[data-version='1']")).to_have_attribute("data-stage", "ARCHIVED")
    latest = page.locator(".timeline .event").first
    expect(latest).to_contain_text("approved request by Maintainer")
    expect(latest).to_contain_text("approved by Maintainer")
    expect(latest).to_contain_text("looks good")
    # The comparison defaults to the candidate against Production, with deltas.
    minus = "\N{MINUS SIGN}"
    expect(page.locator("#compare tr[data-metric='auc']")).to_contain_text(f"{minus}0.05")
    screenshot(page, "desktop-model-after-approval")
    # Which version was in Production when: asked of the history on the server.
    page.get_by_label(re.compile(r"^At \(")).fill("2000-01-01T00:00:00")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator(".as-of-box")).to_contain_text("Nothing was in Production then.")
    page.get_by_label(re.compile(r"^At \(")).fill("2100-01-01T00:00:00")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator(".as-of-box")).to_contain_text("Production was v2 then.")


def test_a_reader_sees_no_approve_button_nor_admin_pages(page: Page, registry: Registry) -> None:
    name = "reader-looks"
    registry.register(name)
    staging = {"modelName": name, "version": 1, "stage": "STAGING"}
    registry.gql("writer", REQUEST, {"input": staging})

    sign_in(page, registry, registry.tokens["reader"], f"#/approvals?model={name}")
    card = page.locator("article.request").filter(has_text=name)
    expect(card).to_contain_text("Four-eyes")
    expect(card.get_by_role("button")).to_have_count(0)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(
        ["Models", re.compile(r"^Approvals( \d+ pending)?$")]
    )

    page.goto(f"{registry.base}/#/models/{name}")
    expect(page.locator("tr[data-version='1']")).to_be_visible()
    expect(page.get_by_text("Change stage")).to_have_count(0)
    page.goto(f"{registry.base}/#/audit")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_the_requester_cannot_approve_their_own_request(page: Page, registry: Registry) -> None:
    name = "four-eyes"
    registry.register(name)
    maintainer = registry.tokens["maintainer"]
    request = {"modelName": name, "version": 1, "stage": "PRODUCTION"}
    body = registry.post(maintainer, REQUEST, {"input": request}).json()
    assert "errors" not in body, body

    sign_in(page, registry, maintainer, f"#/approvals?model={name}")
    card = page.locator("article.request").filter(has_text=name)
    expect(card).to_contain_text("Your request: another maintainer must approve it.")
    expect(card.locator("[data-action='approve']")).to_have_count(0)
    expect(card.locator("[data-action='cancel']")).to_be_visible()


def test_markup_in_user_strings_stays_text(page: Page, registry: Registry) -> None:
    name = "xss-probe"
    registry.register(name, description=XSS, tags=[{"key": "note", "value": XSS}])
    registry.gql(
        "admin",
        "mutation($name: String!, $d: String!) {"
        " updateModel(input: {name: $name, description: $d}) { model { name } } }",
        {"name": name, "d": XSS},
    )
    sign_in(page, registry, registry.tokens["reader"], f"#/models/{name}")
    expect(page.locator("header .description")).to_have_text(XSS)
    expect(page.locator("tr[data-version='1'] .description")).to_have_text(XSS)
    page.goto(f"{registry.base}/#/models?q=xss")
    expect(page.locator("tr[data-model='xss-probe']")).to_contain_text("<img src=x")
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("window.__xss") is None


def test_model_cards_render_markdown_and_never_html(page: Page, registry: Registry) -> None:
    sign_in(page, registry, registry.tokens["reader"])
    card = "\n".join(
        [
            "# Fraud model",
            "Trained on **Q3** data with `lr=0.1`; see [the report](https://example.com/r).",
            "",
            "| metric | value |",
            "| --- | ---: |",
            "| auc | 0.91 |",
            "",
            "- known limit: <b>cold start</b>",
            "- [bad link](javascript:alert(1)) ![pixel](https://tracker.example/p.png)",
            "",
            "<script>window.__xss = 3</script>",
        ]
    )
    rendered = page.evaluate(
        """async (card) => {
            const src = [...document.scripts].find((s) => s.src.endsWith('/app.js')).src;
            const { renderMarkdown } = await import(src.replace(/app\\.js$/, 'markdown.js'));
            const box = document.createElement('div');
            box.append(renderMarkdown(card));
            return {
              tags: [...box.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()),
              links: [...box.querySelectorAll('a')].map((a) => a.getAttribute('href')),
              text: box.textContent,
            };
        }""",
        card,
    )
    assert {"h3", "strong", "code", "table", "td", "ul", "li", "p", "a"} <= set(rendered["tags"])
    assert not {"script", "img", "b", "iframe"} & set(rendered["tags"])
    assert rendered["links"] == ["https://example.com/r", "https://tracker.example/p.png"]
    assert "<b>cold start</b>" in rendered["text"]
    assert "<script>window.__xss = 3</script>" in rendered["text"]
    assert page.evaluate("window.__xss") is None


CARD = "\n".join(
    [
        "# Fraud model",
        "Trained on **Q3** transactions.",
        "",
        "| metric | value |",
        "| --- | ---: |",
        "| auc | 0.91 |",
        "",
        XSS,
    ]
)


def test_a_reviewer_reads_the_model_card_and_a_writer_edits_it(
    page: Page, registry: Registry
) -> None:
    name = "carded"
    registry.register(name, modelCard=CARD)
    registry.gql(
        "writer", REQUEST, {"input": {"modelName": name, "version": 1, "stage": "STAGING"}}
    )

    sign_in(page, registry, registry.tokens["maintainer"], f"#/approvals?model={name}")
    card = page.locator("article.request").filter(has_text=name)
    card.get_by_text("Model card").click()
    markdown = card.locator(".markdown")
    expect(markdown.get_by_role("heading", name="Fraud model")).to_be_visible()
    expect(markdown.locator("td.align-right")).to_have_text("0.91")
    expect(markdown).to_contain_text(XSS)
    assert card.locator("img, script").count() == 0

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, registry, registry.tokens["writer"], f"#/models/{name}")
    panel = page.locator(".model-card")
    expect(panel.get_by_role("heading", name="Fraud model")).to_be_visible()
    panel.get_by_text("Edit the card").click()
    panel.get_by_label(re.compile("^Markdown")).fill("## Known limits\n\n- cold start")
    panel.get_by_role("button", name="Save card").click()
    expect(panel.get_by_role("heading", name="Known limits")).to_be_visible()
    expect(panel).to_contain_text("Last changed by Writer")
    assert page.evaluate("window.__xss") is None


def test_a_revoked_token_lands_on_sign_in_with_the_reason(page: Page, registry: Registry) -> None:
    token = registry.make_token("revoked-soon", "reader")
    sign_in(page, registry, token)
    wait_live(page)
    registry.gql(
        "admin",
        'mutation { revokeApiToken(input: {name: "revoked-soon"}) { apiToken { name } } }',
    )
    # Nobody clicks: the server closes the live connection (4403), the page asks why.
    expect(page.get_by_label("API token")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("token 'revoked-soon' was revoked")
    assert page.evaluate("sessionStorage.getItem('modelreg.token')") is None


def test_an_expired_token_lands_on_sign_in_with_the_reason(page: Page, registry: Registry) -> None:
    token = registry.make_token("expires-soon", "reader", expires_in="1s")
    deadline = time.monotonic() + 30
    while registry.post(token, "{ viewer { name } }").status_code != 401:
        assert time.monotonic() < deadline, "the token did not expire"
        time.sleep(0.1)
    # A tab signed in before: the token is still in its sessionStorage.
    page.goto(registry.base)
    page.evaluate("t => sessionStorage.setItem('modelreg.token', t)", token)
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("token 'expires-soon' expired at")
    expect(page.get_by_label("API token")).to_be_visible()


def test_admin_pages_webhooks_and_audit(page: Page, registry: Registry) -> None:
    # Nothing listens on this port: every delivery fails, which the page shows.
    closed = "http://127.0.0.1:9/hook"
    made = registry.gql(
        "admin",
        'mutation($url: String!) { createWebhook(input: {url: $url, events: ["*"],'
        ' description: "deploy bot"}) { webhook { id } } }',
        {"url": closed},
    )
    hook = made["createWebhook"]["webhook"]["id"]
    registry.register("hooked-model")
    # The endpoint's first delivery (model.created) is tried at once; the others wait behind it.
    attempts = """query($id: ID!) { webhook(id: $id) {
      deliveries(first: 5) { edges { node { eventType attemptCount } } } } }"""
    deadline = time.monotonic() + 30
    while True:
        edges = registry.gql("admin", attempts, {"id": hook})["webhook"]["deliveries"]["edges"]
        tried = [e["node"]["eventType"] for e in edges if e["node"]["attemptCount"]]
        if "model.created" in tried:
            break
        assert time.monotonic() < deadline, f"the dispatcher never tried the endpoint: {edges}"
        time.sleep(0.05)

    sign_in(page, registry, registry.tokens["admin"], "#/webhooks")
    row = page.locator(f"tr[data-webhook='{hook}']")
    expect(row).to_contain_text("deploy bot")
    row.get_by_role("link", name=closed).click()
    page.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_role("status").filter(has_text="Failed")).to_contain_text("no response")
    delivery = page.locator("tr[data-delivery]").filter(has_text="model.created")
    expect(delivery).to_have_count(1)
    delivery.locator("summary").click()
    expect(delivery.locator("table")).to_be_visible()  # its attempts
    delivery.get_by_role("button", name="Redeliver").click()
    expect(page.get_by_text("queued again")).to_be_visible()

    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").fill("createWebhook")
    page.get_by_role("button", name="Filter").click()
    entries = page.locator("tr[data-entry]")
    expect(entries).to_have_count(1)
    expect(entries).to_contain_text("createWebhook")


SHOWCASE_CARD = """# fraud-detector v2

Gradient-boosted trees on card transactions.

## Training data
Q1-Q3 transactions, **2.1 M rows**, 0.4 % fraud.

## Fairness
| group | recall |
| --- | ---: |
| new customers | 0.81 |
| returning | 0.86 |

## Known limitations
- cold start for merchants with under 30 days of history
- retrain when the fraud rate drifts above 1 %
"""


def showcase(registry: Registry) -> str:
    """A model with what the pages show (made once per server): the README's screenshot."""
    name = "fraud-detector"
    exists = registry.gql(
        "admin", '{ models(filter: {nameStartsWith: "fraud-detector"}) { totalCount } }'
    )
    if exists["models"]["totalCount"]:
        return name
    for auc, f1, lr, card in ((0.91, 0.82, "0.1", None), (0.93, 0.84, "0.05", SHOWCASE_CARD)):
        registry.register(
            name,
            runId=f"run-{lr}",
            metrics=[{"key": "auc", "value": auc}, {"key": "f1", "value": f1}],
            params=[{"key": "learning_rate", "value": lr}, {"key": "max_depth", "value": "8"}],
            tags=[{"key": "team", "value": "risk"}],
            modelCard=card,
        )
    registry.gql("admin", FORCE_PRODUCTION, {"name": name, "version": 1})
    registry.gql(
        "admin",
        "mutation($name: String!) {"
        ' a: setAlias(input: {modelName: $name, alias: "champion", version: 1}) { alias { alias } }'
        ' b: setTag(input: {modelName: $name, key: "team", value: "risk"}) { tag { key } } }',
        {"name": name},
    )
    registry.gql(
        "writer",
        REQUEST,
        {"input": {"modelName": name, "version": 2, "stage": "PRODUCTION", "comment": "auc +0.02"}},
    )
    return name


def test_versions_are_compared_on_the_server_against_a_baseline(
    page: Page, registry: Registry
) -> None:
    name = showcase(registry)  # v1 in Production; v2 better, with another learning_rate
    minus = "\N{MINUS SIGN}"
    sign_in(page, registry, registry.tokens["reader"], f"#/models/{name}")
    compare = page.locator("#compare")
    expect(compare.locator("tr[data-metric='auc']")).to_contain_text("+0.02 (+2.2 %)")
    expect(compare.locator("tr[data-param]")).to_have_count(2)
    compare.get_by_label("Only differences").check()
    expect(compare.locator("tr[data-param]")).to_have_count(1)  # max_depth is the same
    expect(compare.locator("tr[data-param='learning_rate']")).to_contain_text("0.05")
    expect(compare.locator(".model-card h3").nth(1)).to_have_text("fraud-detector v2")

    compare.get_by_label("Baseline").select_option("2")
    compare.get_by_label("v1", exact=True).check()
    auc_of_v1 = compare.locator("tr[data-metric='auc'] td[data-version='1']")
    expect(auc_of_v1).to_contain_text(f"{minus}0.02")
    compare.get_by_label("Model card of").select_option("1")
    expect(compare.locator(".model-card")).to_contain_text("This version has no model card.")


@pytest.mark.parametrize("viewport", ["desktop", "narrow"])
def test_main_pages_fit_the_window_and_are_saved_as_screenshots(
    page: Page, registry: Registry, viewport: str
) -> None:
    name = showcase(registry)
    if viewport == "narrow":
        page.set_viewport_size(NARROW)
    sign_in(page, registry, registry.tokens["admin"])
    wait_live(page)
    for route, ready in [
        ("#/models", "tr[data-model]"),
        (f"#/models/{name}", ".model-card .markdown"),
        (f"#/approvals?model={name}", "article.request"),
        ("#/webhooks", "main h1"),
        ("#/audit", "tr[data-entry]"),
    ]:
        page.goto(f"{registry.base}/{route}")
        page.locator(ready).first.wait_for()
        wait_live(page)
        # Wide tables scroll inside their own box; the page itself never scrolls sideways.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{route} is {overflow}px wider than the {viewport} window"
        slug = re.sub(r"[^a-z]+", "-", route.split("?")[0]).strip("-")
        screenshot(page, f"{viewport}-{slug}")


def test_first_load_is_small(page: Page, registry: Registry) -> None:
    """First visit, empty cache: what crosses the wire and when the sign-in form is painted."""
    page.goto(registry.base)
    page.get_by_label("API token").wait_for()
    figures = page.evaluate(
        """() => {
            const [nav] = performance.getEntriesByType('navigation');
            const resources = performance.getEntriesByType('resource');
            const paint = performance.getEntriesByName('first-contentful-paint')[0];
            const sum = (key) => nav[key] + resources.reduce((s, r) => s + r[key], 0);
            return {
              requests: 1 + resources.length,
              transferredBytes: sum('transferSize'),
              decodedBytes: sum('decodedBodySize'),
              firstContentfulPaintMs: paint ? Math.round(paint.startTime) : null,
              domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd),
            };
        }"""
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "first-load.json").write_text(json.dumps(figures, indent=2) + "\n")
    # Sizes are deterministic (timings are not, and are only recorded): every
    # asset is compressed, and the whole dashboard stays small.
    assert figures["transferredBytes"] < 60_000, figures
    assert figures["transferredBytes"] < figures["decodedBytes"], figures
