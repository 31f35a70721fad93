"""Custom actions for Rasa, served by rasa-sdk: thin, each reads the tracker, calls community/, answers.

rasa-sdk 3.21 serves Rasa 3.6 over the plain HTTP action protocol; we pin it because rasa-sdk 3.6 does not
install on Python 3.11. Its start-up warning about the version difference is silenced in actions/__main__.py.
"""
