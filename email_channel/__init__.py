"""The email channel: IMAP intake, an inbound SMTP server, MIME parsing and threading,
and outbound SMTP."""
