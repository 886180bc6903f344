"""Errors of a webtrn pull: why it stopped. What it stored before stopping stays stored, with its
watermark, and the next pull resumes from there.

    AdapterError                 (adapters.errors) a delivery or a pull the hub could not take
    └── PullFailed               a pull from webtrn stopped before its last page
        ├── WebtrnUnavailable    502, 503 or 504, a timeout or a broken connection, beyond the retry budget
        ├── CredentialsRefused   the token endpoint refused the client credentials, or the API
        │                        refused a token fetched a moment before
        ├── UnexpectedAnswer     an answer the contract does not allow (such as 400 or 404)
        └── AnswerInvalid        an answer over the size limit, or a page not JSON or not shaped as
                                 the contract says

Messages name the vendor and what happened, never a secret, a token or a learner.
"""

from __future__ import annotations

from adapters.errors import AdapterError


class PullFailed(AdapterError):
    code = "pull_failed"
    title = "The pull from the vendor stopped"


class WebtrnUnavailable(PullFailed):
    code = "vendor_unavailable"
    title = "The vendor kept failing or could not be reached"


class CredentialsRefused(PullFailed):
    code = "credentials_refused"
    title = "The vendor refused the hub's credentials"


class UnexpectedAnswer(PullFailed):
    code = "unexpected_answer"
    title = "The vendor answered what its contract does not allow"


class AnswerInvalid(PullFailed):
    code = "answer_invalid"
    title = "The vendor's answer is not valid"
