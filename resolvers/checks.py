"""CI reports checks on transition requests; the report that brings the last SUCCESS executes it."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from resolvers import validation
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from resolvers.policy_rules import check_name
from resolvers.request_events import check_reported
from resolvers.request_gate import complete_if_satisfied, gate_of
from resolvers.transition_requests import find_request, locked_pending
from storage.clock import utcnow
from storage.enums import CheckStatus, Role
from storage.queries import reviews
from storage.records import CheckReportRecord, TransitionRequestRecord

DETAILS_URL_MAX = 2048


@dataclass(frozen=True, slots=True)
class Reported:
    report: CheckReportRecord
    # The request after the report: COMPLETED if this report let it through.
    request: TransitionRequestRecord


def details_url(value: str | None) -> str | None:
    """An http(s) link to the check's run, or None."""
    if not value:
        return None
    if len(value) > DETAILS_URL_MAX or not _is_web_link(value):
        raise BadUserInput(
            f"detailsUrl must be an http:// or https:// URL of at most {DETAILS_URL_MAX} "
            "characters",
            field="detailsUrl",
        )
    return validation.characters(value, "detailsUrl", prose=False)


def _is_web_link(value: str) -> bool:
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # an unclosed or invalid IPv6 bracket, an NFKC-invalid host
        return False


async def report_check(
    ctx: RequestContext,
    request_id: int,
    *,
    name: str,
    status: CheckStatus,
    summary: str | None,
    url: str | None,
) -> Reported:
    """Append a check report (the latest per name counts) to a PENDING request."""
    ctx.authorize(Role.WRITER)
    check_name(name, "name")
    summary = validation.text(summary, "summary", validation.COMMENT_MAX) or None
    url = details_url(url)
    _, model = await find_request(ctx, request_id)
    ctx.authorize(Role.WRITER, model=model.name)
    async with ctx.transaction() as conn:
        pending = await locked_pending(conn, ctx, model.name, request_id, "given check reports")
        version = pending.current_version()
        report = await reviews.insert_check_report(
            conn,
            request_id=request_id,
            name=name,
            status=status,
            summary=summary,
            details_url=url,
            actor=ctx.actor,
            now=utcnow(),
        )
        event = check_reported(pending.model, pending.request, version, report)
        await ctx.publish(conn, model.name, [event])
        request = pending.request
        if status == CheckStatus.SUCCESS:
            gate = await gate_of(conn, pending.model, request)
            request = await complete_if_satisfied(conn, ctx, pending.model, request, version, gate)
    return Reported(report, request)
