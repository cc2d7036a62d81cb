"""Notifications (Art. 19 and the release loop): a durable outbox, Portuguese messages, SMTP."""
