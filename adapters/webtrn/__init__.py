"""网梯 (webtrn): a jwt-post handoff, and completions pulled in pages over OAuth 2.0 client credentials."""
