"""Rasa input channels of this project (loaded by Rasa from nlu/credentials.yml; PYTHONPATH holds nlu/)."""
