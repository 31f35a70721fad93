"""The office's access to the web: one-time dashboard logins for staff, what each role may see, and the API
keys of Open311 clients. No web framework here; `web/office` and `web/open311` call these."""
