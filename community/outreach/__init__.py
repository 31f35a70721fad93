"""Reaching people: a reporter's remembered contact (with consent), area subscriptions and the desk's
announcements, sent through the outbox at Telegram's broadcast limits."""
