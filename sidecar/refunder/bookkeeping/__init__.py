"""Norwegian bookkeeping for refunds: a numbered credit note (kreditnota) per refund, its PDF, and the journal.

The order's facts arrive with the payment's registration (a document snapshot); the note is issued in the
transaction that marks the refund refunded, so its number and content are fixed exactly once.
"""
