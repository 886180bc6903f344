"""What the hub tells the signed-in person and what they tell their supervisors: the messages, newest
first and paged, unread ones marked, each markable read; and feedback on violations, sent from a form
whose faults stand beside its fields, with the person's earlier feedback and its answers.

The pages call the same services as ``/api/v1/me/messages`` and ``/api/v1/me/feedback``. Another
person's message is not found alike an unknown one. Nothing that people write reaches a log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import structlog
from aiohttp import hdrs, web

from gateway.keys import HUB
from gateway.openapi import PAGE_FORM_REFUSED, PAGE_SIGN_IN_FIRST, html_page_operation
from gateway.pages.forms import FORM_LEVEL, field_messages, read_form
from gateway.pages.paging import page_number, paged
from gateway.pages.rendering import (
    Audience,
    PageRefused,
    local_time,
    redirect,
    render_page,
    signed_in_or_sent_to_login,
)
from gateway.parameters import row_id
from sso.messages.errors import MessageNotFound
from sso.messages.model import Message, MessageQuery
from sso.people.model import PersonId
from supervision.errors import FeedbackLimitReached, InvalidSupervisionRequest
from supervision.feedback.model import SUBJECT_CHARACTERS_MAX, TEXT_CHARACTERS_MAX, Feedback

__all__ = ["openapi_paths", "routes"]

MESSAGES_PER_PAGE: Final = 20
FEEDBACK_PER_PAGE: Final = 10
FEEDBACK_FORM_BYTES_MAX: Final = 32 * 1024
"""A feedback form's body: its longest text, each character up to 12 bytes once percent-encoded."""
LINK_LABELS: Final = ((".pdf", "下载证书"), ("/verify/", "查看核验页面"), ("/me/feedback", "查看反馈"))
DONE: Final[Mapping[str, str]] = {"read": "消息已标记为已读。", "feedback": "反馈已提交，答复后会通过站内消息通知您。"}
"""The notices after a step succeeded (``?done=…``): fixed texts, never the query's own."""

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


# ---------------------------------------------------------------- messages


@routes.get("/me/messages")
async def messages_page(request: web.Request) -> web.Response:
    person_id = await signed_in_or_sent_to_login(request)
    messages = request.app[HUB].messages
    rows = [_message_row(request, message) for message in await messages.all_of(person_id)]
    context = {
        "messages": paged(
            rows, page_number(request.query), size=MESSAGES_PER_PAGE, path=request.path, query=request.query
        ),
        "unread": (await messages.page(person_id, MessageQuery(limit=1))).unread,
        "done": DONE.get(request.query.get("done", "")),
    }
    return render_page(request, "staff/messages.html", context, audience=Audience.STAFF)


def _message_row(request: web.Request, message: Message) -> dict[str, object]:
    link = message.link if message.link is not None and _is_followable(message.link) else None
    return {
        "id": message.id,
        "title": message.title,
        "body": message.body,
        "created_at": local_time(request, message.created_at),
        "read": message.read,
        "link": link,
        "link_label": next((label for part, label in LINK_LABELS if link and part in link), "查看详情"),
    }


def _is_followable(link: str) -> bool:
    """Whether a message's link may be shown: a path of the hub, or an address on the web."""
    return (link.startswith("/") and not link.startswith("//")) or link.startswith(("https://", "http://"))


@routes.post("/me/messages/{message_id}/read")
async def mark_read(request: web.Request) -> web.Response:
    person_id = await signed_in_or_sent_to_login(request)
    form = await read_form(request)
    message_id = row_id(request.match_info["message_id"])
    try:
        # An id no row can have is no message's: the service finds none for 0 either.
        await request.app[HUB].messages.mark_read(person_id, message_id or 0)
    except MessageNotFound:
        raise PageRefused(404, "找不到该消息", "没有这条消息，或它不属于您。") from None
    page = str(page_number(form))
    raise redirect(f"/me/messages?page={page}&done=read")


