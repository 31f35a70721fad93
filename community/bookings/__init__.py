"""Service items at the micro-grid stations: sessions, bookings, reminders and check-in."""
