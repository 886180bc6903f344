"""思想天下 (ischinese): Standard Webhooks pushed to the hub, and a listing API for reconciliation."""