# ---------------------------------------------------------------- feedback


@routes.get("/me/feedback")
async def feedback_page(request: web.Request) -> web.Response:
    person_id = await signed_in_or_sent_to_login(request)
    return await _feedback_page(request, person_id, values={}, errors={})


@routes.post("/me/feedback")
async def send_feedback(request: web.Request) -> web.Response:
    person_id = await signed_in_or_sent_to_login(request)
    form = await read_form(request, body_bytes_max=FEEDBACK_FORM_BYTES_MAX)
    values = {"subject": form.get("subject", "").strip(), "text": form.get("text", "").strip()}
    hub = request.app[HUB]
    person = await hub.people.get(person_id)
    try:
        feedback = await hub.supervision.feedback.submit(person_id, person.unit_code, values)
    except InvalidSupervisionRequest as exc:
        errors = field_messages(exc.errors, values)
        return await _feedback_page(request, person_id, values=values, errors=errors, status=422)
    except FeedbackLimitReached as exc:
        hours = math.ceil(exc.retry_after_seconds / 3600)
        limited = {FORM_LEVEL: f"您今天提交的反馈已达上限，请在{hours}小时后再提交。"}
        headers = {str(hdrs.RETRY_AFTER): str(exc.retry_after_seconds)}
        return await _feedback_page(request, person_id, values=values, errors=limited, status=429, headers=headers)
    log.info("feedback_received", person_id=person_id, feedback_id=feedback.id)
    raise redirect("/me/feedback?done=feedback")


async def _feedback_page(
    request: web.Request,
    person_id: PersonId,
    *,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    sent = [
        _feedback_row(request, feedback) for feedback in await request.app[HUB].supervision.feedback.all_of(person_id)
    ]
    context = {
        "values": values,
        "errors": errors,
        "subject_max": SUBJECT_CHARACTERS_MAX,
        "text_max": TEXT_CHARACTERS_MAX,
        "sent": paged(sent, page_number(request.query), size=FEEDBACK_PER_PAGE, path=request.path, query=request.query),
        "done": DONE.get(request.query.get("done", "")),
    }
    return render_page(request, "staff/feedback.html", context, audience=Audience.STAFF, status=status, headers=headers)


def _feedback_row(request: web.Request, feedback: Feedback) -> dict[str, object]:
    answer = feedback.answer
    return {
        "subject": feedback.subject,
        "text": feedback.text,
        "submitted_at": local_time(request, feedback.submitted_at),
        "answer": None if answer is None else answer.text,
        "answered_at": None if answer is None else local_time(request, answer.answered_at),
    }


# ---------------------------------------------------------------- the OpenAPI description

openapi_paths: dict[str, object] = {
    "/me/messages": {
        "get": html_page_operation(
            "The person's messages, newest first, unread ones marked (?page=N)",
            "messagesPage",
            _200="The page",
            _303=PAGE_SIGN_IN_FIRST,
        )
    },
    "/me/messages/{message_id}/read": {
        "post": html_page_operation(
            "Mark one of the person's messages read (a form; page: the page to go back to)",
            "messageReadForm",
            _303="Marked: back to the messages' page; or not signed in",
            _403=PAGE_FORM_REFUSED,
            _404="The person has no message with this id",
        )
    },
    "/me/feedback": {
        "get": html_page_operation(
            "The feedback form, and the person's earlier feedback with its answers (?page=N)",
            "feedbackPage",
            _200="The page",
            _303=PAGE_SIGN_IN_FIRST,
        ),
        "post": html_page_operation(
            "Send feedback on a violation about the person's own institution (a form: subject, text)",
            "feedbackForm",
            _303="Sent: to the feedback page; or not signed in",
            _403=PAGE_FORM_REFUSED,
            _422="Fields at fault: the form with every error beside its field",
            _429="Too much feedback today; Retry-After gives the seconds to wait",
        ),
    },
}
