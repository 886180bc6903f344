"""Errors of reading ischinese's listing: why a read stopped.

    AdapterError                 (adapters.errors) a delivery or a read the hub could not take
    └── ListingFailed            the listing could not be read to its end
        ├── ListingUnavailable   429, 5xx, a timeout or a broken connection, beyond the retry budget
        ├── ListingRefused       ischinese refused the hub's api_key (401 or 403)
        └── ListingInvalid       an answer the contract does not allow: another status, over the
                                 size limit, or a page not shaped as vendors.md says

Messages name the vendor and what happened, never the api_key or a learner.
"""

from __future__ import annotations

from adapters.errors import AdapterError


class ListingFailed(AdapterError):
    code = "listing_failed"
    title = "ischinese's listing could not be read"


class ListingUnavailable(ListingFailed):
    code = "vendor_unavailable"
    title = "The vendor kept failing or could not be reached"


class ListingRefused(ListingFailed):
    code = "credentials_refused"
    title = "The vendor refused the hub's credentials"


class ListingInvalid(ListingFailed):
    code = "answer_invalid"
    title = "The vendor's answer is not valid"
