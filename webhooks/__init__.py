"""Webhook events and delivery (transactional outbox, signed POSTs): see issue 3."""
