"""The sidecar's own record of payments, refunds, idempotency keys, nonces and audit events."""
