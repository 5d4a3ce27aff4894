"""Channel adapters: SMTP, SMS, webhook and the file sink."""
