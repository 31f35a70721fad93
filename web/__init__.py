"""The web front end: the red service map, the web chat, ticket status pages, the office dashboard, Open311.

It calls `community/` and `bot/pipeline.py` like the Telegram and terminal front ends do; each part is a
package with its own router, wired in `web/app.py`.
"""
