"""Work driven by time rather than by a user: reminders, notices, digests and delivery."""
