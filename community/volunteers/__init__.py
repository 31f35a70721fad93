"""Volunteers recognised: duty sessions, points from the event log, the two indices and their chart."""
