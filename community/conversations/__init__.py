"""What a chat is in the middle of, kept in the database so that a restarted bot, or a second bot process
behind the same webhook, carries on: a shared location, a pending request, a half-done Resolve, the payloads
behind long buttons. Every entry expires; a daily job deletes what has."""
