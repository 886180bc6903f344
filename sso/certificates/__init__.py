"""Training certificates (培训合格证书): issued when a person's year meets its rules, automatically
or when the person applies with ticked records; signed with the hub's document-signing key,
rendered as a PDF with a QR code to their public verification, and revoked when a reversal drops
the year below its rules."""
