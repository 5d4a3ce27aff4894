"""Which adapter delivers which channel, from `Settings`. Adding an adapter = one entry here."""

from __future__ import annotations

from core.models import Channel
from core.settings import Settings
from tools.delivery.channels.base import ChannelAdapter
from tools.delivery.channels.file_sink import FileSinkAdapter
from tools.delivery.channels.sms import SMSAdapter
from tools.delivery.channels.smtp import SMTPAdapter
from tools.delivery.channels.webhook import WebhookAdapter


def build_adapters(settings: Settings) -> dict[Channel, ChannelAdapter]:
    """One adapter per channel: SMTP for e-mail when `smtp_host` is set, the Twilio-compatible
    SMS API when its account, token and sender are set, a webhook when `webhook_url` is set,
    and the file sink in `settings.sent_dir` for everything else."""
    adapters: dict[Channel, ChannelAdapter] = {
        channel: FileSinkAdapter(settings.sent_dir, channel=channel) for channel in Channel
    }
    if settings.smtp_host:
        adapters[Channel.EMAIL] = SMTPAdapter(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            max_connections=settings.dispatch_concurrency,
        )
    if settings.sms_account_sid and settings.sms_auth_token and settings.sms_from:
        adapters[Channel.SMS] = SMSAdapter(
            settings.sms_base_url,
            settings.sms_account_sid,
            settings.sms_auth_token,
            settings.sms_from,
            timeout=settings.sms_timeout_s,
        )
    if settings.webhook_url:
        adapters[Channel.WEBHOOK] = WebhookAdapter(
            settings.webhook_url, settings.secret_key, settings.webhook_timeout_s
        )
    return adapters


def close_adapters(adapters: dict[Channel, ChannelAdapter]) -> None:
    """Close every adapter once (several channels may share one)."""
    seen: set[int] = set()
    for adapter in adapters.values():
        if id(adapter) not in seen:
            seen.add(id(adapter))
            adapter.close()
