"""Webhook events: the run's sink, the watch that correlates deliveries with actions, the matcher that judges
them, and the pytest plugin that registers the webhook and shares the sink with xdist workers."""
