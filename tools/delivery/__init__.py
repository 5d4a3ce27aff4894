"""Delivery: the dispatcher that sends the outbox (`dispatch.py`), the channel adapters
(`channels/`: SMTP, SMS, webhook, file sink), send-time scheduling (timezones, quiet hours) and
the signed per-person tokens (unsubscribe links)."""
